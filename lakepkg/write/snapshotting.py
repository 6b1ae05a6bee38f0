"""Snapshot sources through their connectors and publish them as one version — the step that ends an ETL run.

    from lakepkg import Source, snapshot
    res = snapshot("sql", to="sales/orders", url="postgresql://...", tables={"orders": "public.orders"})
    res = snapshot([Source("sql", {"url": url, "tables": "public.orders"}),
                    Source("hive", {"metastore": uri, "tables": ["sales.events"]})], to="etl/nightly")

Every source is described first (all metadata and listings, before any data
is read); the table names of all sources must differ. The previous version of
``to`` (if any) is the base of an incremental re-snapshot; an unchanged source
gives the same top hash and no new version. Any error before publish leaves
the registry untouched.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from lakepkg.errors import ConfigError
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, open_registry
from lakepkg.source.connectors import Connector, Source, as_source
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.build import PackageBuilder
from lakepkg.write.previous import previous_version
from lakepkg.write.publish import PublishResult

__all__ = ["snapshot", "previous_version", "SnapshotResult", "describe_sources"]

SnapshotResult = PublishResult  # the one result type; the old name stays for callers


def _sources(sources: Any, options: dict[str, Any]) -> list[Source]:
    pair = isinstance(sources, tuple) and len(sources) == 2 and isinstance(sources[1], Mapping)
    if isinstance(sources, (str, Source, Mapping)) or isinstance(sources, Connector) or pair:
        src = Source(sources, {}) if isinstance(sources, str) or isinstance(sources, Connector) else as_source(sources)
        if options:
            src = Source(src.connector, {**src.options, **options})
        return [src]
    if options:
        raise ConfigError("connector options go inside each Source when several sources are given: "
                          f"Source(name, {{...}}), not {', '.join(sorted(options))}=...")
    out = [as_source(s) for s in sources]
    if not out:
        raise ConfigError("no sources given: pass a connector name or a list of Source(connector, options)")
    return out


def describe_sources(sources: Sequence[Source]) -> list[tuple[Source, TableSnapshot]]:
    """Run every source's connector (descriptions only; data is read when stored) and check that no
    two tables share a name."""
    out: list[tuple[Source, TableSnapshot]] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(sources, 1):
        conn = src.resolve()
        for snap in conn.snapshot_tables(**src.options):
            if snap.name in seen:
                where = f"source {seen[snap.name]} ({sources[seen[snap.name] - 1].name}) and source {i} ({src.name})"
                raise ConfigError(f"table {snap.name!r} comes from {where}; give one of them another name "
                                  f"(each connector has a naming option, e.g. names= / table_names=)")
            seen[snap.name] = i
            snap.facts.setdefault("connector", src.name)
            out.append((src, snap))
    return out


def snapshot(
    sources: "str | Connector | Source | Iterable[Any]",
    to: str,
    *,
    registry: "Registry | str | None" = None,
    message: str = "",
    tags: Iterable[str] = (),
    inputs: Optional[list[str]] = None,
    run: Optional[dict[str, Any]] = None,
    meta: Optional[dict[str, Any]] = None,
    files: Optional[dict[str, str]] = None,
    incremental: bool = True,
    author: Optional[str] = None,
    show_progress: bool = False,
    **options: Any,
) -> PublishResult:
    """Snapshot ``sources`` into one version of ``to`` and publish it.

    ``sources``: a connector name (its options as keywords: ``snapshot("sql", to=..., url=...)``), a
    :class:`~lakepkg.source.connectors.Source`, or a list of Sources / ``(connector, options)`` pairs
    published together under one top hash. ``files``: logical key → local path of plain files to add.
    ``inputs``: references of the package versions the run read (recorded in the run record).
    ``created`` is False when the content equals the latest version (a retried task mints nothing)."""
    validate_package_name(to)
    srcs = _sources(sources, options)
    reg = open_registry(registry)
    described = describe_sources(srcs)
    prev = previous_version(reg, to) if incremental else None
    builder = PackageBuilder(reg, meta=meta, show_progress=show_progress)
    for _src, snap in described:
        builder.add_snapshot(snap, previous=prev)  # the builder reuses nothing of a table whose schema changed
    for key, path in (files or {}).items():
        builder.add_file(key, path)
    names = list(dict.fromkeys(s.name for s in srcs))
    return builder.publish(to, message or f"snapshot via {', '.join(names)}", author=author, run=run,
                           inputs=inputs, tags=tags)
