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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Optional, overload

from lakepkg.errors import ConfigError
from lakepkg.format.lockfile import DEFAULT_LOCKFILE
from lakepkg.format.names import parse_ref
from lakepkg.registry import Registry, open_registry

if TYPE_CHECKING:
    from lakepkg.maintain import gc as _gc
    from lakepkg.maintain import lockfile as _lockfile
    from lakepkg.maintain import transfer as _transfer
    from lakepkg.maintain import verify as _verify
    from lakepkg.read.history import VersionHistory
    from lakepkg.source.connectors import Source
    from lakepkg.write.publish import PublishResult
    from lakepkg.read.diff import PackageDiff
    from lakepkg.read.package import Package, Table, load
    from lakepkg.write.build import PackageBuilder
    from lakepkg.write.snapshotting import Snapshot
    from lakepkg.metastore.restore import RestoreResult
    from lakepkg.governance import (AuditReport, RedactReport, RemoveReport, RetentionPlan, RetentionPolicy,
                                   RetentionReport, UsageReport)
    from lakepkg.merging.three_way import MergeResult
    from lakepkg.read.row_diff import RowDiff
    from lakepkg.write.compaction import CompactResult

__all__ = ["snapshot", "build", "load", "push", "pull", "install", "lock", "log", "history", "diff", "tag",
           "verify", "gc", "clone", "merge", "compact", "rm", "retain", "redact", "restore", "where_used", "audit",
           "ls", "show", "RetainResult", "PackageSummary", "VersionDetails", "Snapshot", "Source", "PublishResult", "TagResult", "Package",
           "PackageBuilder", "open_registry"]


# names re-exported from other modules, and the modules each verb works through, are imported on first
# use, so that ``import lakepkg.api`` (every CLI command) costs no more than the registry: ``lakepkg ls``
# imports no pyarrow, no transfer or verify code
_LAZY = {"load": "lakepkg.read.package", "Package": "lakepkg.read.package", "Table": "lakepkg.read.package",
         "PackageBuilder": "lakepkg.write.build", "Snapshot": "lakepkg.write.snapshotting",
         "PackageDiff": "lakepkg.read.diff", "Source": "lakepkg.source.connectors",
         "PublishResult": "lakepkg.write.publish", "VersionHistory": "lakepkg.read.history"}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'lakepkg.api' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def _registry(registry: "Registry | str | None") -> Registry:
    return open_registry(registry)


def snapshot(sources: Any, to: str, *, registry: "Registry | str | None" = None, message: str = "",
             tags: Iterable[str] = (), inputs: Optional[list[str]] = None, run: Optional[dict[str, Any]] = None,
             meta: Optional[dict[str, Any]] = None, files: Optional[dict[str, str]] = None,
             incremental: bool = True, show_progress: bool = False, **options: Any) -> PublishResult:
    """``lakepkg snapshot``: snapshot one or several sources into one version of ``to``.

    ``sources``: a connector name with its options as keywords (``snapshot("sql", to=..., url=...)``),
    a :class:`Source`, or a list of Sources / ``(connector, options)`` pairs (one version, one top hash)."""
    from lakepkg.write.snapshotting import snapshot as _snapshot

    return _snapshot(sources, to, registry=registry, message=message, tags=tags, inputs=inputs, run=run,
                     meta=meta, files=files, incremental=incremental, show_progress=show_progress, **options)


def build(name: str, tables: Optional[dict[str, Any]] = None, files: Optional[dict[str, "str | bytes"]] = None, *,
          registry: "Registry | str | None" = None, message: str = "", meta: Optional[dict[str, Any]] = None,
          tags: Iterable[str] = (), inputs: Optional[list[str]] = None, run: Optional[dict[str, Any]] = None,
          partition_cols: Optional[dict[str, list[str]]] = None, incremental: bool = True,
          show_progress: bool = False) -> PublishResult:
    """``lakepkg build``: publish ``tables`` (name → DataFrame, Arrow table or local Parquet/CSV path) and
    ``files`` (key → path or bytes) as a version of ``name``. ``incremental=False`` is ``--full``."""
    from lakepkg.write.build import build_package

    return build_package(name, tables, files, registry=registry, message=message, meta=meta, tags=tags,
                         inputs=inputs, run=run, partition_cols=partition_cols, incremental=incremental,
                         show_progress=show_progress)


def load_table(ref: str, table: Optional[str] = None, registry: "Registry | str | None" = None) -> "Table":
    """The table ``ref`` names (``ns/name@version/TABLE``), table ``table`` of the version ``ref``, or
    the only table of a one-table version: :func:`lakepkg.read.package.load_table`, the one resolver."""
    from lakepkg.read.package import load_table as _load_table

    return _load_table(ref, table, registry)


def push(ref: str, to: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: Iterable[str] = (), workers: int = 8, show_progress: bool = False,
         **options: Any) -> _transfer.TransferReport:
    """``lakepkg push REF --to REGISTRY``: copy a version and the objects it needs to another registry.
    ``options``: ``endpoint_url``, ``region``, ``profile`` for S3."""
    from lakepkg.maintain import transfer as _transfer

    return _transfer.push(ref, to, registry=registry, as_name=as_name, tags=tuple(tags), workers=workers,
                          show_progress=show_progress, **options)


def pull(ref: str, source: str, *, registry: "Registry | str | None" = None, as_name: Optional[str] = None,
         tags: Iterable[str] = (), workers: int = 8, show_progress: bool = False,
         **options: Any) -> _transfer.TransferReport:
    """``lakepkg pull REF --from REGISTRY``: copy a version from ``source`` into the local registry."""
    from lakepkg.maintain import transfer as _transfer

    return _transfer.pull(ref, source, registry=registry, as_name=as_name, tags=tuple(tags), workers=workers,
                          show_progress=show_progress, **options)


def install(ref: Optional[str] = None, *, lock_file: Optional[str] = None, source: Optional[str] = None,
            dest: Optional[str] = None, registry: "Registry | str | None" = None, workers: int = 8,
            show_progress: bool = False, requirement: Optional[str] = None,
            **options: Any) -> list[_transfer.TransferReport]:
    """``lakepkg install REF`` or ``lakepkg install --lock-file lakepkg.lock``: bring versions into the
    local registry (from ``source`` when given) and, with ``dest``, lay them out as plain files. One
    report per installed version. A reference and ``lock_file`` together, or neither, is a
    ConfigError. ``requirement`` is the old name of ``lock_file`` (deprecated: warns once)."""
    from lakepkg.maintain import lockfile as _lockfile
    from lakepkg.maintain import transfer as _transfer

    if requirement is not None:
        from lakepkg.errors import deprecated

        deprecated("lakepkg.install(requirement=...)", "lakepkg.install(lock_file=...)")
        lock_file = lock_file or requirement
    if lock_file and ref:
        raise ConfigError("give either a package reference or --lock-file LOCKFILE, not both")
    if not lock_file and not ref:
        where = registry if isinstance(registry, str) else None
        if where and where.endswith(".lock"):
            raise ConfigError(f"-r is --registry; to install a lock file use --lock-file/-l {where}")
        raise ConfigError("nothing to install: give ns/name[@hash] or --lock-file lakepkg.lock "
                          "(a reference or a lock file, not both or neither)")
    if lock_file:
        return _lockfile.install_lockfile(lock_file, source=source, registry=registry, dest=dest,
                                          workers=workers, show_progress=show_progress, **options)
    return [_transfer.install(str(ref), source, registry=registry, dest=dest, workers=workers,
                              show_progress=show_progress, **options)]


def lock(refs: "str | list[str]", *, registry: "Registry | str | None" = None,
         file: Optional[str] = DEFAULT_LOCKFILE, **options: Any) -> "list[_lockfile.LockEntry]":
    """``lakepkg lock REFS --file lakepkg.lock``: pin references to exact top hashes in a lock file
    (``file=None``: resolve only, write nothing)."""
    from lakepkg.maintain import lockfile as _lockfile

    return _lockfile.lock([refs] if isinstance(refs, str) else list(refs), registry, file, **options)


@dataclass(frozen=True)
class PackageSummary:
    """One package as ``ls`` lists it: its latest top hash, number of versions, last update, tags."""

    name: str
    latest: Optional[str]
    versions: int
    updated: Optional[str]
    tags: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "latest": self.latest, "versions": self.versions, "updated": self.updated,
                "tags": list(self.tags)}


def ls(prefix: str = "", *, registry: "Registry | str | None" = None) -> list[PackageSummary]:
    """``lakepkg ls [PREFIX]``: the packages whose name starts with ``prefix``, with their latest version."""
    reg = _registry(registry)
    rows = []
    for n in reg.list_packages(prefix):
        tags = reg.tags(n)
        hist = reg.history(n)
        rows.append(PackageSummary(n, tags.get("latest"), len(hist), hist[-1].created.isoformat() if hist else None,
                                   sorted(tags)))
    return rows


@dataclass(frozen=True)
class VersionDetails:
    """One version as ``show`` describes it: its record, and per table the schema, sizes, row count,
    provenance and source; its plain files."""

    package: str
    top_hash: str
    record: dict[str, Any]
    meta: dict[str, Any]
    tables: list[dict[str, Any]]
    files: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "top_hash": self.top_hash, "record": self.record, "meta": self.meta,
                "tables": self.tables, "files": self.files}


def show(ref: str, *, registry: "Registry | str | None" = None) -> VersionDetails:
    """``lakepkg show REF``: what the version ``ref`` names holds (record, tables, files)."""
    pr = parse_ref(ref, allow_path=False)
    reg = _registry(registry)
    rec = reg.resolve(pr)
    from lakepkg.read.package import Package

    pkg = Package(reg, rec.top_hash, rec)
    tables = []
    for n in pkg.tables:
        t = pkg.table(n)
        tables.append({"name": n, "hash": t.hash, "rows": t.rows, "bytes": t.node.bytes,
                       "fragments": t.node.fragments, "pages": len(t.node.pages),
                       "partition_columns": t.partition_columns,
                       "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in t.schema],
                       "provenance": t.provenance, "meta": t.meta, "writer": t.node.writer,
                       "source": (rec.sources or {}).get(n)})
    files = [{"key": f.key, "object": f.object, "size": f.size} for f in pkg.files]
    return VersionDetails(rec.package, rec.top_hash, rec.to_json(), pkg.meta, tables, files)


def log(name: str, *, registry: "Registry | str | None" = None) -> VersionHistory:
    """``lakepkg log NAME``: the versions of a package, newest first (a list of VersionRecord with
    their ``tags``, shown as a table in a notebook)."""
    from lakepkg.read.history import log as _log

    return _log(name, _registry(registry))


history = log


@overload
def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: Literal[False] = False, key: Optional[list[str]] = None) -> "PackageDiff": ...


@overload
def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: Literal[True], key: Optional[list[str]] = None) -> "RowDiff": ...


def diff(old: str, new: Optional[str] = None, registry: "Registry | str | None" = None, *,
         rows: bool = False, key: Optional[list[str]] = None) -> "PackageDiff | RowDiff":
    """``lakepkg diff OLD [NEW] [--rows [--key COLS]]``: what changed between two versions (``new``:
    default the latest of the same package). ``rows=True``: the row-level diff (per table, Arrow
    tables of the rows added, removed and changed, keyed by ``key`` or each table's own key)."""
    from lakepkg.read.package import Package, diff_refs, load

    old_ref = parse_ref(old, allow_path=False)
    if new is not None:
        parse_ref(new, allow_path=False)
    reg = _registry(registry)
    if not rows:
        return diff_refs(old, new or old_ref.name, reg)
    a = load(old, reg, kind=Package)
    return a.diff(load(new or old_ref.name, reg, kind=Package), rows=True, key=key)


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
    """``lakepkg tag NAME TAG [TARGET]``: point a tag at a version. ``target``: a hash prefix (4+ hex
    digits) or a tag of ``name``. ``expect``: move only if the tag now holds this version (hash prefix;
    ``"none"``: the tag must not exist) — a compare-and-swap. ``delete``: remove the tag."""
    from lakepkg.errors import InvalidNameError, InvalidRefError
    from lakepkg.format.names import HASH_PREFIX_RE, validate_package_name, validate_tag

    validate_package_name(name)
    validate_tag(tag)
    if not HASH_PREFIX_RE.fullmatch(target):
        try:
            validate_tag(target)
        except InvalidNameError:
            raise InvalidRefError(f"invalid target {target!r}: give a hash prefix (4+ hex digits) or a tag of {name}") from None
    reg = _registry(registry)
    if delete:
        reg.delete_tag(name, tag)
        return TagResult(name, tag, None, deleted=True)
    expected: Optional[str] = "*"
    if expect is not None:
        expected = None if expect == "none" else reg.resolve(parse_ref(f"{name}@{expect}", allow_path=False)).top_hash
    rec = reg.set_tag(name, tag, target, expected=expected)
    return TagResult(name, tag, rec.top_hash)


def verify(ref: Optional[str] = None, *, registry: "Registry | str | None" = None,
           deep: bool = True, caches: bool = False,
           progress: Optional[Callable[[int, int], None]] = None) -> _verify.VerifyReport:
    """``lakepkg verify [REF]``: re-hash every object the versions reference (all versions, a
    package's versions, or one version); ``caches``: also rehash the local row-hash cache files of
    their fragments (``--caches``); ``progress(done, total)`` is called as objects are checked.
    A package with no versions is a :class:`~lakepkg.errors.NotFoundError`; a failed check is in the
    report (``report.ok``), not an exception."""
    from lakepkg.errors import NotFoundError
    from lakepkg.maintain import verify as _verify

    pr = parse_ref(ref, allow_path=False) if ref else None
    reg = _registry(registry)
    recs = None
    if pr is not None:
        recs = [reg.resolve(pr)] if (pr.hash_prefix or pr.at or "@" in str(ref) or ":" in str(ref)) else reg.versions(pr.name)
        if not recs:
            raise NotFoundError(f"package {pr.name} not found in {reg.location}; `lakepkg ls` lists packages")
    return _verify.verify_registry(reg, recs, deep=deep, caches=caches, progress=progress)


def gc(*, grace_hours: float = 24.0, dry_run: bool = False,
       registry: "Registry | str | None" = None) -> _gc.GcReport:
    """``lakepkg gc``: remove objects no version references, older than ``grace_hours`` (a finite
    number, 0 or more; an in-flight publish is never collected)."""
    import math

    from lakepkg.maintain import gc as _gc

    if not math.isfinite(grace_hours) or grace_hours < 0:
        raise ConfigError(f"--grace-hours {grace_hours}: give a finite number of hours, 0 or more")
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


# -- keeping and removing: compact, rm, retain, redact, restore, where_used, audit ---------------------

def _need_reason(reason: Optional[str], what: str) -> str:
    if not reason or not reason.strip():
        raise ConfigError(f"{what} needs --reason TEXT (it goes into the audit log)")
    return reason


def compact(name: str, *, tables: Optional[Iterable[str]] = None, message: str = "",
            registry: "Registry | str | None" = None) -> "CompactResult":
    """``lakepkg compact NAME``: rewrite the fragments with deletion vectors of the latest version of
    ``name`` (or of the version ``name@hash``) into clean ones and publish the result (same rows, new
    layout; unchanged when there is nothing to compact). ``tables``: only these tables. See docs/deltas.md."""
    from lakepkg.write.compaction import compact as _compact

    return _compact(_registry(registry), name, tables=list(tables) if tables else None, message=message)


def rm(ref: str, *, reason: Optional[str], force: bool = False,
       registry: "Registry | str | None" = None) -> "RemoveReport":
    """``lakepkg rm REF --reason TEXT``: remove the version ``ref`` names (``NAME@HASH``, ``NAME:TAG``,
    ``NAME@TIME``) from its package's history, recorded in the audit log (``lakepkg gc`` then frees
    its objects). ``force``: also delete tags other than ``latest`` that name it."""
    from lakepkg.governance import rm as _rm

    return _rm(ref, reason=_need_reason(reason, "rm"), force=force, registry=_registry(registry))


@dataclass
class RetainResult:
    """What ``retain`` did: the policy it set (with what that policy would do now), and/or the
    retention run over the packages (a dry run unless ``apply``)."""

    policy: "Optional[RetentionPolicy]" = None
    plan: "Optional[RetentionPlan]" = None
    report: "Optional[RetentionReport]" = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy.to_json()} if self.policy is not None else {}
        if self.report is None:
            return {**out, "plan": self.plan.to_json() if self.plan is not None else None}
        return {**out, **self.report.to_json()}


def retain(name: Optional[str] = None, *, keep_last: Optional[int] = None, keep_days: Optional[float] = None,
           keep_tagged: bool = False, keep_locks: Iterable[str] = (), apply: bool = False, force: bool = False,
           grace_hours: float = 24.0, registry: "Registry | str | None" = None) -> RetainResult:
    """``lakepkg retain [NAME] [--keep-...] [--apply]``: with a rule (``keep_last``, ``keep_days``,
    ``keep_tagged``, ``keep_locks``), set ``name``'s retention policy; without ``apply`` that is all
    (the result's ``plan`` says what it would remove). Without a rule, or with ``apply``: evaluate the
    policies of ``name`` (default: every package with one) and, with ``apply``, remove what they do
    not keep and run gc with ``grace_hours``. ``force``: allow removing every version of a package."""
    from lakepkg.governance import apply_retention, set_policy

    reg = _registry(registry)
    locks = tuple(keep_locks)
    res = RetainResult()
    if keep_last is not None or keep_days is not None or keep_tagged or locks:
        if not name:
            raise ConfigError("give the package the policy is for: lakepkg retain NAME --keep-last N …")
        res.plan = set_policy(name, keep_last=keep_last, keep_days=keep_days, keep_tagged=keep_tagged,
                              keep_locks=locks, force=force, registry=reg)
        res.policy = res.plan.policy
        if not apply:
            return res
    res.report = apply_retention([name] if name else None, apply=apply, force=force, registry=reg,
                                 grace_seconds=grace_hours * 3600)
    return res


def redact(table: Optional[str] = None, where: Optional[str] = None, *, reason: Optional[str] = None,
           packages: Optional[Iterable[str]] = None, all_packages: bool = False, resume: bool = False,
           registry: "Registry | str | None" = None) -> "RedactReport":
    """``lakepkg redact --table T --where PRED --reason TEXT (--package P... | --all)``: remove the
    matching rows from every version holding them; old references resolve to the redacted successors
    with a notice, and the audit log records it (docs/lifecycle.md). ``resume``: only finish the
    redactions a crash interrupted."""
    from lakepkg.governance import redact as _redact
    from lakepkg.governance import resume as _resume

    reg = _registry(registry)
    if resume:
        return _resume(reg)
    if not table or not where:
        raise ConfigError("redact needs --table T and --where PREDICATE (or --resume)")
    return _redact(table, where, reason=_need_reason(reason, "redact"), packages=list(packages or ()) or None,
                   all_packages=all_packages, registry=reg)


def restore(ref: str, *, table: str, into: str, location: str, metastore: Optional[str] = None,
            storage_options: Optional[dict[str, Any]] = None, registry: "Registry | str | None" = None,
            show_progress: bool = False) -> "RestoreResult":
    """``lakepkg restore REF --table T --into DB.TABLE --location DIR --metastore URI``: write a
    snapshotted table (every fragment verified) under ``location`` and register it in the Hive
    metastore as the new table ``into`` (a rollback). ``metastore``: default ``$LAKEPKG_METASTORE``."""
    import os

    from lakepkg.metastore.restore import restore_table

    metastore = metastore or os.environ.get("LAKEPKG_METASTORE")
    if not metastore:
        raise ConfigError("give --metastore thrift://host:9083 (or set LAKEPKG_METASTORE)")
    return restore_table(ref, table=table, into=into, location=location, metastore=metastore,
                         registry=_registry(registry), storage_options=storage_options, show_progress=show_progress)


def where_used(digest: Optional[str] = None, *, source: Optional[str] = None, table: Optional[str] = None,
               where: Optional[str] = None, packages: Optional[Iterable[str]] = None,
               registry: "Registry | str | None" = None) -> "UsageReport":
    """``lakepkg where-used``: every package version and tag holding an object (``digest``, 6+ hex
    digits), a source file (``source``), or the rows of ``table`` matching ``where``; ``packages``:
    only these (default every package)."""
    from lakepkg.governance import where_used as _where_used

    return _where_used(digest=digest, source=source, table=table, where=where,
                       packages=list(packages) if packages else None, registry=_registry(registry))


def audit(*, registry: "Registry | str | None" = None) -> "AuditReport":
    """``lakepkg audit``: the registry's audit log (removals, retention runs, redactions) read back,
    with its hash chain checked (``report.ok``, ``report.problems``). A broken chain is in the
    report, not an exception."""
    from lakepkg.governance import check_log

    return check_log(_registry(registry))
