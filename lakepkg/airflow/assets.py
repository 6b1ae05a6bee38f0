"""Package Assets: ``lakepkg://<registry id>/<ns>/<name>``, and the exact version that triggered a run.

* The URI's host is the *registry id*: the Airflow connection id of the
  ``lakepkg`` connection that names the registry (``lakepkg_default`` by
  default; ``default`` means lakepkg's configured registry). Its path is the
  package name. Example: ``lakepkg://lakepkg_default/sales/orders``.
* Each successful snapshot task emits an asset event whose extra holds
  ``package``, ``top_hash`` (64 hex), ``ref`` (``ns/name@<10 hex>``) and ``created``.
* A DAG scheduled on the Asset calls :func:`package_from_context` to load
  exactly the version that triggered it (never "whatever is latest now"), and
  :func:`lock_entry_from_context` for a lock-file line pinning it.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from lakepkg.errors import ConfigError, InvalidNameError, NotFoundError
from lakepkg.format.names import validate_package_name

__all__ = ["SCHEME", "package_uri", "package_asset", "parse_package_uri", "sanitize_uri", "create_asset",
           "convert_asset_to_openlineage", "TriggeringVersion", "triggering_versions", "package_from_context",
           "lock_entry_from_context"]

SCHEME = "lakepkg"
DEFAULT_REGISTRY_ID = "lakepkg_default"


def package_uri(package: str, registry_id: str = DEFAULT_REGISTRY_ID) -> str:
    """``lakepkg://<registry id>/<package>``."""
    validate_package_name(package)
    if not registry_id or "/" in registry_id or ":" in registry_id or "@" in registry_id:
        raise ConfigError(f"registry id {registry_id!r} must be an Airflow connection id (no '/', ':' or '@')")
    return f"{SCHEME}://{registry_id}/{package}"


def parse_package_uri(uri: str) -> tuple[str, str]:
    """(registry id, package name) of a ``lakepkg://`` URI."""
    sp = urllib.parse.urlsplit(uri)
    if sp.scheme != SCHEME or not sp.netloc:
        raise ConfigError(f"{uri!r} is not a package Asset URI; use lakepkg://<registry id>/<ns>/<name>")
    name = sp.path.strip("/")
    try:
        validate_package_name(name)
    except InvalidNameError as exc:
        raise ConfigError(f"{uri!r} does not name a package: {exc}") from None
    return sp.netloc, name


def package_asset(package: str, lakepkg_conn_id: Optional[str] = DEFAULT_REGISTRY_ID) -> Any:
    """The Airflow ``Asset`` of a package in the registry of ``lakepkg_conn_id``."""
    from airflow.sdk import Asset

    return Asset(uri=package_uri(package, lakepkg_conn_id or "default"), group="lakepkg")


# -- provider hooks (get_provider_info "asset-uris") --------------------------
def sanitize_uri(uri: urllib.parse.SplitResult) -> urllib.parse.SplitResult:
    """Airflow's URI check for the ``lakepkg`` scheme: a registry id and a valid package name."""
    if not uri.netloc:
        raise ValueError("a lakepkg Asset URI needs a registry id: lakepkg://<registry id>/<ns>/<name>")
    name = uri.path.strip("/")
    try:
        validate_package_name(name)
    except InvalidNameError as exc:
        raise ValueError(f"lakepkg Asset URI names no valid package: {exc}") from None
    return uri._replace(path="/" + name, query="", fragment="")


def create_asset(*, package: str, registry_id: str = DEFAULT_REGISTRY_ID, extra: Optional[dict] = None) -> Any:
    """Asset factory registered with Airflow for the ``lakepkg`` scheme."""
    from airflow.sdk import Asset

    return Asset(uri=package_uri(package, registry_id), extra=extra, group="lakepkg")


def convert_asset_to_openlineage(asset: Any, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a package Asset: namespace ``lakepkg://<registry id>``, name the package."""
    from openlineage.client.event_v2 import Dataset

    rid, name = parse_package_uri(asset.uri)
    return Dataset(namespace=f"{SCHEME}://{rid}", name=name)


# -- the version that triggered a run -------------------------------------------
@dataclass(frozen=True)
class TriggeringVersion:
    """One package version announced by an asset event that triggered this run."""

    registry_id: str
    package: str
    top_hash: str
    uri: str

    @property
    def ref(self) -> str:
        """``ns/name@<full top hash>`` — resolves to exactly this version."""
        return f"{self.package}@{self.top_hash}"


def _event_time(ev: Any) -> float:
    """The event's own time (``timestamp``, set by Airflow when the event was recorded) as a number."""
    ts = getattr(ev, "timestamp", None)
    stamp = getattr(ts, "timestamp", None)
    if callable(stamp):
        return float(stamp())
    if isinstance(ts, str):
        from datetime import datetime

        try:
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0
    return 0.0


def triggering_versions(context: Mapping[str, Any], package: Optional[str] = None) -> list[TriggeringVersion]:
    """The package versions in the asset events that triggered this run, oldest first by each event's
    own time (Airflow hands the events over in no particular order).

    ``package``: keep only that package. Events of other Assets, or without a ``top_hash``, are skipped;
    an event seen twice (through its Asset and an alias) counts once."""
    events = context.get("triggering_asset_events") or {}
    found: list[tuple[float, int, TriggeringVersion]] = []
    seen: set[int] = set()
    for _asset, evs in events.items():
        for ev in evs:
            if id(ev) in seen:
                continue
            seen.add(id(ev))
            uri = getattr(getattr(ev, "asset", None), "uri", "") or ""
            if not uri.startswith(f"{SCHEME}://"):
                continue
            extra = dict(getattr(ev, "extra", None) or {})
            top = extra.get("top_hash")
            if not isinstance(top, str) or len(top) != 64:
                continue
            rid, name = parse_package_uri(uri)
            if package and name != package:
                continue
            found.append((_event_time(ev), len(found), TriggeringVersion(rid, name, top, uri)))
    return [v for _t, _i, v in sorted(found, key=lambda f: (f[0], f[1]))]


def _one_version(context: Mapping[str, Any], package: Optional[str]) -> TriggeringVersion:
    versions = triggering_versions(context, package)
    if not versions:
        what = f"package {package}" if package else "a lakepkg package"
        raise NotFoundError(f"this run was not triggered by an asset event of {what}; schedule the DAG on "
                            "package_asset(...) or pass the version explicitly")
    names = {v.package for v in versions}
    if len(names) > 1:
        raise ConfigError(f"this run was triggered by several packages ({', '.join(sorted(names))}); "
                          "pass package=... to choose one")
    return versions[-1]  # the newest event by its own time: several versions may have been published since


def package_from_context(context: Mapping[str, Any], package: Optional[str] = None,
                         registry: Any = None) -> Any:
    """The exact ``Package`` version whose asset event triggered this run (the newest, if several).

    ``registry``: a Registry or location; default: the registry of the URI's registry id (its
    ``lakepkg`` connection)."""
    from lakepkg.read.package import Package

    v = _one_version(context, package)
    reg = registry
    if reg is None or isinstance(reg, str):
        if reg is None:
            from lakepkg.airflow.hooks import LakepkgHook

            reg = LakepkgHook(None if v.registry_id == "default" else v.registry_id).get_registry()
        else:
            from lakepkg.registry import open_registry

            reg = open_registry(reg)
    rec = reg.resolve(v.ref)
    return Package(reg, rec.top_hash, rec)


def lock_entry_from_context(context: Mapping[str, Any], package: Optional[str] = None) -> Any:
    """A lock-file entry (``lakepkg.maintain.lockfile.LockEntry``) pinning the triggering version."""
    from lakepkg.maintain.lockfile import LockEntry

    pkg = package_from_context(context, package)
    return LockEntry(pkg.name, pkg.top_hash, pkg.registry.location)
