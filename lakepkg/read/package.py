"""Reading a package version: navigation, pruning, and conversion to pandas / Arrow / Spark.

``lakepkg.load("sales/orders@3fa2c1")`` returns a :class:`Package`;
``pkg["orders"]`` a :class:`Table`; ``table.fragments()`` its
:class:`Fragment` leaves; ``pkg["README.md"]`` a :class:`File`. Pages are
read lazily, one at a time, and hash-checked.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from lakepkg.errors import IntegrityError, NotFoundError
from lakepkg.read.filters import Filter, entry_may_match, normalise, partition_array, py_value, to_expression
from lakepkg.format.manifest import Entry, RootNodeData, TableNodeData, load_root, load_table_node, read_page_raw
from lakepkg.format.names import parse_ref
from lakepkg.registry import Registry, VersionRecord, open_registry
from lakepkg.store.base import ObjectStore


class _Leaf:
    def __init__(self, store: ObjectStore, entry: Entry) -> None:
        self.store = store
        self.entry = entry

    key = property(lambda self: self.entry.key)
    object = property(lambda self: self.entry.object)
    size = property(lambda self: self.entry.size)
    meta = property(lambda self: self.entry.meta or {})

    def local_path(self, verify: bool = False) -> str:
        """A local file with the leaf's bytes (fetched into the cache for remote stores).
        With ``verify`` the bytes are re-hashed first (IntegrityError if they do not match)."""
        p = self.store.local_path(self.entry.object)
        if p is None:
            raise NotFoundError(f"object {self.entry.object[:12]} has no local copy; install the package first")
        if verify:
            from lakepkg.store.base import hash_file

            if hash_file(p)[0] != self.entry.object:
                raise IntegrityError(f"object {self.entry.object[:12]} ({self.entry.key}) is corrupt; run `lakepkg verify`")
        return p

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

    rows = property(lambda self: self.entry.rows)
    partition = property(lambda self: self.entry.partition or {})
    stats = property(lambda self: self.entry.stats or {})

    def to_arrow(self, columns: Optional[list[str]] = None, verify: bool = False) -> pa.Table:
        """The fragment's rows, partition columns included (``verify``: re-hash the bytes first)."""
        import pyarrow.parquet as pq

        from lakepkg.read.deletes import apply_deletes

        data_cols = None if columns is None else [c for c in columns if c not in self.partition]
        t = apply_deletes(self.store, self.entry, pq.read_table(self.local_path(verify), columns=data_cols),
                          self.table.name)
        schema = self.table.schema
        for c in self.table.partition_columns:
            if columns is not None and c not in columns:
                continue
            f = schema.field(c)
            t = t.append_column(f, partition_array(f.type, self.partition.get(c), t.num_rows))
        return t

    def to_pandas(self, columns: Optional[list[str]] = None, verify: bool = False) -> Any:
        """The fragment as a pandas DataFrame."""
        return self.to_arrow(columns, verify).to_pandas()

    def __repr__(self) -> str:
        return f"<Fragment {self.key} rows={self.rows} {self.size} B>"


class Table:
    """A table node: schema, partitions, fragments; reads as Arrow, pandas or Spark."""

    def __init__(self, package: "Package", name: str, node_hash: str) -> None:
        self.package = package
        self.store = package.store
        self.name = name
        self.hash = node_hash
        self.node: TableNodeData = load_table_node(self.store, node_hash)

    schema = property(lambda self: self.node.schema)
    partition_columns = property(lambda self: self.node.partition_columns)
    rows = property(lambda self: self.node.rows)
    provenance = property(lambda self: self.node.provenance)
    meta = property(lambda self: self.node.meta)

    def iter_entries(self, filters: Optional[Filter] = None) -> Iterator[dict[str, Any]]:
        """Entries (as dicts) whose partition values and stats may match ``filters``."""
        conjs = normalise(filters)
        for page in self.node.pages:
            for d in read_page_raw(self.store, page):
                if conjs is None or entry_may_match(d, conjs, self.schema):
                    yield d

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

    def partitions(self) -> list[dict[str, Any]]:
        """Distinct partition values, in key order."""
        seen: dict[tuple, dict[str, Any]] = {}
        for d in self.iter_entries():
            p = d.get("partition") or {}
            seen.setdefault(tuple((k, str(p.get(k))) for k in self.partition_columns), p)
        return list(seen.values())

    def to_arrow_dataset(self, filters: Optional[Filter] = None, verify: bool = False):
        """A pyarrow dataset over the fragments that survive partition and min/max pruning."""
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        frags = self.fragments(filters)
        if any(f.entry.deletes for f in frags):
            # a Parquet scan cannot skip a vector's rows: an in-memory dataset of the live rows
            # (pruned fragments only; see docs/deltas.md)
            tables = [f.to_arrow(verify=verify).select(self.schema.names).cast(self.schema) for f in frags]
            return ds.InMemoryDataset(pa.concat_tables(tables) if tables else self.schema.empty_table(),
                                      schema=self.schema)
        paths = [f.local_path(verify) for f in frags]
        exprs = []
        for f in frags:
            e = ds.scalar(True)
            for c in self.partition_columns:
                v = py_value(self.schema.field(c).type, f.partition.get(c))
                term = ds.field(c).is_null() if v is None else (ds.field(c) == pa.scalar(v, self.schema.field(c).type))
                e = e & term
            exprs.append(e)
        return ds.FileSystemDataset.from_paths(paths, schema=self.schema, format=ds.ParquetFileFormat(),
                                               filesystem=pafs.LocalFileSystem(), partitions=exprs)

    def to_arrow(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                 verify: bool = False) -> pa.Table:
        """Rows matching ``filters`` (pruned by partition and stats, then filtered row by row)."""
        dataset = self.to_arrow_dataset(filters, verify)
        return dataset.to_table(filter=to_expression(filters), columns=columns)

    def to_pandas(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                  verify: bool = False) -> Any:
        """Rows matching ``filters`` as a pandas DataFrame."""
        return self.to_arrow(filters, columns, verify).to_pandas()

    def head(self, n: int = 10) -> pa.Table:
        """The first ``n`` rows (reads only as many fragments as needed)."""
        out, got = [], 0
        for f in self.fragments():
            t = f.to_arrow()
            out.append(t.slice(0, n - got))
            got += out[-1].num_rows
            if got >= n:
                break
        return pa.concat_tables(out) if out else self.schema.empty_table()

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

    def to_spark(self, spark: Any, columns: Optional[list[str]] = None, native: Optional[bool] = None) -> Any:
        """A distributed Spark DataFrame of this exact version of the table, reading only ``columns``
        when given. ``native``: Spark's own Parquet scan of a local registry (default when possible),
        else the ``pkg`` data source (see :mod:`lakepkg.spark`)."""
        from lakepkg.spark import table_to_spark

        return table_to_spark(spark, self, columns=columns, native=native)

    def __repr__(self) -> str:
        return f"<Table {self.name} rows={self.rows} fragments={self.node.fragments} hash={self.hash[:10]}>"


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

    def table(self, name: str) -> Table:
        if name not in self.root.tables:
            raise NotFoundError(f"{self.ref} has no table {name!r}; tables: {', '.join(self.tables) or 'none'}")
        if name not in self._tables:
            self._tables[name] = Table(self, name, self.root.tables[name])
        return self._tables[name]

    def files(self) -> list[File]:
        out = []
        for page in self.root.files:
            out.extend(File(self.store, Entry.from_json(d)) for d in read_page_raw(self.store, page))
        return out

    def file(self, key: str) -> File:
        for f in self.files():
            if f.key == key:
                return f
        raise NotFoundError(f"{self.ref} has no file {key!r}")

    def readme(self) -> Optional[str]:
        for f in self.files():
            if f.key.lower() == "readme.md":
                return f.read_text()
        return None

    def __getitem__(self, path: str) -> "Table | File | Fragment":
        """``pkg["orders"]`` → table; ``pkg["orders/ds=1/part-0.parquet"]`` → fragment; ``pkg["README.md"]`` → file."""
        if path in self.root.tables:
            return self.table(path)
        head, _, rest = path.partition("/")
        if rest and head in self.root.tables:
            return self.table(head)[rest]
        for f in self.files():
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
        """Changes from ``self`` to ``other`` (see :func:`lakepkg.read.diff.diff_packages`).

        ``rows=True``: the row-level diff instead (:func:`lakepkg.read.row_diff.diff_rows`: per
        table, Arrow tables of the rows added, removed and changed), keyed by ``key`` or each
        table's own key."""
        if rows:
            from lakepkg.read.row_diff import diff_rows

            return diff_rows(self, other, key=key)
        from lakepkg.read.diff import diff_packages

        return diff_packages(self, other)

    def __repr__(self) -> str:
        return f"<Package {self.ref} tables={self.tables}>"


@dataclass
class SubPackage:
    """A filtered view of a package that can be published as a derived package."""

    source: Package
    table_names: list[str]
    partitions: Optional[Filter] = None

    def publish(self, name: str, message: str = "", **kwargs: Any) -> VersionRecord:
        """Publish the selection as a new package recording ``derived_from`` = the source version."""
        from lakepkg.write.build import PackageBuilder
        from lakepkg.format.manifest import EntrySorter

        b = PackageBuilder(self.source.registry, meta={**self.source.meta, "derived_from": self.source.top_hash})
        for n in self.table_names:
            t = self.source.table(n)
            if self.partitions is None:
                b.copy_table_from(t.hash, t.node)
                continue
            from lakepkg.format.manifest import build_table_node

            sorter = EntrySorter(f"table {n!r}")
            for d in t.iter_entries(self.partitions):
                sorter.add(Entry.from_json(d))
            h, node = build_table_node(self.source.store, n, t.schema, sorter, t.partition_columns,
                                       t.provenance, t.meta, t.node.writer)
            b.copy_table_from(h, node)
        for f in self.source.files():
            b._files.add(f.entry)
            b._file_keys.add(f.key)
        src = f"{self.source.name}@{self.source.top_hash}" if self.source.name else self.source.top_hash
        return b.publish(name, message or f"derived from {src}", derived_from=src, **kwargs)


def load(ref: str, registry: "Registry | str | None" = None, lock: Optional[str] = None) -> Any:
    """Load ``ns/name[@hash|:tag|@time][/table[/fragment]]``; a path returns that node.

    ``lock`` (else ``$LAKEPKG_LOCK`` or ``lock:`` in the config file): a lock file (``lakepkg lock``)
    that pins a reference with no version selector (``ns/name``) to its exact top hash, the way a
    requirements file pins a notebook's code; explicit ``@hash``, ``:tag`` and ``@time`` are kept."""
    from lakepkg.config import setting

    reg = registry if isinstance(registry, Registry) else open_registry(registry)
    r = parse_ref(ref)
    lock_path = setting("lock", lock)
    if lock_path and "@" not in ref and ":" not in ref:
        r = _pinned_by_lock(r, str(lock_path))
    try:
        rec = reg.resolve(r)
    except NotFoundError as exc:
        if r.hash_prefix and lock_path and "@" not in ref:
            raise NotFoundError(f"{exc}; {lock_path} pins {r.name}@{r.hash_prefix[:12]}: install it with "
                                f"`lakepkg install -r {lock_path}`") from None
        raise
    pkg = Package(reg, rec.top_hash, rec)
    if r.path:
        return pkg[r.path]
    return pkg


def _pinned_by_lock(r: Any, lock_path: str) -> Any:
    """``r`` (a reference with no version selector) pinned to its lock file entry, if it has one."""
    import dataclasses

    from lakepkg.maintain.lockfile import read_lockfile

    for e in read_lockfile(lock_path):
        if e.name == r.name:
            return dataclasses.replace(r, tag=None, hash_prefix=e.top_hash)
    return r
