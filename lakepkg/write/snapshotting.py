"""Snapshot sources through their connectors and publish them as one version — the step that ends an ETL run.

    from lakepkg import Source, snapshot
    res = snapshot("sql", to="sales/orders", url="postgresql://...", tables={"orders": "public.orders"})
    res = snapshot([Source("sql", {"url": url, "tables": "public.orders"}),
                    Source("hive", {"metastore": uri, "tables": ["sales.events"]})], to="etl/nightly")

    job = Snapshot("sql", to="sales/orders", url=url, tables="public.orders")   # write-audit-publish
    job.describe()            # connectors run: schemas, keys, listings (no data read yet)
    built = job.build()       # every object stored; nothing visible in the registry
    res = job.publish(checks=[lambda built: ...])   # a check that raises publishes nothing

Every source is described first (all metadata and listings, before any data
is read); the table names of all sources must differ. The previous version of
``to`` (if any) is the base of an incremental re-snapshot; an unchanged source
gives the same top hash and no new version. Any error before publish leaves
the registry untouched.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from lakepkg.errors import ConfigError
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, open_registry
from lakepkg.source.connectors import Connector, Source, as_source
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.format.manifest import TableNodeData
from lakepkg.write.build import BuiltPackage, PackageBuilder
from lakepkg.write.previous import PreviousVersion, previous_version
from lakepkg.write.publish import PublishResult, publish
from lakepkg.write.run_context import collect

__all__ = ["snapshot", "Snapshot", "previous_version", "SnapshotResult", "describe_sources"]

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


Check = Callable[[BuiltPackage], Any]  # raises to refuse the publish (write-audit-publish)


class Snapshot:
    """One snapshot of one or several sources into a version of ``to``, step by step:
    :meth:`describe` (connectors run; no data read) → :meth:`build` (every object stored; nothing
    visible) → :meth:`publish` (the one publish, after the ``checks`` pass).

    ``sources`` and the options as :func:`snapshot`. Each step runs the ones before it when they
    have not run yet; each runs once. Tables stored by another writer (the Spark executors) enter
    through :meth:`add_stored_table` instead of being read here."""

    def __init__(self, sources: "str | Connector | Source | Iterable[Any]", to: str, *,
                 registry: "Registry | str | None" = None, meta: Optional[dict[str, Any]] = None,
                 files: Optional[dict[str, str]] = None, incremental: bool = True, show_progress: bool = False,
                 **options: Any) -> None:
        validate_package_name(to)
        self.to = to
        self.sources = _sources(sources, options)
        self.registry = open_registry(registry)
        self.files = dict(files or {})
        self.incremental = incremental
        self.builder = PackageBuilder(self.registry, meta=meta, show_progress=show_progress)
        self._described: Optional[list[tuple[Source, TableSnapshot]]] = None
        self._previous: Optional[PreviousVersion] = None
        self._previous_read = False
        self._stored: list[str] = []
        self._built: Optional[BuiltPackage] = None

    def describe(self) -> list[tuple[Source, TableSnapshot]]:
        """Every source's tables as its connector describes them (schemas, keys, listings, provenance)."""
        if self._described is None:
            self._described = describe_sources(self.sources)
        return self._described

    @property
    def previous(self) -> Optional[PreviousVersion]:
        """The latest version of ``to``, the base of an incremental re-snapshot (None: none, or not incremental)."""
        if not self._previous_read:
            self._previous = previous_version(self.registry, self.to) if self.incremental else None
            self._previous_read = True
        return self._previous

    def add_stored_table(self, node_hash: str, node: TableNodeData, *, facts: Optional[dict[str, Any]] = None,
                         source: Optional[dict[str, Any]] = None) -> None:
        """A described table that another writer already stored (its node and pages are in the store):
        :meth:`build` takes it as is instead of reading the source."""
        if self._built is not None:
            raise ConfigError("the snapshot is already built; add stored tables before build()")
        self.builder.copy_table_from(node_hash, node, facts=facts, source=source)
        self._stored.append(node.name)

    def build(self) -> BuiltPackage:
        """Store every table and file and the root; nothing is published (the registry is unchanged)."""
        if self._built is None:
            described = self.describe()
            prev = self.previous
            for _src, snap in described:
                if snap.name not in self._stored:  # the builder reuses nothing of a table whose schema changed
                    self.builder.add_snapshot(snap, previous=prev)
            for key, path in self.files.items():
                self.builder.add_file(key, path)
            self._built = self.builder.build()
        return self._built

    def publish(self, message: str = "", *, tags: Iterable[str] = (), inputs: Optional[list[str]] = None,
                run: Optional[dict[str, Any]] = None, author: Optional[str] = None,
                checks: Sequence[Check] = ()) -> PublishResult:
        """Build (when not built yet), run ``checks`` on the built package (one raising publishes
        nothing), then publish through :func:`lakepkg.write.publish.publish`.

        The run context is collected before the build, so nothing slow runs between the last stored
        object and the version record."""
        run_record = collect(run, inputs)
        built = self.build()
        for check in checks:
            check(built)
        names = list(dict.fromkeys(s.name for s in self.sources))
        return publish(self.registry, self.to, built, message=message or f"snapshot via {', '.join(names)}",
                       author=author, run=run_record, tags=tags)


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
    """Snapshot ``sources`` into one version of ``to`` and publish it (:class:`Snapshot`, all steps).

    ``sources``: a connector name (its options as keywords: ``snapshot("sql", to=..., url=...)``), a
    :class:`~lakepkg.source.connectors.Source`, or a list of Sources / ``(connector, options)`` pairs
    published together under one top hash. ``files``: logical key → local path of plain files to add.
    ``inputs``: references of the package versions the run read (recorded in the run record).
    ``created`` is False when the content equals the latest version (a retried task mints nothing)."""
    job = Snapshot(sources, to, registry=registry, meta=meta, files=files, incremental=incremental,
                   show_progress=show_progress, **options)
    return job.publish(message, tags=tags, inputs=inputs, run=run, author=author)
