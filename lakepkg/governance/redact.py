"""Redaction: remove rows matching a predicate from every version that holds them.

``redact(table="orders", where="customer_id = 42", reason="GDPR #17", packages=[...])``:

1. **Plan.** Find the versions (in the packages named, or all) whose table holds matching rows
   (:mod:`lakepkg.governance.where_used`: partition values and min/max statistics prune, only
   fragments that may match are read). Nothing matching: say so and change nothing.
2. **Build.** In each affected version, every fragment with matching rows is rewritten without
   them (with the writer settings the table node records), or dropped when every row matches;
   new pages, table node and root are written. Unaffected fragments, pages and tables keep their
   hashes. The successor record keeps the old record's time stamp, author, message, run, inputs,
   ``parent`` and ``derived_from`` (lineage), and lists the redaction in ``redacted``.
3. **Journal.** ``journal/redact-<id>.json`` names every old and new version and every object to
   delete (hashes only: no predicate value). Its creation is the commit point: from then on any
   re-run (``lakepkg redact --resume``, or any ``redact``) finishes the job; before it nothing
   visible has changed.
4. **Apply**, each step idempotent: audit entry; per version: create the successor record,
   record the redirect (old top hash → successor), move tags (``latest`` included) by
   compare-and-swap, delete the old record; then delete the old objects from the store and from
   every local cache, and the journal.
5. **Race.** A version published meanwhile to a package in scope is searched in a further round
   and redacted too; an object a version published meanwhile still names is never deleted.

A version therefore either still has the rows (its old record exists) or has none of them (only
its successor exists); while a journal is pending the registry says which in the journal.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Optional, TypeVar

from lakepkg.errors import ConcurrentUpdateError, ConfigError, LakepkgError, MissingObjectError, NotFoundError
from lakepkg.format.canonical import canonical_json
from lakepkg.format.manifest import EntrySorter, RootNodeData, TableNodeData, build_table_node, load_root, store_node
from lakepkg.format.walk import iter_page_entries
from lakepkg.governance.audit import record_event
from lakepkg.governance.lock import RedactionLock
from lakepkg.governance.objects import live_objects, purge, version_objects
from lakepkg.governance.predicate import Predicate, matching_mask, parse_predicate
from lakepkg.governance.remove import open_reg, tags_of
from lakepkg.governance.where_used import RowSearch, fragment_plan, package_scope, read_fragment
from lakepkg.read.scan import ScanPlan
from lakepkg.registry import Registry, VersionRecord
from lakepkg.registry.keys import JOURNAL_PREFIX, is_journal_key, journal_id, journal_key, record_key, stamp
from lakepkg.registry.refs import RedactedVersionWarning
from lakepkg.write.fragments import WRITER_SETTINGS, describe_parquet

MAX_ROUNDS = 4
T = TypeVar("T")
FAULT_ENV = "LAKEPKG_FAULT_POINT"  # crash tests: the process kills itself (SIGKILL) at this named step


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class RedactReport:
    """What one ``redact`` run did."""

    table: str = ""
    predicate: str = ""                       # the predicate's hash (never its values)
    versions: list[dict[str, Any]] = field(default_factory=list)   # package, old, new, rows_removed, ...
    rows_removed: int = 0
    objects_deleted: int = 0
    objects_kept: list[str] = field(default_factory=list)           # still named by a version published meanwhile
    resumed: list[str] = field(default_factory=list)                # journals of earlier runs finished first
    rounds: int = 0
    fragments_considered: int = 0
    fragments_read: int = 0
    audit: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def headline(self) -> str:
        pk = sorted({v["package"] for v in self.versions})
        return (f"redacted {self.rows_removed} rows of table {self.table} from {len(self.versions)} versions of "
                f"{len(pk)} packages ({', '.join(pk[:4])}{'…' if len(pk) > 4 else ''}); "
                f"{self.objects_deleted} old objects deleted")


# -- building ---------------------------------------------------------------------------------

def _write_settings(writer: Optional[dict[str, Any]], original: Any) -> dict[str, Any]:
    """``pq.write_table`` keywords: the table node's recorded writer settings, else lakepkg's own with
    the original file's compression (a copied source file records no settings); ``original``: a
    callable giving the original file's Parquet footer (read only when needed)."""
    keys = ("compression", "compression_level", "row_group_size", "data_page_size", "use_dictionary",
            "write_statistics", "version", "data_page_version")
    if writer:
        return {k: writer[k] for k in keys if k in writer}
    s = {k: WRITER_SETTINGS[k] for k in keys if k != "compression_level"}
    md = original()
    if md.num_row_groups and md.num_columns:
        codec = str(md.row_group(0).column(0).compression).lower()
        s["compression"] = "none" if codec == "uncompressed" else codec
    return s


class Rewriter:
    """Rewrites fragments without matching rows; each (object, partition) is rewritten once per run."""

    def __init__(self, reg: Registry, pred: Predicate) -> None:
        self.reg = reg
        self.pred = pred
        self._done: dict[str, Optional[dict[str, Any]]] = {}
        self.search = RowSearch(reg, pred)

    def entry(self, e: dict[str, Any], plan: ScanPlan, node: TableNodeData,
              conjs: list[Any]) -> tuple[Optional[dict[str, Any]], int]:
        """(the entry without matching rows, or None when none is left; rows removed)."""
        k = self.search.cache_key(e, conjs, vector=True)  # the live rows it rewrites depend on the vector
        if k not in self._done:
            self._done[k] = self._rewrite(e, plan, node, conjs)
        new = self._done[k]
        return new, int(e.get("rows") or 0) - (int(new.get("rows") or 0) if new else 0)

    def _rewrite(self, e: dict[str, Any], plan: ScanPlan, node: TableNodeData,
                 conjs: list[Any]) -> Optional[dict[str, Any]]:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        stored, full = read_fragment(plan, e)  # live rows only: a deletion vector is applied by the read
        keep = stored.filter(pc.invert(matching_mask(full, conjs)))
        if keep.num_rows == 0:
            return None
        settings = _write_settings(node.writer, lambda: plan.reader().file_metadata(e))
        fd, tmp = tempfile.mkstemp(prefix="lakepkg-redact-", suffix=".parquet")
        os.close(fd)
        try:
            pq.write_table(keep, tmp, **settings)
            desc = describe_parquet(tmp, what=f"rewritten fragment {e['key']}")
            adopt = getattr(self.reg.store, "put_stream_file", None)
            digest, size, _ = adopt(tmp) if adopt is not None else self.reg.store.put_file(tmp)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        new = dict(e)
        new.pop("deletes", None)  # the rewritten object holds exactly the live rows
        new.update(object=digest, size=size, rows=desc.rows)
        if desc.stats:
            new["stats"] = desc.stats
        else:
            new.pop("stats", None)
        return new


def _plan_version(reg: Registry, rw: Rewriter, rec: VersionRecord, node_hash: str, node: TableNodeData,
                  matched: set[str], event: dict[str, Any]) -> dict[str, Any]:
    """Build the redacted tree of one version; returns its journal item (nothing published)."""
    store = reg.store
    conjs = rw.pred.for_schema(node.schema) or []
    plan = fragment_plan(reg, rec, node_hash, node)
    sorter = EntrySorter(f"table {node.name!r}")
    changed: set[str] = set()
    rows_removed = rewritten = dropped = 0
    for e in iter_page_entries(store, node.pages):
        if e["key"] not in matched:
            sorter.add_line(e["key"], canonical_json(e) + b"\n")  # unchanged: same bytes, same page hashes
            continue
        new, n = rw.entry(e, plan, node, conjs)
        rows_removed += n
        changed.add(e["key"])
        if new is None:
            dropped += 1
        else:
            rewritten += 1
            sorter.add_line(new["key"], canonical_json(new) + b"\n")
    new_h, _ = build_table_node(store, node.name, node.schema, sorter, node.partition_columns,
                                node.provenance, node.meta, node.writer)
    root = load_root(store, rec.top_hash)
    new_root = RootNodeData(tables={**root.tables, node.name: new_h}, files=root.files, meta=root.meta)
    new_top = store_node(store, new_root)
    sources = json.loads(json.dumps(rec.sources or {}))
    src = sources.get(node.name)
    if isinstance(src, dict) and src.get("listing"):
        # the source files behind rewritten fragments must be read again by the next incremental snapshot
        lines = [json.loads(l) for l in store.get_bytes(src["listing"]).splitlines() if l.strip()]
        kept = [l for l in lines if l.get("key") not in changed]
        if len(kept) != len(lines):
            if kept:
                src["listing"] = store.put_bytes(b"".join(canonical_json(l) + b"\n" for l in kept))
            else:
                src.pop("listing")
    succ = VersionRecord.from_json({**rec.to_json(), "top_hash": new_top, "sources": sources,
                                    "redacted": [*rec.redacted, {**event, "from": rec.top_hash}]})
    return {"package": rec.package, "old_key": rec.key, "old_top_hash": rec.top_hash,
            "successor_key": "", "top_hash": new_top, "record": succ.to_json(),
            "rows_removed": rows_removed, "fragments_rewritten": rewritten, "fragments_dropped": dropped}


# -- journal ----------------------------------------------------------------------------------

def pending_journals(reg: Registry) -> list[str]:
    """Keys of redactions that committed and did not finish (a crash): re-runs finish them."""
    return [k for k in reg.list_docs(JOURNAL_PREFIX) if is_journal_key(k, "redact")]


def apply_journal(reg: Registry, key: str, rep: Optional[RedactReport] = None,
                  lock: Optional[RedactionLock] = None) -> RedactReport:
    """Finish the redaction ``key`` describes (idempotent: safe to run again after a crash).
    The caller holds the redaction lock."""
    rep = rep or RedactReport()
    got = reg.read_doc(key)
    if got is None:
        return rep
    doc, token = got
    if doc.get("audit_seq") is None:
        seq = next((e.get("seq") for _, e in _audit_entries(reg) if e.get("journal") == doc["id"]), None)
        if seq is None:
            seq = record_event(reg, "redact", reason=doc["reason"], who=doc["who"], objects=doc["delete"],
                               versions=[{"package": v["package"], "top_hash": v["old_top_hash"], "version": v["old_key"],
                                          "successor": v["top_hash"], "rows_removed": v["rows_removed"]}
                                         for v in doc["versions"]],
                               table=doc["table"], predicate=doc["predicate"], journal=doc["id"],
                               rows_removed=sum(v["rows_removed"] for v in doc["versions"]))["seq"]
        _fault("audited")
        doc["audit_seq"] = seq
        if reg.write_doc(key, doc, token):
            token = reg.read_doc(key)[1]  # type: ignore[index]
    rep.audit.append(int(doc["audit_seq"]))
    for v in doc["versions"]:
        name = v["package"]
        succ = VersionRecord.from_json(v["record"], key=v["successor_key"])
        made, _ = reg.create_successor(succ)
        if made.key != v["successor_key"]:
            raise LakepkgError(f"successor record of {name}@{v['old_top_hash'][:10]} has key {made.key}, not the "
                               f"journal's {v['successor_key']}; the journal {key} is damaged")
        _fault("successor")
        reg.set_redirect(name, v["old_top_hash"], {"successor": v["successor_key"], "top_hash": v["top_hash"],
                                                   "redacted_at": doc["created_at"], "reason": doc["reason"],
                                                   "journal": doc["id"]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RedactedVersionWarning)
            old = VersionRecord.from_json({**v["record"], "top_hash": v["old_top_hash"]}, key=v["old_key"])
            for t in tags_of(reg, old):
                reg.move_tag_off(name, t, v["old_key"], succ)
        _fault("tags")
        reg.delete_version(v["old_key"])
        reg.repair_latest(name)
        _fault("version")
        if lock is not None:
            lock.beat()
    # objects: never delete one that any remaining version names (one published since the plan, say)
    still = live_objects(reg, _beating(reg.iter_all_records(), lock))
    for i, d in enumerate(doc["delete"]):
        if d in still:
            rep.objects_kept.append(d)
            continue
        purge(reg.store, d)
        rep.objects_deleted += 1
        if i == 0:
            _fault("objects")
        if lock is not None and i % 200 == 0:
            lock.beat()
    reg.delete_doc(key)
    rep.versions.extend({"package": v["package"], "old": v["old_top_hash"], "new": v["top_hash"],
                         "rows_removed": v["rows_removed"], "fragments_rewritten": v["fragments_rewritten"],
                         "fragments_dropped": v["fragments_dropped"]} for v in doc["versions"])
    rep.rows_removed += sum(v["rows_removed"] for v in doc["versions"])
    return rep


def _beating(items: Iterable[T], lock: Optional[RedactionLock]) -> Iterator[T]:
    """``items``, renewing the redaction lock as they are consumed (a long walk keeps it)."""
    for x in items:
        if lock is not None:
            lock.beat()
        yield x


def _audit_entries(reg: Registry) -> list[tuple[str, dict[str, Any]]]:
    return [(k, json.loads(b)) for k, b in reg.audit_raw()]


def resume(registry: "Registry | str | None" = None) -> RedactReport:
    """Finish every redaction a crash interrupted after its commit point."""
    reg = open_reg(registry)
    with RedactionLock(reg) as lock:
        return _resume(reg, RedactReport(), lock)


def _resume(reg: Registry, rep: RedactReport, lock: RedactionLock) -> RedactReport:
    for key in pending_journals(reg):
        apply_journal(reg, key, rep, lock)
        rep.resumed.append(key)
    return rep


# -- the verb ---------------------------------------------------------------------------------

def redact(table: str, where: str, *, reason: str, packages: Optional[list[str]] = None,
           all_packages: bool = False, registry: "Registry | str | None" = None,
           who: Optional[str] = None) -> RedactReport:
    """Remove the rows of ``table`` matching ``where`` from every version of ``packages`` (or of every
    package with ``all_packages``) that holds them; see the module docstring."""
    from lakepkg.config import author

    if not reason or not reason.strip():
        raise ConfigError("a redaction needs a reason: give --reason TEXT (it goes into the audit log)")
    if not packages and not all_packages:
        raise ConfigError("say which packages to redact: --package NAME (repeatable) or --all")
    if packages and all_packages:
        raise ConfigError("give --package NAME or --all, not both")
    reg = open_reg(registry)
    pred = parse_predicate(where, table)
    who = who or author()
    done: set[str] = set()
    with RedactionLock(reg) as lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactedVersionWarning)
        rep = _resume(reg, RedactReport(), lock)
        rep.table, rep.predicate = table, pred.digest
        for rnd in range(MAX_ROUNDS):
            names = package_scope(reg, packages)
            key = _plan_round(reg, pred, names, reason, who, done, rep, lock, first=(rnd == 0 and not rep.resumed))
            if key is None:
                break
            rep.rounds += 1
            _fault("journal")
            apply_journal(reg, key, rep, lock)
    return rep


def _plan_round(reg: Registry, pred: Predicate, names: list[str], reason: str, who: str, done: set[str],
                rep: RedactReport, lock: RedactionLock, first: bool) -> Optional[str]:
    """Plan, build and commit (journal) one round: the journal key, or None when no version in scope
    holds matching rows."""
    planned = datetime.now(timezone.utc)
    planned_stamp = stamp(planned)
    recs = [r for n in names for r in reg.versions(n) if r.key not in done]
    rw = Rewriter(reg, pred)
    affected = []
    if recs:
        try:
            tables = rw.search.tables(recs)
        except NotFoundError:
            if first:
                raise
            tables = []
        for rec, h, node in _beating(tables, lock):
            try:
                matched = {e["key"]: n for e, n in rw.search.matches(rec, h, node)}
            except MissingObjectError as exc:
                rep.problems.append(f"{rec.package}@{rec.short} cannot be searched ({exc}); re-snapshot it")
                continue
            if matched:
                affected.append((rec, h, node, matched))
    rep.fragments_considered += rw.search.considered
    rep.fragments_read += rw.search.read
    done.update(r.key for r in recs)
    if not affected:
        if first:
            raise NotFoundError(f"no row of table {pred.table!r} matches --where {pred.text!r} in the {len(recs)} "
                                f"versions searched; nothing changed")
        return None
    # refuse when a version outside the scope shares a fragment that holds matching rows
    scope = set(names)
    marker_objects = set()
    for rec, _h, node, matched in affected:
        for e in iter_page_entries(reg.store, node.pages):
            if e["key"] in matched:
                marker_objects.add(e["object"])
    affected_keys = {r.key for r, _, _, _ in affected}
    keep: set[str] = set()  # what every other version names (each walked once)
    for r in _beating(reg.iter_all_records(), lock):
        if r.key in affected_keys:
            continue
        objs = live_objects(reg, [r])
        if r.package not in scope and marker_objects & objs:
            raise ConfigError(f"{r.package}@{r.short} (outside the packages named) holds the same fragments with "
                              f"matching rows; add --package {r.package} or use --all; nothing changed")
        keep |= objs
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    jid = journal_id("redact", planned, secrets.token_hex(4))
    event = {"at": now, "reason": reason, "table": pred.table, "predicate": pred.digest, "journal": jid}
    items = []
    for rec, h, node, matched in affected:
        items.append(_plan_version(reg, rw, rec, h, node, set(matched), event))
        lock.beat()
    mapping = {it["old_top_hash"]: it["top_hash"] for it in items}
    for it in items:  # a successor's parent is the successor of its parent when both were redacted
        p = it["record"].get("parent")
        if p in mapping:
            it["record"]["parent"] = mapping[p]
        rec = VersionRecord.from_json(it["record"])  # sealed key: the time stamp of the version it replaces
        it["successor_key"] = record_key(rec.package, rec.created, rec.top_hash, canonical_json(rec.to_json()))
    old_objs: set[str] = set()
    for rec, _, _, _ in affected:
        old_objs.update(version_objects(reg, rec))
    new_objs = live_objects(reg, [VersionRecord.from_json(it["record"]) for it in items])
    delete = sorted(old_objs - new_objs - keep)
    lingering = marker_objects - set(delete)
    if lingering:
        rep.problems.append(f"{len(lingering)} fragments with matching rows are still named by other versions and were kept")
    _fault("built")
    doc = {"kind": "redact", "id": jid, "created_at": now, "planned_stamp": planned_stamp, "who": who,
           "reason": reason, "table": pred.table, "predicate": pred.digest, "versions": items, "delete": delete,
           "audit_seq": None}
    key = journal_key(jid)
    gone = [it for it in items if not reg.has_record(it["old_key"])]
    if gone:  # removed meanwhile (rm refuses versions of a pending journal, not of a plan): committing would revive it
        raise ConcurrentUpdateError(f"{gone[0]['package']}@{gone[0]['old_top_hash'][:10]} was removed during the "
                                    f"redaction; nothing was committed, re-run")
    lock.beat()
    if not reg.write_doc(key, doc, create=True):
        raise LakepkgError(f"redaction journal {key} exists already; re-run")
    done.update(it["successor_key"] for it in items)
    return key

