"""Building a package version: tables from data, files and connector snapshots → root → publish.

Fragments are written to the store as tables are added (streaming); the
builder keeps only entry lines, spilled to disk past a bound. ``build()``
writes pages, table nodes and the root and returns the top hash;
``publish()`` records it in a registry. Nothing is visible in the registry
until every object is stored.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import pyarrow as pa

from lakepkg.format.canonical import canonical_json
from lakepkg.errors import ConfigError, LakepkgError, SchemaMismatchError, SourceError, UnsafePathError, one_line
from lakepkg.write.deletion_vectors import ingest_keyed_batches
from lakepkg.write.ingest import IngestedTable, ingest_arrow, ingest_batches, ingest_files
from lakepkg.format.manifest import (Entry, EntrySorter, RootNodeData, TableNodeData, build_table_node, store_node, write_pages)
from lakepkg.format.names import safe_key, validate_package_name, validate_table_name
from lakepkg.format.pandas_arrow import arrow_from_pandas
from lakepkg.progress import progress_bar
from lakepkg.registry import Registry, open_registry
from lakepkg.registry.leases import WriterLease
from lakepkg.source.folder import folder_snapshot
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.store.base import ObjectStore
from lakepkg.write.previous import PreviousVersion, previous_version, reusable_entries
from lakepkg.write.publish import PublishResult, publish
from lakepkg.write.run_context import collect


@dataclass
class BuiltPackage:
    """The result of :meth:`PackageBuilder.build`: the top hash and what is not hashed."""

    top_hash: str
    root: RootNodeData
    sources: dict[str, Any]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-table facts (PublishResult.tables)
    lease: Optional[WriterLease] = None  # the builder's writer lease, which the publish settles with and ends


class PackageBuilder:
    """Assemble one package version.

    >>> b = PackageBuilder()
    >>> b.add_table("orders", df, partition_cols=["ds"])
    >>> b.add_file("README.md", "docs/README.md")
    >>> res = b.publish("sales/orders", message="nightly")   # a PublishResult
    """

    def __init__(self, registry: "Registry | str | None" = None, meta: Optional[dict[str, Any]] = None,
                 show_progress: bool = False) -> None:
        self.registry = open_registry(registry)
        self.store: ObjectStore = self.registry.store
        self.lease = self.registry.begin_write()  # before the first write: gc spares what this build writes
        self.meta: dict[str, Any] = dict(meta or {})
        self._tables: dict[str, tuple[str, TableNodeData]] = {}
        self._files = EntrySorter("the package's files")
        self._file_keys: set[str] = set()
        self._sources: dict[str, Any] = {}
        self._facts: dict[str, dict[str, Any]] = {}
        self.show_progress = show_progress

    # -- tables ------------------------------------------------------------
    def _finish(self, ing: IngestedTable, meta: Optional[dict[str, Any]] = None) -> TableNodeData:
        snap = ing.snapshot
        name = validate_table_name(snap.name)
        if name in self._tables:
            raise LakepkgError(f"table {name!r} is added twice; give each table its own name")
        schema = ing.schema
        for c in snap.partition_columns:
            if c not in schema.names:
                raise SchemaMismatchError(f"partition column {c!r} of table {name!r} is missing from its schema")
        h, node = build_table_node(self.store, name, schema, ing.sorter, snap.partition_columns,
                                   snap.provenance, {**snap.meta, **(meta or {})}, ing.writer)
        self._tables[name] = (h, node)
        src: dict[str, Any] = {}
        if snap.volatile:
            src["volatile"] = snap.volatile
        if ing.listing:
            src["listing"] = self.store.put_bytes(b"".join(canonical_json(l) + b"\n" for l in ing.listing))
        if src:
            self._sources[name] = src
        self._facts[name] = {**table_facts(node), **vars(ing.stats), **snap.facts}
        return node

    def add_table(self, name: str, data: Any, partition_cols: Optional[list[str]] = None,
                  meta: Optional[dict[str, Any]] = None, rows_per_fragment: Optional[int] = None) -> TableNodeData:
        """Add a table from a pandas DataFrame, an Arrow table, record batches, or a path (Parquet/CSV
        file or folder). ``partition_cols`` and ``rows_per_fragment`` (default 1,048,576) apply to
        DataFrames and Arrow tables; a folder's partitions are its ``key=value`` sub-folders."""
        is_path = isinstance(data, (str, os.PathLike))
        is_batches = not is_path and (isinstance(data, pa.RecordBatchReader) or (
            not isinstance(data, pa.Table) and hasattr(data, "__iter__") and not hasattr(data, "columns")))
        if (is_path or is_batches) and (partition_cols or rows_per_fragment is not None):
            what = "partition_cols" if partition_cols else "rows_per_fragment"
            hint = ("a folder's partitions are its key=value sub-folders and its files are stored as they are"
                    if is_path else "collect the batches into a pyarrow Table first (pa.Table.from_batches)")
            raise ConfigError(f"table {name!r}: {what} applies to DataFrames and Arrow tables, not to "
                              f"{'a path' if is_path else 'record batches'}; {hint}")
        if rows_per_fragment is not None and (isinstance(rows_per_fragment, bool) or not isinstance(rows_per_fragment, int)
                                              or rows_per_fragment < 1):
            raise ConfigError(f"table {name!r}: rows_per_fragment must be a positive integer, not {rows_per_fragment!r}")
        if is_path:
            return self.add_path(name, str(data), meta=meta)
        if is_batches:
            return self.add_snapshot(TableSnapshot(name=name, batches=data, meta=meta or {}))
        if not isinstance(data, pa.Table):
            try:
                data = arrow_from_pandas(data)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise SchemaMismatchError(f"table {name!r}: cannot convert data to Arrow: {one_line(exc)}") from None
        validate_table_name(name)
        ing = ingest_arrow(self.store, name, data, partition_cols,
                           1_048_576 if rows_per_fragment is None else rows_per_fragment)
        return self._finish(ing, meta)

    def add_path(self, name: str, path: str, meta: Optional[dict[str, Any]] = None,
                 fmt: Optional[str] = None, previous: "Optional[Any]" = None) -> TableNodeData:
        """Add a table from a Parquet, CSV or ORC file or a folder of them (``key=value`` folders are
        partitions; a local path, ``file:`` URI or ``s3://`` prefix): :func:`lakepkg.source.folder.folder_snapshot`.

        ``previous`` (a loaded Package): files whose path, size and mtime match its listing are not read again."""
        snap = folder_snapshot(name, path, fmt=fmt)
        return self.add_snapshot(snap, previous=previous, meta=meta)

    def add_snapshot(self, snap: TableSnapshot, previous: "Optional[Any]" = None,
                     meta: Optional[dict[str, Any]] = None) -> TableNodeData:
        """Add a table a connector described. ``previous``: a loaded Package whose table of the
        same name is the base of an incremental re-snapshot."""
        validate_table_name(snap.name)
        if previous is not None:
            base = PreviousVersion.of(previous).record
            self.lease.pin(base.key if base is not None else None)
        with progress_bar(f"table {snap.name}", enabled=self.show_progress) as bar:
            if snap.files is not None:
                prev, prev_schema = reusable_entries(previous, snap)
                ing = ingest_files(self.store, snap, prev, progress=bar, previous_schema=prev_schema)
            elif snap.batches is not None:  # keyed: a delta on the previous version where it can be
                ing = ingest_keyed_batches(self.store, snap, previous, progress=bar)
            else:
                raise SourceError(f"snapshot of table {snap.name!r} has neither files nor batches")
        if snap.on_finish is not None:
            snap.on_finish()
        return self._finish(ing, meta)

    # -- files -------------------------------------------------------------
    def add_file(self, key: str, source: "str | bytes", meta: Optional[dict[str, Any]] = None) -> Entry:
        """Add a plain file at logical key ``key`` (``README.md`` at the root documents the package)."""
        k = safe_key(key)
        if k in self._file_keys:
            raise UnsafePathError(f"file {k!r} is added twice")
        if isinstance(source, bytes):
            digest, size = self.store.put_bytes(source), len(source)
        else:
            if not os.path.isfile(source):
                raise SourceError(f"file {source} does not exist or is not a file")
            digest, size, _ = self.store.put_file(source)
        e = Entry(key=k, object=digest, size=size, kind="file", meta=meta or None)
        self._files.add(e)
        self._file_keys.add(k)
        return e

    def add_file_entry(self, entry: Entry, base: Optional[str] = None) -> None:
        """Add a plain file already in the store, as another version holds it (derived packages, merges);
        ``base``: the record key of that version, when known (see :meth:`WriterLease.pin`)."""
        self.lease.pin(base)
        if entry.key in self._file_keys:
            raise UnsafePathError(f"file {entry.key!r} is added twice")
        self._files.add(entry)
        self._file_keys.add(entry.key)

    def add_dir(self, prefix: str, folder: str) -> int:
        """Add every file under ``folder`` as plain files under logical ``prefix``."""
        n = 0
        for p in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
            if os.path.isfile(p):
                rel = os.path.relpath(p, folder).replace(os.sep, "/")
                self.add_file(f"{prefix.rstrip('/')}/{rel}" if prefix else rel, p)
                n += 1
        return n

    def copy_table_from(self, store_node_hash: str, node: TableNodeData, *,
                        facts: Optional[dict[str, Any]] = None, source: Optional[dict[str, Any]] = None,
                        base: Optional[str] = None) -> None:
        """Add a table node already in the store (derived packages, filters, the Spark driver).

        ``facts``: extra per-table facts for the publish result; ``source``: what the version
        record keeps about the table (``listing``, ``volatile``); ``base``: the record key of the
        version the node comes from, when known (see :meth:`WriterLease.pin`)."""
        self.lease.pin(base)
        if node.name in self._tables:
            raise LakepkgError(f"table {node.name!r} is added twice")
        self._tables[node.name] = (store_node_hash, node)
        self._facts[node.name] = {**table_facts(node), **(facts or {})}
        if source:
            self._sources[node.name] = dict(source)

    # -- finishing ---------------------------------------------------------
    def build(self) -> BuiltPackage:
        """Write the root node and return the top hash (nothing is published)."""
        pages, _rows, _bytes = write_pages(self.store, self._files.sorted_entries())
        root = RootNodeData(tables={n: h for n, (h, _) in self._tables.items()}, files=pages, meta=self.meta)
        top = store_node(self.store, root)
        return BuiltPackage(top, root, dict(self._sources), {n: dict(f) for n, f in self._facts.items()}, self.lease)

    def publish(self, name: str, message: str = "", *, author: Optional[str] = None,
                run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
                tags: Iterable[str] = (), derived_from: Optional[str] = None,
                merge: Optional[dict[str, Any]] = None, expect_latest: Optional[str] = "*") -> PublishResult:
        """Build and publish as the newest version of ``name`` (through :func:`lakepkg.write.publish.publish`).
        ``merge`` and ``expect_latest``: see :func:`lakepkg.write.publish.publish`.

        The run context is collected before the root is built, so nothing slow runs between the last
        stored object and the version record."""
        run_record = collect(run, inputs)
        return publish(self.registry, name, self.build(), message=message, author=author, run=run_record,
                       tags=tags, derived_from=derived_from, merge=merge, expect_latest=expect_latest)


def table_facts(node: TableNodeData) -> dict[str, Any]:
    """The facts every table of a publish result has: rows, fragments, bytes."""
    return {"rows": node.rows, "fragments": node.fragments, "bytes": node.bytes}


def build_package(name: str, tables: Optional[dict[str, Any]] = None, files: Optional[dict[str, "str | bytes"]] = None,
                  *, registry: "Registry | str | None" = None, message: str = "",
                  meta: Optional[dict[str, Any]] = None, tags: Iterable[str] = (),
                  inputs: Optional[list[str]] = None, run: Optional[dict[str, Any]] = None,
                  partition_cols: Optional[dict[str, list[str]]] = None, incremental: bool = True,
                  author: Optional[str] = None, show_progress: bool = False) -> PublishResult:
    """Build a version of ``name`` from ``tables`` (name → DataFrame, Arrow table or local path) and
    ``files`` (logical key → local path or bytes) and publish it.

    A path table reuses the unchanged files (same path, size, mtime) of the latest version unless
    ``incremental`` is False; ``partition_cols`` (table → columns) partitions in-memory tables."""
    validate_package_name(name)
    if not tables and not files:
        raise ConfigError("nothing to build: give tables (NAME=PATH) or files (KEY=PATH)")
    b = PackageBuilder(registry, meta=meta, show_progress=show_progress)
    prev = previous_version(b.registry, name) if incremental else None
    for tname, data in (tables or {}).items():
        if isinstance(data, (str, os.PathLike)):
            b.add_path(tname, str(data), previous=prev)
        else:
            b.add_table(tname, data, partition_cols=(partition_cols or {}).get(tname))
    for key, src in (files or {}).items():
        b.add_file(key, src)
    return b.publish(name, message, author=author, run=run, inputs=inputs, tags=tags)
