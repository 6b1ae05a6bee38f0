"""Settings, with the precedence data tools use: arguments > ``LAKEPKG_*`` environment > config file > defaults.

* ``LAKEPKG_HOME``: the folder of the embedded default registry and the
  config file (default: ``$XDG_DATA_HOME/lakepkg`` or ``~/.local/share/lakepkg``).
* ``LAKEPKG_REGISTRY``: the registry location (a path or ``s3://bucket/prefix``);
  default ``$LAKEPKG_HOME/registry``.
* ``LAKEPKG_CONFIG``: a YAML or JSON config file (default ``$LAKEPKG_HOME/config.yaml``)
  with keys such as ``registry``, ``cache_dir``, ``cache_max_bytes``, ``author``.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Optional

from lakepkg.errors import ConfigError


def home() -> str:
    """The lakepkg home folder."""
    h = os.environ.get("LAKEPKG_HOME")
    if h:
        return os.path.abspath(os.path.expanduser(h))
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "lakepkg")


def _config_path() -> str:
    return os.environ.get("LAKEPKG_CONFIG") or os.path.join(home(), "config.yaml")


@lru_cache(maxsize=8)
def _read_config(path: str, mtime: float) -> dict[str, Any]:
    with open(path, "rb") as f:
        raw = f.read()
    try:
        import yaml  # type: ignore[import-untyped]

        data = yaml.safe_load(raw) or {}
    except ImportError:
        data = json.loads(raw or b"{}")
    except Exception as exc:  # yaml.YAMLError
        raise ConfigError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    return data


def file_settings() -> dict[str, Any]:
    """Settings from the config file (empty if there is none)."""
    p = _config_path()
    if not os.path.exists(p):
        return {}
    return _read_config(p, os.path.getmtime(p))


def setting(key: str, override: Optional[Any] = None, default: Optional[Any] = None) -> Any:
    """Resolve one setting: ``override`` > ``LAKEPKG_<KEY>`` > config file > ``default``."""
    if override is not None:
        return override
    env = os.environ.get("LAKEPKG_" + key.upper())
    if env is not None and env != "":
        return env
    return file_settings().get(key, default)


def registry_location(override: Optional[str] = None) -> str:
    """Where the registry lives (embedded default: ``$LAKEPKG_HOME/registry``)."""
    return str(setting("registry", override, os.path.join(home(), "registry")))


def author() -> str:
    """Who publishes: ``LAKEPKG_AUTHOR`` or the config file's ``author``; else the orchestrator's
    owner (an Airflow task's DAG owner, ``AIRFLOW_CTX_DAG_OWNER``); else the login name."""
    a = setting("author")
    if a:
        return str(a)
    for var in ("AIRFLOW_CTX_DAG_OWNER", "USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    import getpass

    try:  # no login variable (cron, containers): the account the process runs as
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # a uid with no passwd entry
        return "unknown"
