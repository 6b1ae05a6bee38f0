"""Removing versions from a package's history: ``lakepkg rm NAME@REF --reason TEXT``.

A removal is written to the audit log first, then tags are moved off the version (``latest`` to
the newest remaining version, or away when none is left; any other tag only with ``force``), then
the version record is deleted. Its objects stay in the store until ``lakepkg gc``, which frees
every object no remaining version names (after gc's grace period, so a publish in flight that
reuses one of them is safe). A crash at any point leaves the version either listed or not, and a
re-run finishes the job.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

from lakepkg.errors import ConfigError, InvalidRefError
from lakepkg.format.names import parse_ref
from lakepkg.governance.audit import record_event
from lakepkg.governance.objects import live_objects, sizes, version_objects
from lakepkg.registry import LATEST, Registry, VersionRecord, open_registry
from lakepkg.registry.keys import JOURNAL_PREFIX
from lakepkg.registry.refs import RedactedVersionWarning


@dataclass
class RemoveReport:
    """What a removal did (or, for a retention dry run, would do)."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    tags_deleted: list[str] = field(default_factory=list)
    latest: dict[str, Optional[str]] = field(default_factory=dict)   # package -> top hash latest names now
    objects_freed: int = 0
    bytes_freed: int = 0
    audit_seq: Optional[int] = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def headline(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        what = ", ".join(f"{v['package']}@{v['top_hash'][:10]}" for v in self.versions[:5]) or "nothing"
        more = f" and {len(self.versions) - 5} more" if len(self.versions) > 5 else ""
        return (f"{verb} {what}{more}; {self.objects_freed} objects ({self.bytes_freed:,} bytes) are then unreferenced"
                + ("" if self.dry_run else ": `lakepkg gc` frees them"))


def open_reg(registry: "Registry | str | None") -> Registry:
    return open_registry(registry)


def resolve_quietly(reg: Registry, ref: str) -> VersionRecord:
    """Resolve without the redaction notice (the caller reports what it does)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactedVersionWarning)
        return reg.resolve(ref)


def tags_of(reg: Registry, rec: VersionRecord) -> list[str]:
    """Tags (``latest`` included) that name the record ``rec``."""
    by_key = reg.tag_versions(rec.package)
    out = {t for t, k in by_key.items() if k == rec.key}
    out.update(t for t, h in reg.tags(rec.package).items() if t not in by_key and h == rec.top_hash)
    return sorted(out)


def freed_by(reg: Registry, removed: list[VersionRecord]) -> dict[str, Optional[int]]:
    """Objects (digest → size if known) the ``removed`` versions name and no other version does."""
    gone = {r.key for r in removed}
    own: dict[str, Optional[int]] = {}
    for r in removed:
        own.update(version_objects(reg, r))
    keep = live_objects(reg, (r for r in reg.iter_all_records() if r.key not in gone))
    return {d: n for d, n in own.items() if d not in keep}


def _pending_old_keys(reg: Registry) -> set[str]:
    out: set[str] = set()
    for key in reg.list_docs(JOURNAL_PREFIX):
        got = reg.read_doc(key)
        if got is not None:
            out.update(str(v.get("old_key")) for v in got[0].get("versions") or [])
    return out


def remove_versions(reg: Registry, recs: list[VersionRecord], *, reason: str, action: str = "rm",
                    force: bool = False, who: Optional[str] = None, details: Optional[dict[str, Any]] = None,
                    dry_run: bool = False) -> RemoveReport:
    """Remove ``recs`` (see the module docstring). ``force``: also delete tags other than ``latest``
    that name them; without it such a version is refused."""
    if not reason or not reason.strip():
        raise ConfigError("a removal needs a reason: give --reason TEXT (it goes into the audit log)")
    pending = {r.key for r in reg.pending_records()} | _pending_old_keys(reg)
    busy = [r for r in recs if r.key in pending]
    if busy:
        raise ConfigError(f"a redaction of {busy[0].package}@{busy[0].short} is pending; finish it first with "
                          f"`lakepkg redact --resume`")
    rep = RemoveReport(dry_run=dry_run)
    tagged = {r.key: [t for t in tags_of(reg, r) if t != LATEST] for r in recs}
    held = [f"{r.package}@{r.short} ({', '.join(tagged[r.key])})" for r in recs if tagged[r.key]]
    if held and not force:
        raise ConfigError(f"{held[0]} is tagged; move the tag first (`lakepkg tag NAME TAG OTHER`) or pass --force")
    freed = freed_by(reg, recs)
    rep.objects_freed, rep.bytes_freed = len(freed), sizes(reg.store, freed)
    rep.versions = [{"package": r.package, "top_hash": r.top_hash, "version": r.key, "created_at": r.created_at,
                     "tags": tagged[r.key]} for r in recs]
    if dry_run:
        return rep
    entry = record_event(reg, action, reason=reason, who=who, versions=rep.versions, objects=list(freed),
                         **(details or {}))
    rep.audit_seq = entry["seq"]
    gone = {r.key for r in recs}
    for name in sorted({r.package for r in recs}):
        remaining = [s for s in reg.history(name) if s.key not in gone]
        newest = reg.record(remaining[-1].key) if remaining else None
        for r in (x for x in recs if x.package == name):
            reg.move_tag_off(name, LATEST, r.key, newest)
            for t in tagged[r.key]:
                if reg.move_tag_off(name, t, r.key, None):
                    rep.tags_deleted.append(f"{name}:{t}")
            reg.delete_version(r.key)
        reg.repair_latest(name)  # a publish that raced the removal keeps its latest
        rep.latest[name] = reg.tags(name).get(LATEST)
    return rep


def rm(ref: str, *, reason: str, force: bool = False, registry: "Registry | str | None" = None,
       who: Optional[str] = None) -> RemoveReport:
    """Remove the version ``ref`` names (``NAME@HASH``, ``NAME:TAG`` or ``NAME@TIME``) from its history.

    A version a tag other than ``latest`` names needs ``force`` (the tag is deleted) or the tag
    moved first; ``latest`` moves to the newest remaining version, or goes when none is left."""
    reg = open_reg(registry)
    r = parse_ref(ref, allow_path=False)
    if "@" not in ref and ":" not in ref:
        raise InvalidRefError(f"give the version to remove: {r.name}@HASH, {r.name}:TAG or {r.name}@TIME "
                              f"(`lakepkg log {r.name}` lists versions)")
    rec = resolve_quietly(reg, ref)
    return remove_versions(reg, [rec], reason=reason, force=force, who=who)
