"""A package version and how it is loaded: :class:`Package` (navigation), :class:`SubPackage` (a
filtered selection published as a derived version), :func:`load` (references, lock pinning) and
:func:`load_table` (the one reference → table resolution).

``lakepkg.load("sales/orders@3fa2c1")`` returns a :class:`Package`;
``pkg["orders"]`` a :class:`~lakepkg.read.table.Table`; ``table.fragments()`` its
:class:`~lakepkg.read.leaves.Fragment` leaves; ``pkg["README.md"]`` a :class:`~lakepkg.read.leaves.File`
(all importable from here). Pages are read lazily, one at a time, and hash-checked. Notebook views
are :mod:`lakepkg.read.notebook`.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, overload

import pyarrow as pa

from lakepkg.errors import ConfigError, NotFoundError
from lakepkg.format.manifest import Entry, EntrySorter, RootNodeData, build_table_node, load_root
from lakepkg.format.names import Ref, parse_ref
from lakepkg.format.walk import iter_page_entries
from lakepkg.read.filters import Filter
from lakepkg.read.leaves import File, Fragment
from lakepkg.read.table import Table
from lakepkg.registry import Registry, VersionRecord, open_registry

if TYPE_CHECKING:  # loaded on first use (``lakepkg query`` start-up: a read needs neither)
    from lakepkg.read.diff import PackageDiff
    from lakepkg.write.publish import PublishResult

__all__ = ["Package", "SubPackage", "Table", "Fragment", "File", "Node", "load", "load_table", "diff_refs"]


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
        from lakepkg.read.diff import diff_packages

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
        from lakepkg.read.notebook import package_html

        return package_html(self)


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


def load_table(ref: str, table: Optional[str] = None, registry: "Registry | str | None" = None,
               **registry_options: Any) -> Table:
    """The table ``ref`` names: the one reference → table resolution (``lakepkg.api.load_table``, the
    Spark data source, ``lakepkg.spark.read``, the CLI).

    ``ns/name@version/TABLE`` is that table; ``ns/name@version`` with ``table`` is table ``table``
    of it, and without one its only table (a package of several tables names them in a
    ConfigError). A reference to a fragment or a file is a ConfigError too.
    ``registry_options``: S3 options of the registry (``endpoint_url``, ``region``, ``profile``)."""
    from lakepkg.read.ref_paths import package_or_path

    reg = open_registry(registry, **registry_options)
    node = load(package_or_path(ref, reg), reg)
    if isinstance(node, Package):
        if table:
            return node.table(table)
        if len(node.tables) != 1:
            raise ConfigError(f"{ref} has {len(node.tables)} tables ({', '.join(node.tables) or 'none'}); name one "
                              f"as {ref}/TABLE (or with --table)")
        return node.table(node.tables[0])
    if not isinstance(node, Table):
        raise ConfigError(f"{ref} names a {type(node).__name__.lower()}, not a table; give ns/name[@version]/TABLE "
                              f"(read a single fragment or file with lakepkg.load(...))")
    if table and table != node.name:
        raise ConfigError(f"{ref} already names table {node.name!r}; drop --table {table}")
    return node


def diff_refs(old: str, new: str, registry: "Registry | str | None" = None) -> PackageDiff:
    """Diff two references (``ns/name@a`` and ``ns/name@b``): what ``lakepkg.diff`` does."""
    from lakepkg.read.diff import diff_packages

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


def __getattr__(name: str) -> Any:
    """``PackageDiff``, ``diff_packages``, ``PublishResult`` and the notebook constants stay importable
    from here, loaded on first use (``lakepkg query`` start-up)."""
    if name in ("PackageDiff", "diff_packages"):
        from lakepkg.read import diff

        return getattr(diff, name)
    if name == "PublishResult":
        from lakepkg.write import publish

        return publish.PublishResult
    if name in ("HTML_HEAD_ROWS", "HTML_PARTITION_SCAN_LIMIT"):
        from lakepkg.read import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
