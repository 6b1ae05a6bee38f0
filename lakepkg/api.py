"""The Python API: the CLI's verbs, with the CLI's names and options, one result type each.

    import lakepkg
    res = lakepkg.snapshot("sql", to="sales/orders", url=url, tables="public.orders")   # PublishResult
    res = lakepkg.build("sales/report", tables={"orders": df}, files={"README.md": "README.md"})
    pkg = lakepkg.load(res.ref)                                # Package
    lakepkg.push(res.ref, to="s3://lake/registry")             # TransferReport
    lakepkg.diff("sales/orders@3fa2c1")                        # PackageDiff (against latest)

Each verb is a thin wrapper over the function that does the work
(:mod:`lakepkg.write`, :mod:`lakepkg.read`, :mod:`lakepkg.maintain`); the CLI
calls the same functions. ``registry`` is a :class:`~lakepkg.registry.Registry`
or a location (path, ``s3://bucket/prefix``); None means the configured one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional, overload

from lakepkg.errors import ConfigError
from lakepkg.format.names import parse_ref
from lakepkg.maintain import gc as _gc
from lakepkg.maintain import lockfile as _lockfile
from lakepkg.maintain import transfer as _transfer
from lakepkg.maintain import verify as _verify
from lakepkg.read.diff import PackageDiff
from lakepkg.read import history as _history
from lakepkg.read.history import VersionHistory
from lakepkg.read.package import Package, Table, diff_refs, load
from lakepkg.read.package import load_table as _load_table
from lakepkg.registry import Registry, open_registry
from lakepkg.source.connectors import Source
from lakepkg.write.build import PackageBuilder, build_package
from lakepkg.write.publish import PublishResult
from lakepkg.write.snapshotting import Snapshot, snapshot as _snapshot

if TYPE_CHECKING:
    from lakepkg.merging.three_way import MergeResult
    from lakepkg.read.row_diff import RowDiff

__all__ = ["snapshot", "build", "load", "push", "pull", "install", "lock", "log", "history", "diff", "tag",
           "verify", "gc", "clone", "merge", "Snapshot", "Source", "PublishResult", "TagResult", "Package",
           "PackageBuilder", "open_registry"]


def _registry(registry: "Registry | str | None") -> Registry:
    return open_registry(registry)


def snapshot(sources: Any, to: str, *, registry: "Registry | str | None" = None, message: str = "",
             tags: Iterable[str] = (), inputs: Optional[list[str]] = None, run: Optional[dict[str, Any]] = None,
             meta: Optional[dict[str, Any]] = None, files: Optional[dict[str, str]] = None,
             incremental: bool = True, show_progress: bool = False, **options: Any) -> PublishResult:
    """``lakepkg snapshot``: snapshot one or several sources into one version of ``to``.

    ``sources``: a connector name with its options as keywords (``snapshot("sql", to=..., url=...)``),
    a :class:`Source`, or a list of Sources / ``(connector, options)`` pairs (one version, one top hash)."""
    return _snapshot(sources, to, registry=registry, message=message, tags=tags, inputs=inputs, run=run,
                     meta=meta, files=files, incremental=incremental, show_progress=show_progress, **options)


def build(name: str, tables: Optional[dict[str, Any]] = None, files: Optional[dict[str, "str | bytes"]] = None, *,
          registry: "Registry | str | None" = None, message: str = "", meta: Optional[dict[str, Any]] = None,
          tags: Iterable[str] = (), inputs: Optional[list[str]] = None, run: Optional[dict[str, Any]] = None,
          partition_cols: Optional[dict[str, list[str]]] = None, incremental: bool = True,
          show_progress: bool = False) -> PublishResult:
    """``lakepkg build``: publish ``tables`` (name → DataFrame, Arrow table or local Parquet/CSV path) and
    ``files`` (key → path or bytes) as a version of ``name``. ``incremental=False`` is ``--full``."""
    return build_package(name, tables, files, registry=registry, message=message, meta=meta, tags=tags,
                         inputs=inputs, run=run, partition_cols=partition_cols, incremental=incremental,
                         show_progress=show_progress)


def load_table(ref: str, table: Optional[str] = None, registry: "Registry | str | None" = None) -> Table:
    """The table ``ref`` names (``ns/name@version/TABLE``), table ``table`` of the version ``ref``, or
    the only table of a one-table version: :func:`lakepkg.read.package.load_table`, the one resolver."""
    return _load_table(ref, table, registry)


def push(ref: str, to: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: Iterable[str] = (), workers: int = 8, **options: Any) -> _transfer.TransferReport:
    """``lakepkg push REF --to REGISTRY``: copy a version and the objects it needs to another registry.
    ``options``: ``endpoint_url``, ``region``, ``profile`` for S3."""
    return _transfer.push(ref, to, registry=registry, as_name=as_name, tags=tuple(tags), workers=workers, **options)


def pull(ref: str, source: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: Iterable[str] = (), workers: int = 8, **options: Any) -> _transfer.TransferReport:
    """``lakepkg pull REF --from REGISTRY``: copy a version from ``source`` into the local registry."""
    return _transfer.pull(ref, source, registry=registry, as_name=as_name, tags=tuple(tags), workers=workers,
                          **options)


def install(ref: Optional[str] = None, *, requirement: Optional[str] = None, source: Optional[str] = None,
            dest: Optional[str] = None, registry: "Registry | str | None" = None, workers: int = 8,
            **options: Any) -> list[_transfer.TransferReport]:
    """``lakepkg install REF`` or ``lakepkg install -r lakepkg.lock``: bring versions into the local
    registry (from ``source`` when given) and, with ``dest``, lay them out as plain files. One report
    per installed version."""
    if (ref is None) == (requirement is None):
        raise ConfigError("give a reference to install or requirement=LOCKFILE, not both or neither")
    if requirement is not None:
        return _lockfile.install_lockfile(requirement, source=source, registry=registry, dest=dest,
                                          workers=workers, **options)
    return [_transfer.install(ref, source, registry=registry, dest=dest, workers=workers, **options)]  # type: ignore[arg-type]


def lock(refs: "str | list[str]", *, registry: "Registry | str | None" = None,
         file: Optional[str] = _lockfile.DEFAULT_LOCKFILE, **options: Any) -> list[_lockfile.LockEntry]:
    """``lakepkg lock REFS --file lakepkg.lock``: pin references to exact top hashes in a lock file
    (``file=None``: resolve only, write nothing)."""
    return _lockfile.lock([refs] if isinstance(refs, str) else list(refs), registry, file, **options)


def log(name: str, *, registry: "Registry | str | None" = None) -> VersionHistory:
    """``lakepkg log NAME``: the versions of a package, newest first (a list of VersionRecord with
    their ``tags``, shown as a table in a notebook)."""
    return _history.log(name, _registry(registry))


history = log


@overload
def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: Literal[False] = False, key: Optional[list[str]] = None) -> PackageDiff: ...


@overload
def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: Literal[True], key: Optional[list[str]] = None) -> "RowDiff": ...


def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: bool = False, key: Optional[list[str]] = None) -> "PackageDiff | RowDiff":
    """``lakepkg diff OLD [NEW] [--rows [--key COLS]]``: what changed between two versions (``new``:
    default the latest of the same package). ``rows=True``: the row-level diff (per table, Arrow
    tables of the rows added, removed and changed, keyed by ``key`` or each table's own key)."""
    reg = _registry(registry)
    if not rows:
        return diff_refs(old, new or parse_ref(old).name, reg)
    a = load(old, reg, kind=Package)
    return a.diff(load(new or parse_ref(old).name, reg, kind=Package), rows=True, key=key)


@dataclass(frozen=True)
class TagResult:
    """What ``tag`` did: the tag of ``package`` now names ``top_hash`` (or was deleted)."""

    package: str
    tag: str
    top_hash: Optional[str]
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "tag": self.tag, "top_hash": self.top_hash, "deleted": self.deleted}


def tag(name: str, tag: str, target: str = "latest", *, expect: Optional[str] = None, delete: bool = False,
        registry: "Registry | str | None" = None) -> TagResult:
    """``lakepkg tag NAME TAG [TARGET]``: point a tag at a version. ``expect``: move only if the tag
    now holds this version (hash prefix; ``"none"``: the tag must not exist) — a compare-and-swap."""
    reg = _registry(registry)
    if delete:
        reg.delete_tag(name, tag)
        return TagResult(name, tag, None, deleted=True)
    expected: Optional[str] = "*"
    if expect is not None:
        expected = None if expect == "none" else reg.resolve(f"{name}@{expect}").top_hash
    rec = reg.set_tag(name, tag, target, expected=expected)
    return TagResult(name, tag, rec.top_hash)


def verify(ref: Optional[str] = None, *, registry: "Registry | str | None" = None,
           deep: bool = True, caches: bool = False) -> _verify.VerifyReport:
    """``lakepkg verify [REF]``: re-hash every object the versions reference (all versions, a
    package's versions, or one version); ``caches``: also rehash the local row-hash cache files of
    their fragments (``--caches``)."""
    reg = _registry(registry)
    recs = None
    if ref:
        pr = parse_ref(ref)
        recs = [reg.resolve(pr)] if (pr.hash_prefix or pr.at or "@" in ref or ":" in ref) else reg.versions(pr.name)
    return _verify.verify_registry(reg, recs, deep=deep, caches=caches)


def gc(*, grace_hours: float = 24.0, dry_run: bool = False,
       registry: "Registry | str | None" = None) -> _gc.GcReport:
    """``lakepkg gc``: remove objects no version references, older than ``grace_hours``."""
    return _gc.collect_garbage(_registry(registry), grace_seconds=grace_hours * 3600, dry_run=dry_run)


def clone(src: str, new: str, *, registry: "Registry | str | None" = None, tables: "Optional[list[str] | str]" = None,
          where: Optional[str] = None, partitions: Optional[str] = None, message: str = "",
          tags: Iterable[str] = ()) -> PublishResult:
    """``lakepkg clone SRC NEW [--table T] [--where PRED] [--partition PRED]``: a new package whose
    first version is ``src`` (or the part of it the filters keep), sharing its objects (no byte
    copied) and recording ``derived_from``. ``tables``: names or globs; ``partitions``: SQL over
    partition columns (keeps fragments); ``where``: SQL over any columns (keeps rows, through
    deletion vectors). See docs/merge.md."""
    from lakepkg.merging.clone import clone as _clone

    return _clone(src, new, registry=_registry(registry), tables=[tables] if isinstance(tables, str) else tables,
                  where=where, partitions=partitions, message=message, tags=tags)


def merge(ours: str, theirs: str, to: str, *, registry: "Registry | str | None" = None, base: Optional[str] = None,
          strategy: str = "fail", key: Optional[dict[str, list[str]]] = None, resolve: Optional[dict[str, Any]] = None,
          message: str = "", conflicts_to: Optional[str] = None, expect: Optional[str] = "auto",
          tags: Iterable[str] = ()) -> "MergeResult":
    """``lakepkg merge OURS THEIRS --to NAME``: a three-way, row-level merge of two versions (by key
    and cell for keyed tables, as a multiset without a key; schemas and plain files too), published
    as the newest version of ``to`` with both parents recorded — or, with conflicts and
    ``strategy="fail"``, nothing published and the conflicts written as the package
    ``conflicts_to`` (default ``<to>-conflicts``).

    ``base``: the common base when the history has none; ``strategy``: ``fail``, ``ours`` or
    ``theirs``; ``key``: table → key columns; ``resolve``: table → the chosen rows of its
    conflicting keys (a Parquet/CSV path, a DataFrame or an Arrow table); ``expect``: publish only
    if ``to``'s latest is still this version (default: ``to`` is new or its latest is ours).
    Returns a :class:`~lakepkg.merging.three_way.MergeResult`. See docs/merge.md."""
    from lakepkg.merging.three_way import merge_versions

    return merge_versions(ours, theirs, to, registry=_registry(registry), base=base, strategy=strategy, keys=key,
                          resolve=resolve, message=message, conflicts_to=conflicts_to, expect=expect, tags=tags)
