"""The merge base of two versions, from their history.

A version's parents are read from its record: ``parent`` (the version of the same package it
followed), ``derived_from`` (the version a clone or derived package came from) and, for a merge,
``merge.parents`` (both sides). The common ancestors of the two versions are the versions
reachable from both; the merge base is a common ancestor that no other common ancestor
descends from. When several are left (a criss-cross: two merges that each took the other side),
the one recorded last is taken (Dolt, too, picks one base instead of building a virtual one).
Versions are identified by top hash: two records with the same top hash are the same content.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable, Optional

from lakepkg.errors import LakepkgError
from lakepkg.registry import Registry, VersionRecord

MAX_VERSIONS = 100_000  # a walk that reaches more versions than this stops (a history that large is an error)


class History:
    """Reads version records once and walks their parents."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._versions: dict[str, list[VersionRecord]] = {}

    def _records(self, package: str) -> list[VersionRecord]:
        if package not in self._versions:
            try:
                self._versions[package] = self.registry.versions(package)
            except LakepkgError:  # a package removed or unreadable: its versions are no longer ancestors
                self._versions[package] = []
        return self._versions[package]

    def _find(self, package: Optional[str], top_hash: str, before: Optional[str] = None) -> Optional[VersionRecord]:
        if not package:
            return None
        recs = [r for r in self._records(package) if r.top_hash == top_hash]
        if before is not None:
            older = [r for r in recs if r.created_at <= before]
            recs = older or recs
        return recs[-1] if recs else None

    def parents(self, rec: VersionRecord) -> list[VersionRecord]:
        """The records ``rec`` names as its parents (the ones still in the registry)."""
        out: list[VersionRecord] = []
        refs: list[tuple[Optional[str], str]] = []
        if rec.parent:
            refs.append((rec.package, rec.parent))
        for r in [rec.derived_from] + list((rec.merge or {}).get("parents") or []):
            if not r:
                continue
            name, sep, h = str(r).rpartition("@")
            refs.append((name if sep else None, h if sep else str(r)))
        for pkg, h in refs:
            found = self._find(pkg, h, rec.created_at)
            if found is not None and (found.top_hash, found.package) != (rec.top_hash, rec.package):
                out.append(found)
        return out

    def ancestors(self, rec: VersionRecord) -> dict[str, VersionRecord]:
        """Every version reachable from ``rec`` (itself included), by top hash."""
        seen: dict[str, VersionRecord] = {rec.top_hash: rec}
        todo = deque([rec])
        while todo and len(seen) < MAX_VERSIONS:
            for p in self.parents(todo.popleft()):
                if p.top_hash not in seen:
                    seen[p.top_hash] = p
                    todo.append(p)
        return seen


def merge_base(registry: Registry, ours: VersionRecord, theirs: VersionRecord,
               history: Optional[History] = None) -> Optional[VersionRecord]:
    """The merge base of ``ours`` and ``theirs`` (see the module docstring), or None when they
    share no history."""
    h = history or History(registry)
    a, b = h.ancestors(ours), h.ancestors(theirs)
    common = {k: v for k, v in a.items() if k in b}
    if not common:
        return None
    best = _best(common.values(), h)
    return max(best, key=lambda r: (r.created_at, r.top_hash))


def _best(common: Iterable[VersionRecord], h: History) -> list[VersionRecord]:
    recs = list(common)
    keys = {r.top_hash for r in recs}
    dominated: set[str] = set()
    for r in recs:
        if r.top_hash in dominated:
            continue
        for k in h.ancestors(r):
            if k != r.top_hash and k in keys:
                dominated.add(k)
    return [r for r in recs if r.top_hash not in dominated]
