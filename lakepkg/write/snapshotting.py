"""Snapshot a source through a connector and publish the result — the step that ends an ETL run.

    from lakepkg.write.snapshotting import snapshot
    rec = snapshot("sql", to="sales/orders", url="postgresql://...", tables={"orders": "public.orders"})

The previous version of ``to`` (if any) is the base of an incremental
re-snapshot; an unchanged source gives the same top hash and no new version.
Any error before publish leaves the registry untouched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from lakepkg.write.build import PackageBuilder
from lakepkg.config import author as default_author
from lakepkg.source.connectors import Connector, get_connector
from lakepkg.errors import NotFoundError
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, VersionRecord, open_registry
from lakepkg.write.run_context import collect


@dataclass
class SnapshotResult:
    """What a snapshot did: the version record, whether it is new, and per-table facts."""

    record: VersionRecord
    created: bool                   # False: same top hash as the latest version (a retry minted nothing)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "created": self.created, "tables": self.tables}

    def headline(self) -> str:
        """``sales/orders@3fa2c1e0b4 published  top hash …`` (or ``unchanged``)."""
        rec = self.record
        verb = "published" if self.created else "unchanged (same top hash as latest)"
        return f"{rec.package}@{rec.top_hash[:10]} {verb}  top hash {rec.top_hash}"


def previous_version(registry: Registry, name: str) -> Optional[Any]:
    """The latest version of ``name`` as a Package, or None."""
    from lakepkg.read.package import Package

    try:
        rec = registry.resolve(name)
    except NotFoundError:
        return None
    return Package(registry, rec.top_hash, rec)


def snapshot(
    connector: "str | Connector",
    to: str,
    *,
    registry: "Registry | str | None" = None,
    message: str = "",
    run: Optional[dict[str, Any]] = None,
    inputs: Optional[list[str]] = None,
    tags: Iterable[str] = (),
    incremental: bool = True,
    files: Optional[dict[str, str]] = None,
    meta: Optional[dict[str, Any]] = None,
    show_progress: bool = False,
    **options: Any,
) -> tuple[VersionRecord, bool]:
    """Run ``connector`` with ``options``, store every table, publish to ``to``.

    Returns (record, created); ``created`` is False when the content equals the
    latest version (a retried task mints nothing).
    """
    validate_package_name(to)
    reg = registry if isinstance(registry, Registry) else open_registry(registry)
    conn = get_connector(connector) if isinstance(connector, str) else connector
    prev = previous_version(reg, to) if incremental else None
    builder = PackageBuilder(reg, meta=meta, show_progress=show_progress)
    for snap in conn.snapshot_tables(**options):
        builder.add_snapshot(snap, previous=prev)
    for key, path in (files or {}).items():
        builder.add_file(key, path)
    built = builder.build()
    return reg.publish(to, built.top_hash, message=message or f"snapshot via {conn.name}",
                       author=default_author(), run=collect(run, inputs), sources=built.sources, tags=tuple(tags))
