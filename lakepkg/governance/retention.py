"""Retention: a per-package policy of which versions to keep, applied on demand.

A version is kept when ANY rule of its package's policy keeps it: it is one of the last
``keep_last`` versions, younger than ``keep_days`` days, named by a tag (``keep_tagged``), or
pinned by one of the ``keep_locks`` lock files. Everything else goes when the policy is applied
(``lakepkg retain --apply``; a dry run by default lists what would go and the bytes then freed),
through the same removal as ``lakepkg rm`` (one audit entry per run), then ``gc`` frees the
objects no remaining version names. A policy that would remove every version of its package is
refused unless forced. The policy is kept in the registry (``packages/<name>/retention.json``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from lakepkg.errors import ConfigError, NotFoundError
from lakepkg.format.names import validate_package_name
from lakepkg.governance.audit import record_event
from lakepkg.governance.objects import sizes
from lakepkg.governance.remove import RemoveReport, freed_by, open_reg, remove_versions
from lakepkg.registry import LATEST, Registry, VersionRecord
from lakepkg.registry.keys import retention_key


@dataclass
class RetentionPolicy:
    """Which versions of one package to keep."""

    keep_last: Optional[int] = None
    keep_days: Optional[float] = None
    keep_tagged: bool = False
    keep_locks: list[str] = field(default_factory=list)
    set_at: str = ""
    set_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "RetentionPolicy":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def describe(self) -> str:
        parts = []
        if self.keep_last is not None:
            parts.append(f"last {self.keep_last}")
        if self.keep_days is not None:
            parts.append(f"younger than {self.keep_days:g} days")
        if self.keep_tagged:
            parts.append("tagged")
        if self.keep_locks:
            parts.append("pinned by " + ", ".join(self.keep_locks))
        return "keep " + (" or ".join(parts) or "nothing")


@dataclass
class RetentionPlan:
    """What a policy keeps and removes in one package."""

    package: str
    policy: RetentionPolicy
    keep: list[dict[str, Any]] = field(default_factory=list)     # version + why
    remove: list[VersionRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "policy": self.policy.to_json(), "keep": self.keep,
                "remove": [{"top_hash": r.top_hash, "version": r.key, "created_at": r.created_at} for r in self.remove]}


@dataclass
class RetentionReport:
    """A retention run over one or more packages.

    The object counts say what gc did, never more: ``objects_unreferenced`` are the objects only the
    removed versions named (a dry run: would name); of those, gc deleted ``objects_freed`` in this
    run (0 in a dry run) and keeps ``objects_pending`` until they are older than the grace period —
    exactly what a later ``lakepkg gc`` past the grace removes of them. ``gc`` is gc's own report,
    which also counts unreferenced objects of earlier removals."""

    plans: list[RetentionPlan] = field(default_factory=list)
    dry_run: bool = True
    grace_seconds: float = 0.0
    objects_unreferenced: int = 0
    bytes_unreferenced: int = 0
    objects_freed: int = 0
    bytes_freed: int = 0
    objects_pending: int = 0
    bytes_pending: int = 0
    removal: Optional[RemoveReport] = None
    gc: Optional[dict[str, Any]] = None

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "plans": [p.to_json() for p in self.plans],
                "grace_seconds": self.grace_seconds,
                "objects_unreferenced": self.objects_unreferenced, "bytes_unreferenced": self.bytes_unreferenced,
                "objects_freed": self.objects_freed, "bytes_freed": self.bytes_freed,
                "objects_pending": self.objects_pending, "bytes_pending": self.bytes_pending,
                "removal": self.removal.to_json() if self.removal else None, "gc": self.gc}

    def objects_line(self, human: Callable[[int], str]) -> str:
        """One line on the objects: what is unreferenced, what gc freed, what waits for the grace."""
        grace = f"the grace period ({self.grace_seconds / 3600:g} h)"
        if self.dry_run:
            return (f"{self.objects_unreferenced} objects ({human(self.bytes_unreferenced)}) would be unreferenced; "
                    f"`lakepkg retain --apply` runs gc, which frees those older than {grace}")
        line = (f"{self.objects_unreferenced} objects ({human(self.bytes_unreferenced)}) unreferenced: gc freed "
                f"{self.objects_freed} ({human(self.bytes_freed)})")
        if self.objects_pending:
            line += (f"; {self.objects_pending} ({human(self.bytes_pending)}) younger than {grace} stay until "
                     f"`lakepkg gc` runs after it")
        other = (self.gc or {}).get("removed", 0) - self.objects_freed
        if other > 0:
            line += f"; gc also removed {other} objects earlier removals had left"
        return line


def get_policy(registry: "Registry | str | None", name: str) -> Optional[RetentionPolicy]:
    """The retention policy of ``name``, or None."""
    reg = open_reg(registry)
    got = reg.read_doc(retention_key(name))
    return RetentionPolicy.from_json(got[0]) if got else None


def evaluate(reg: Registry, name: str, policy: RetentionPolicy, now: Optional[datetime] = None) -> RetentionPlan:
    """Which versions of ``name`` the policy keeps (and why) and which it removes."""
    from lakepkg.maintain.lockfile import read_lockfile

    now = now or datetime.now(timezone.utc)
    recs = reg.versions(name)
    tagged: dict[str, list[str]] = {}
    for t, k in reg.tag_versions(name).items():
        if t != LATEST:
            tagged.setdefault(k, []).append(t)
    pinned: dict[str, str] = {}
    for path in policy.keep_locks:
        for e in read_lockfile(path):
            if e.name == name:
                pinned[e.top_hash] = path
    plan = RetentionPlan(name, policy)
    last = recs[-policy.keep_last:] if policy.keep_last else []
    last_keys = {r.key for r in last}
    for rec in recs:
        why = []
        if rec.key in last_keys:
            why.append(f"one of the last {policy.keep_last}")
        if policy.keep_days is not None and rec.created > now - timedelta(days=policy.keep_days):
            why.append(f"younger than {policy.keep_days:g} days")
        if policy.keep_tagged and rec.key in tagged:
            why.append("tagged " + ", ".join(sorted(tagged[rec.key])))
        if rec.top_hash in pinned:
            why.append(f"pinned by {pinned[rec.top_hash]}")
        if why:
            plan.keep.append({"top_hash": rec.top_hash, "version": rec.key, "why": why})
        else:
            plan.remove.append(rec)
    return plan


def _refuse_empty(plan: RetentionPlan, force: bool) -> None:
    if plan.remove and not plan.keep and not force:
        raise ConfigError(f"the retention policy ({plan.policy.describe()}) would remove every version of "
                          f"{plan.package}; loosen it or pass --force")


def set_policy(name: str, *, keep_last: Optional[int] = None, keep_days: Optional[float] = None,
               keep_tagged: bool = False, keep_locks: tuple[str, ...] = (), force: bool = False,
               registry: "Registry | str | None" = None, who: Optional[str] = None) -> RetentionPlan:
    """Store the retention policy of ``name`` (replacing any) and return what it would do now."""
    from lakepkg.config import author

    validate_package_name(name)
    if keep_last is None and keep_days is None and not keep_tagged and not keep_locks:
        raise ConfigError("a retention policy needs a rule: --keep-last N, --keep-days D, --keep-tagged or --keep-lock FILE")
    if keep_last is not None and keep_last < 0 or keep_days is not None and keep_days < 0:
        raise ConfigError("--keep-last and --keep-days must not be negative")
    reg = open_reg(registry)
    if name not in reg.list_packages():
        raise NotFoundError(f"package {name} not found in {reg.location}; `lakepkg ls` lists packages")
    locks = [os.path.abspath(p) for p in keep_locks]
    for p in locks:
        if not os.path.isfile(p):
            raise ConfigError(f"--keep-lock {p}: no such lock file")
    pol = RetentionPolicy(keep_last, keep_days, keep_tagged, locks,
                          datetime.now(timezone.utc).isoformat(timespec="seconds"), who or author())
    plan = evaluate(reg, name, pol)
    _refuse_empty(plan, force)
    key = retention_key(name)
    for _ in range(50):
        cur = reg.read_doc(key)
        if reg.write_doc(key, pol.to_json(), cur[1] if cur else None):
            break
    record_event(reg, "retention-policy", reason=pol.describe(), who=pol.set_by,
                 versions=[{"package": name}], policy=pol.to_json())
    return plan


def apply_retention(names: Optional[list[str]] = None, *, apply: bool = False, force: bool = False,
                    registry: "Registry | str | None" = None, grace_seconds: Optional[float] = None,
                    who: Optional[str] = None) -> RetentionReport:
    """Evaluate the policies of ``names`` (default: every package with one). With ``apply`` the
    versions they do not keep are removed (one audit entry) and ``gc`` runs with ``grace_seconds``
    (default gc's); without it, a dry run."""
    from lakepkg.maintain.gc import DEFAULT_GRACE_SECONDS, collect_garbage

    reg = open_reg(registry)
    if names:
        todo = []
        for n in names:
            pol = get_policy(reg, n)
            if pol is None:
                raise NotFoundError(f"{n} has no retention policy; set one with `lakepkg retain {n} --keep-last N …`")
            todo.append((n, pol))
    else:
        todo = [(n, p) for n in reg.list_packages() for p in [get_policy(reg, n)] if p is not None]
    grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
    rep = RetentionReport(dry_run=not apply, grace_seconds=float(grace))
    for n, pol in todo:
        plan = evaluate(reg, n, pol)
        _refuse_empty(plan, force)
        rep.plans.append(plan)
    gone = [r for p in rep.plans for r in p.remove]
    if not gone:
        return rep
    # each object's size now, while it is still stored (nodes and pages: asked of the store)
    freed = {d: sizes(reg.store, {d: n}) for d, n in freed_by(reg, gone).items()}
    rep.objects_unreferenced, rep.bytes_unreferenced = len(freed), sum(freed.values())
    if apply:
        rep.removal = remove_versions(reg, gone, reason="retention: " + "; ".join(f"{p.package}: {p.policy.describe()}" for p in rep.plans if p.remove),
                                      action="retain", force=True, who=who)
        g = collect_garbage(reg, grace)
        rep.gc = {"removed": g.removed, "bytes_removed": g.bytes_removed, "kept_young": g.kept_young}
        # what gc deleted of these versions' objects, and what it kept (young; on S3 also the ones
        # inside its clock margin): counted from gc's own list, so the next gc past the grace agrees
        done = set(g.removed_digests)
        now_freed = [n for d, n in freed.items() if d in done]
        kept = [n for d, n in freed.items() if d not in done]
        rep.objects_freed, rep.bytes_freed = len(now_freed), sum(now_freed)
        rep.objects_pending, rep.bytes_pending = len(kept), sum(kept)
    return rep
