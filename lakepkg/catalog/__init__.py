"""``lakepkg catalog``: a web catalog over any registry (local or ``s3://``), server-rendered.

    import lakepkg.catalog
    asgi = lakepkg.catalog.app("s3://team-lake/registry")        # embed in any ASGI server
    lakepkg.catalog.serve("./registry", port=8765)               # what `lakepkg catalog` runs

Pages: packages (search), a version (README, tables, files, tags, run record, sources, lineage,
snippets), history, a table (rows, filter, statistics, fragments), compare two versions (row diff),
a SQL console, where-used, the audit log, verify. Read-only unless ``allow_write``; loopback only
unless a token is given. Needs the ``catalog`` extra (Starlette, Jinja2, uvicorn, markdown-it-py, nh3).
docs/catalog.md describes it.
"""
from __future__ import annotations

import os
from typing import Any, Optional

from lakepkg.errors import ConfigError

TOKEN_ENV = "LAKEPKG_CATALOG_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _need_extra() -> None:
    try:
        import jinja2  # noqa: F401
        import markdown_it  # noqa: F401
        import nh3  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the catalog needs the catalog extra ({exc.name} is missing): "
                          "pip install 'lakepkg[catalog]'") from None


def app(registry: Any = None, *, token: Optional[str] = None, allow_write: bool = False,
        airflow_url: Optional[str] = None, cache_seconds: Optional[float] = None,
        loopback_only: bool = True) -> Any:
    """The catalog as an ASGI application over ``registry`` (a Registry, a path, ``s3://bucket/prefix``;
    None: the configured one). ``token``: every request must carry it (default: none, loopback use);
    ``allow_write``: moving a tag is allowed (CSRF-protected compare-and-swap); ``airflow_url``: the
    Airflow UI a run record links to; ``cache_seconds``: how long listings are reused (default 5 s
    local, 30 s S3); ``loopback_only``: refuse requests whose Host is not a loopback name."""
    _need_extra()
    from lakepkg.catalog.asgi import create_app

    return create_app(registry, token=token, allow_write=allow_write, airflow_url=airflow_url,
                      cache_seconds=cache_seconds, loopback_only=loopback_only)


def serve(registry: Any = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: Optional[str] = None,
          allow_write: bool = False, airflow_url: Optional[str] = None, cache_seconds: Optional[float] = None) -> None:
    """Serve the catalog with uvicorn until interrupted. Any host but loopback needs ``token``
    (or ``$LAKEPKG_CATALOG_TOKEN``): without one this refuses to start (ConfigError)."""
    from lakepkg.catalog.security import check_bind, is_loopback

    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    _need_extra()
    try:
        import uvicorn
    except ImportError:
        raise ConfigError("the catalog needs uvicorn: pip install 'lakepkg[catalog]'") from None
    asgi = app(registry, token=token, allow_write=allow_write, airflow_url=airflow_url, cache_seconds=cache_seconds,
               loopback_only=is_loopback(host))
    uvicorn.run(asgi, host=host, port=port, access_log=False, log_level="warning", server_header=False)


__all__ = ["app", "serve", "TOKEN_ENV"]
