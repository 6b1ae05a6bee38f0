"""Reading a package version: navigation, pruning, and conversion to pandas / Arrow / Spark.

``lakepkg.load("sales/orders@3fa2c1")`` returns a :class:`Package`;
``pkg["orders"]`` a :class:`Table`; ``table.fragments()`` its
:class:`Fragment` leaves; ``pkg["README.md"]`` a :class:`File`. Pages are
read lazily, one at a time, and hash-checked.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, TypeVar, Union, overload

import pyarrow as pa

from lakepkg.errors import ConfigError, NotFoundError
from lakepkg.format.manifest import (Entry, EntrySorter, RootNodeData, TableNodeData, build_table_node, load_root,
                                     load_table_node)
from lakepkg.format.names import Ref, parse_ref
from lakepkg.format.walk import iter_page_entries
from lakepkg.read.diff import PackageDiff, diff_packages
from lakepkg.read.filters import Filter
from lakepkg.read.history import merge_label
from lakepkg.read.html import card, facts, grid, schema_grid, section
from lakepkg.sizes import human_bytes
from lakepkg.read.arrow_scan import ArrowScan, verified_path
from lakepkg.read.scan import FragmentTask, ScanPlan, deprecated_verify, plan_table, pruned_entries
from lakepkg.registry import Registry, VersionRecord, open_registry
from lakepkg.store.base import ObjectStore
from lakepkg.write.publish import PublishResult

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as pads

# a table with more fragments than this shows no partition list in its notebook view (it would read every page)
HTML_PARTITION_SCAN_LIMIT = 20_000


class _Leaf:
    def __init__(self, store: ObjectStore, entry: Entry) -> None:
        self.store = store
        self.entry = entry

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def object(self) -> str:
        return self.entry.object

    @property
    def size(self) -> int:
        return self.entry.size

    @property
    def meta(self) -> dict[str, Any]:
        return self.entry.meta or {}

    def local_path(self, verify: Optional[bool] = None) -> str:
        """A local file with the leaf's bytes (fetched into the cache for remote stores), checked to
        hash to the leaf's object (IntegrityError if not; see :func:`lakepkg.read.arrow_scan.verified_path`).
        ``verify`` is deprecated and ignored: the bytes are always checked."""
        deprecated_verify(verify)
        return verified_path(self.store, self.entry)

    def read_bytes(self, verify: bool = True) -> bytes:
        return self.store.get_bytes(self.entry.object, verify=verify)


class File(_Leaf):
    """A plain file in a package."""

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def __repr__(self) -> str:
        return f"<File {self.key} {self.size} B>"


class Fragment(_Leaf):
    """A Parquet fragment of a table: a leaf that reads as a pandas frame."""

    def __init__(self, store: ObjectStore, entry: Entry, table: "Table") -> None:
        super().__init__(store, entry)
        self.table = table

    @property
    def rows(self) -> Optional[int]:
        return self.entry.rows

    @property
    def partition(self) -> dict[str, Any]:
        return self.entry.partition or {}

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.entry.stats or {}

    @property
    def task(self) -> FragmentTask:
        """This fragment as a read-plan task."""
        return FragmentTask.of(self.entry.to_json())

    def to_arrow(self, columns: Optional[list[str]] = None, verify: Optional[bool] = None) -> pa.Table:
        """The fragment's live rows, partition columns included, from checked bytes (the one reader;
        no plan of the table). ``verify`` is deprecated and ignored: every read is checked."""
        deprecated_verify(verify)
        if columns is not None:
            unknown = [c for c in columns if c not in self.table.schema.names]
            if unknown:
                pkg = self.table.package
                ref = f"{pkg.name}@{pkg.top_hash[:10]}" if pkg.name else pkg.top_hash[:10]
                raise ConfigError(f"table {self.table.name!r} of {ref} has no column(s) {', '.join(unknown)}; "
                                  f"its columns: {', '.join(self.table.schema.names)}")
        return self.table.reader(columns).read_task(self.task)

    def to_pandas(self, columns: Optional[list[str]] = None, verify: Optional[bool] = None) -> "pd.DataFrame":
        """The fragment as a pandas DataFrame."""
        deprecated_verify(verify)
        return self.to_arrow(columns).to_pandas()

    def __repr__(self) -> str:
        return f"<Fragment {self.key} rows={self.rows} {self.size} B>"


class Table:
    """A table node: schema, partitions, fragments; reads as Arrow, pandas or Spark through
    :meth:`scan`, the one read plan."""

    def __init__(self, package: "Package", name: str, node_hash: str) -> None:
        self.package = package
        self.store = package.store
        self.name = name
        self.hash = node_hash
        self.node: TableNodeData = load_table_node(self.store, node_hash)

    @property
    def schema(self) -> pa.Schema:
        return self.node.schema

    @property
    def partition_columns(self) -> list[str]:
        return self.node.partition_columns

    @property
    def rows(self) -> int:
        return self.node.rows

    @property
    def bytes(self) -> int:
        return self.node.bytes

    @property
    def provenance(self) -> dict[str, Any]:
        return self.node.provenance

    @property
    def meta(self) -> dict[str, Any]:
        return self.node.meta

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """Distinct partition values, in key order (reads every page of the table)."""
        seen: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for d in self.iter_entries():
            p = d.get("partition") or {}
            seen.setdefault(tuple((k, str(p.get(k))) for k in self.partition_columns), p)
        return list(seen.values())

    def scan(self, filters: Optional[Filter] = None, columns: Optional[Sequence[str]] = None,
             verify: Optional[bool] = None) -> ScanPlan:
        """The read plan of this exact version: fragments left after partition and min/max pruning
        by ``filters``, reading ``columns`` (all when None). See :mod:`lakepkg.read.scan`.
        ``verify`` is deprecated and ignored: every read hashes a fragment before its first use."""
        deprecated_verify(verify)
        pkg = self.package
        return plan_table(self.store, registry_location=pkg.registry.location, top_hash=pkg.top_hash,
                          table=self.name, table_hash=self.hash, node=self.node, package=pkg.name,
                          filters=filters, columns=columns)

    def reader(self, columns: Optional[Sequence[str]] = None) -> ArrowScan:
        """The one reader over this table's fragments (no row filter; ``columns`` or all)."""
        return ArrowScan(self.store, self.schema, self.partition_columns, table=self.name, columns=columns)

    def iter_entries(self, filters: Optional[Filter] = None) -> Iterator[dict[str, Any]]:
        """Entries (as dicts, statistics included) whose partition values and stats may match ``filters``."""
        return pruned_entries(self.store, self.node, filters)

    def fragments(self, filters: Optional[Filter] = None) -> list[Fragment]:
        """The fragments that may hold rows matching ``filters`` (all without a filter)."""
        return [Fragment(self.store, Entry.from_json(d), self) for d in self.iter_entries(filters)]

    def __iter__(self) -> Iterator[Fragment]:
        return iter(self.fragments())

    def __getitem__(self, key: str) -> Fragment:
        for f in self.fragments():
            if f.key == key:
                return f
        raise NotFoundError(f"table {self.name!r} has no fragment {key!r}")

    def to_arrow_dataset(self, filters: Optional[Filter] = None, verify: Optional[bool] = None) -> "pads.Dataset":
        """A pyarrow dataset over the fragments that survive partition and min/max pruning."""
        deprecated_verify(verify)
        return self.scan(filters).to_arrow_dataset()

    def to_arrow(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                 verify: Optional[bool] = None) -> pa.Table:
        """Rows matching ``filters`` (pruned by partition and stats, then filtered row by row)."""
        deprecated_verify(verify)
        return self.scan(filters, columns).to_arrow()

    def to_pandas(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                  verify: Optional[bool] = None) -> "pd.DataFrame":
        """Rows matching ``filters`` as a pandas DataFrame."""
        deprecated_verify(verify)
        return self.scan(filters, columns).to_pandas()

    def head(self, n: int = 10) -> pa.Table:
        """The first ``n`` rows (reads only as many fragments as needed)."""
        return self.scan().head(n)

    def has_deletes(self) -> bool:
        """Whether any fragment of this table carries a deletion vector (read once, remembered)."""
        if getattr(self, "_has_deletes", None) is None:
            self._has_deletes = any(d.get("deletes") for d in self.iter_entries())
        return bool(self._has_deletes)

    def rows_digest(self, compute: bool = True) -> Optional[str]:
        """The layout-independent digest of this table's rows (:mod:`lakepkg.write.row_hash`):
        the one the version record holds, else (``compute``) computed by reading the table."""
        from lakepkg.read.rows_digest import rows_digest

        return rows_digest(self, compute=compute)

    def to_spark(self, spark: Any, columns: Optional[list[str]] = None, native: Optional[bool] = None,
                 filters: Optional[Filter] = None) -> Any:
        """A distributed Spark DataFrame of this exact version of the table, reading only ``columns``
        when given. ``native``: Spark's own Parquet scan of a local registry (default when possible),
        else the ``pkg`` data source (see :mod:`lakepkg.spark`)."""
        return self.scan(filters, columns).to_spark(spark, native=native)

    def __repr__(self) -> str:
        return f"<Table {self.name} rows={self.rows} fragments={self.node.fragments} hash={self.hash[:10]}>"

    def _repr_html_(self) -> str:
        n = self.node
        head = facts([("package", self.package.ref), ("table node", self.hash), ("rows", f"{n.rows:,}"),
                      ("fragments", f"{n.fragments:,}"), ("size", human_bytes(n.bytes)), ("pages", len(n.pages)),
                      ("partition columns", ", ".join(self.partition_columns))])
        parts = [head, section(f"schema ({len(self.schema)} columns)", schema_grid(self.schema, self.partition_columns),
                               open_=True)]
        if self.partition_columns:
            if n.fragments <= HTML_PARTITION_SCAN_LIMIT:
                ps = self.partitions
                rows = [[p.get(c) for c in self.partition_columns] for p in ps[:50]]
                more = f" (first 50 shown)" if len(ps) > 50 else ""
                parts.append(section(f"partitions ({len(ps):,}){more}", grid(self.partition_columns, rows)))
            else:
                parts.append(section("partitions", f"<p>{n.fragments:,} fragments: list them with t.partitions</p>"))
        if self.provenance:
            parts.append(section("provenance", facts(sorted(self.provenance.items()))))
        if self.meta:
            parts.append(section("metadata", facts(sorted(self.meta.items()))))
        first = self.head(HTML_HEAD_ROWS)  # the first rows, as polars and DuckDB show them
        parts.insert(1, section(f"first {first.num_rows} of {n.rows:,} rows",
                                grid(first.column_names, ([_cell(v) for v in r.values()] for r in first.to_pylist())),
                                open_=True))
        return card(f"Table {self.name}", *parts)


#: rows a table's notebook display shows
HTML_HEAD_ROWS = 10


def _cell(v: Any, limit: int = 80) -> str:
    text = "null" if v is None else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


Node = Union["Package", Table, Fragment, File]
NodeT = TypeVar("NodeT", "Package", Table, Fragment, File)


class Package:
    """One package version."""

    def __init__(self, registry: Registry, top_hash: str, record: Optional[VersionRecord] = None,
                 name: Optional[str] = None) -> None:
        self.registry = registry
        self.store = registry.store
        self.top_hash = top_hash
        self.record = record
        self.name = name or (record.package if record else None)
        self.root: RootNodeData = load_root(self.store, top_hash)
        self._tables: dict[str, Table] = {}

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.top_hash[:10]}"

    @property
    def tables(self) -> list[str]:
        return sorted(self.root.tables)

    @property
    def meta(self) -> dict[str, Any]:
        return self.root.meta

    @property
    def files(self) -> list[File]:
        """The package's plain files (not table fragments), in key order."""
        return [File(self.store, Entry.from_json(d)) for d in iter_page_entries(self.store, self.root.files)]

    @property
    def readme(self) -> Optional[str]:
        """The text of the package's ``README.md`` (any case), or None."""
        for f in self.files:
            if f.key.lower() == "readme.md":
                return f.read_text()
        return None

    @property
    def tags(self) -> list[str]:
        """The tags of the package that point at this version (asks the registry)."""
        if not self.name or self.record is None or not self.record.key:
            return []
        key = self.record.key
        return sorted(t for t, k in self.registry.tag_versions(self.name).items() if k == key)

    def table(self, name: str) -> Table:
        if name not in self.root.tables:
            raise NotFoundError(f"{self.ref} has no table {name!r}; tables: {', '.join(self.tables) or 'none'}")
        if name not in self._tables:
            self._tables[name] = Table(self, name, self.root.tables[name])
        return self._tables[name]

    def file(self, key: str) -> File:
        for f in self.files:
            if f.key == key:
                return f
        raise NotFoundError(f"{self.ref} has no file {key!r}")

    def __getitem__(self, path: str) -> "Table | Fragment | File":
        """``pkg["orders"]`` → table; ``pkg["orders/ds=1/part-0.parquet"]`` → fragment; ``pkg["README.md"]`` → file.
        (Typed code that knows the kind: ``pkg.table(name)``, ``pkg.file(key)``, ``table[key]``.)"""
        if path in self.root.tables:
            return self.table(path)
        head, _, rest = path.partition("/")
        if rest and head in self.root.tables:
            return self.table(head)[rest]
        for f in self.files:
            if f.key == path:
                return f
        raise NotFoundError(f"{self.ref} has no table or file {path!r}; tables: {', '.join(self.tables) or 'none'}")

    def __contains__(self, path: str) -> bool:
        try:
            self[path]
            return True
        except NotFoundError:
            return False

    def filter(self, tables: "Optional[str | list[str]]" = None,
               where: Optional[Callable[[str, dict[str, Any]], bool]] = None,
               partitions: Optional[Filter] = None) -> "SubPackage":
        """A sub-package: tables chosen by name/glob and/or a predicate on (name, metadata),
        optionally keeping only fragments that may match a partition filter."""
        pats = [tables] if isinstance(tables, str) else tables
        keep = []
        for n in self.tables:
            if pats and not any(fnmatch.fnmatchcase(n, p) for p in pats):
                continue
            t = self.table(n)
            if where is not None and not where(n, {**t.meta, "provenance": t.provenance}):
                continue
            keep.append(n)
        return SubPackage(self, keep, partitions)

    def diff(self, other: "Package", rows: bool = False, key: Optional[list[str]] = None) -> Any:
        """Changes from ``self`` to ``other`` (see :mod:`lakepkg.read.diff`): a :class:`PackageDiff`.

        ``rows=True``: the row-level diff instead (:func:`lakepkg.read.row_diff.diff_rows`: per
        table, Arrow tables of the rows added, removed and changed), keyed by ``key`` or each
        table's own key."""
        if rows:
            from lakepkg.read.row_diff import diff_rows

            return diff_rows(self, other, key=key)
        return diff_packages(self, other)

    def sql(self, query: str, **options: Any) -> pa.Table:
        """Run ``query``, written for the live tables in their SQL dialect, on this version: a
        ``pyarrow.Table`` (options as :func:`lakepkg.query.api.query`), through the ``sql`` engine
        of the ``lakepkg.engines`` entry-point group (the query layer sits above this one)."""
        from lakepkg.read.engines import engine

        return engine("sql")(query, self, **options)

    def __repr__(self) -> str:
        return f"<Package {self.ref} tables={self.tables}>"

    def _repr_html_(self) -> str:
        rec = self.record
        head = facts([("top hash", self.top_hash), ("created", rec.created_at if rec else None),
                      ("author", rec.author if rec else None), ("message", rec.message if rec else None),
                      ("parent", rec.parent if rec else None), ("derived from", rec.derived_from if rec else None),
                      ("merge", merge_label(rec.merge) if rec and rec.merge else None),
                      ("tags", ", ".join(self.tags)), ("lakepkg", rec.lakepkg_version if rec else None)])
        rows = []
        for n in self.tables:
            t = self.table(n)
            rows.append((n, f"{t.rows:,}", f"{t.node.fragments:,}", human_bytes(t.node.bytes),
                         ", ".join(t.partition_columns), t.hash[:10]))
        parts = [head, section(f"tables ({len(rows)})", grid(["table", "rows", "fragments", "size", "partitions",
                                                             "node"], rows), open_=True)]
        for n in self.tables:
            t = self.table(n)
            parts.append(section(f"schema of {n}", schema_grid(t.schema, t.partition_columns)))
        files = self.files
        if files:
            parts.append(section(f"files ({len(files)})", grid(["file", "size", "object"],
                                                               [(f.key, human_bytes(f.size), f.object[:12]) for f in files])))
        if rec is not None and rec.run:
            parts.append(section("run record", facts(sorted(rec.run.items()))))
        if rec is not None and rec.sources:
            parts.append(section("provenance (sources)", facts(sorted(rec.sources.items()))))
        if self.meta:
            parts.append(section("metadata", facts(sorted(self.meta.items()))))
        return card(f"Package {self.ref}", *parts)




@dataclass
class SubPackage:
    """A filtered view of a package that can be published as a derived package."""

    source: Package
    table_names: list[str]
    partitions: Optional[Filter] = None

    def publish(self, name: str, message: str = "", **kwargs: Any) -> PublishResult:
        """Publish the selection as a new package recording ``derived_from`` = the source version
        (through :func:`lakepkg.write.publish.publish`, like every version)."""
        from lakepkg.write.build import PackageBuilder

        b = PackageBuilder(self.source.registry, meta={**self.source.meta, "derived_from": self.source.top_hash})
        for n in self.table_names:
            t = self.source.table(n)
            if self.partitions is None:
                b.copy_table_from(t.hash, t.node)
                continue
            sorter = EntrySorter(f"table {n!r}")
            for d in t.iter_entries(self.partitions):
                sorter.add(Entry.from_json(d))
            h, node = build_table_node(self.source.store, n, t.schema, sorter, t.partition_columns,
                                       t.provenance, t.meta, t.node.writer)
            b.copy_table_from(h, node)
        for f in self.source.files:
            b.add_file_entry(f.entry)
        src = f"{self.source.name}@{self.source.top_hash}" if self.source.name else self.source.top_hash
        return b.publish(name, message or f"derived from {src}", derived_from=src, **kwargs)


@overload
def load(ref: str, registry: "Registry | str | None" = None, lock: Optional[str] = None) -> Node: ...
@overload
def load(ref: str, registry: "Registry | str | None" = None, lock: Optional[str] = None, *,
         kind: type[NodeT]) -> NodeT: ...


def load(ref: str, registry: "Registry | str | None" = None, lock: Optional[str] = None, *,
         kind: Optional[type] = None) -> Any:
    """Load ``ns/name[@hash|:tag|@time][/table[/fragment]]``; a path returns that node.

    ``kind`` (``Package``, ``Table``, ``Fragment`` or ``File``): the node kind expected, so typed
    code gets that type (a ConfigError names what the reference is otherwise), e.g.
    ``load("sales/orders@3fa2c1/orders", kind=Table).to_pandas()``.

    ``lock`` (else ``$LAKEPKG_LOCK`` or ``lock:`` in the config file): a lock file (``lakepkg lock``)
    that pins a reference with no version selector (``ns/name``) to its exact top hash, the way a
    requirements file pins a notebook's code; explicit ``@hash``, ``:tag`` and ``@time`` are kept."""
    from lakepkg.config import setting

    reg = open_registry(registry)
    r = parse_ref(ref)
    lock_path = setting("lock", lock)
    if lock_path and "@" not in ref and ":" not in ref:
        r = _pinned_by_lock(r, str(lock_path))
    try:
        rec = reg.resolve(r)
    except NotFoundError as exc:
        if r.hash_prefix and lock_path and "@" not in ref:
            raise NotFoundError(f"{exc}; {lock_path} pins {r.name}@{r.hash_prefix[:12]}: install it with "
                                f"`lakepkg install -R {lock_path}`") from None
        raise
    pkg = Package(reg, rec.top_hash, rec)
    node: Node = pkg[r.path] if r.path else pkg
    if kind is not None and not isinstance(node, kind):
        raise ConfigError(f"{ref} is a {type(node).__name__.lower()}, not a {kind.__name__.lower()}")
    return node


def diff_refs(old: str, new: str, registry: "Registry | str | None" = None) -> PackageDiff:
    """Diff two references (``ns/name@a`` and ``ns/name@b``): what ``lakepkg.diff`` does."""
    reg = open_registry(registry)
    return diff_packages(load(old, reg, kind=Package), load(new, reg, kind=Package))


def _pinned_by_lock(r: Ref, lock_path: str) -> Ref:
    """``r`` (a reference with no version selector) pinned to its lock file entry, if it has one."""
    import dataclasses

    from lakepkg.format.lockfile import read_lockfile

    for e in read_lockfile(lock_path):
        if e.name == r.name:
            return dataclasses.replace(r, tag=None, hash_prefix=e.top_hash)
    return r
