"""Garbage collection: remove objects no version references.

gc announces itself in the registry (with its grace, and a heartbeat while it
runs), takes its start time from that announcement, reads the writers' leases
and sets its horizon: ``start - grace``, or the start of the oldest live lease
if earlier. It then lists every version's objects and deletes an unreferenced
object only if it was neither written nor renewed since the horizon (checked
once more just before the delete). A leased publish that may have overlapped a
gc waits for it to end and confirms its objects; a publish without a lease
confirms them before its record and again after (docs/store.md, "gc and
publish"), so no published version ever misses an object, whatever the grace
(0 included: a racing publish may then fail and say to re-run). A
version whose manifest cannot be read stops gc (it would otherwise delete what
that version needs). Derived files above the store (Spark's views) are pruned
by their registered keepers (:mod:`lakepkg.maintain.keepers`); leftovers of
interrupted writes (object and metadata temporaries) are removed too.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.maintain.keepers import keepers
from lakepkg.maintain.verify import referenced_objects
from lakepkg.registry import Registry

DEFAULT_GRACE_SECONDS = 24 * 3600


@dataclass
class GcReport:
    referenced: int = 0
    scanned: int = 0
    removed: int = 0
    bytes_removed: int = 0
    kept_young: int = 0
    views_removed: int = 0        # derived files removed by keepers (Spark views)
    temporaries_removed: int = 0
    leases_expired: int = 0       # leases of writers gone long ago, removed
    dry_run: bool = False
    removed_digests: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["removed_digests"] = d["removed_digests"][:1000]
        return d


def check_grace(grace_seconds: Any) -> float:
    """A grace must be a finite, non-negative number of seconds."""
    try:
        g = float(grace_seconds)
    except (TypeError, ValueError):
        g = math.nan
    if isinstance(grace_seconds, bool) or not math.isfinite(g) or g < 0:
        raise ConfigError(f"gc grace {grace_seconds!r} is not a finite, non-negative duration; give e.g. --grace-hours 24")
    return g


def collect_garbage(registry: Registry, grace_seconds: float = DEFAULT_GRACE_SECONDS, dry_run: bool = False) -> GcReport:
    """Delete unreferenced objects older than ``grace_seconds``."""
    grace = check_grace(grace_seconds)
    rep = GcReport(dry_run=dry_run)
    token, started = registry.gc_begin(grace)
    try:
        cutoff = registry.gc_horizon(token, started, grace)  # earlier than started - grace while a lease is live
        live: set[str] = set()
        for rec in itertools.chain(registry.iter_all_records(), registry.pending_records()):  # + a pending redaction's successors
            try:
                live.update(d for d, _ in referenced_objects(registry, rec.top_hash, rec.sources))
            except LakepkgError as exc:
                raise LakepkgError(f"gc stopped: version {rec.package}@{rec.top_hash[:10]} cannot be read ({exc}); fix it with `lakepkg verify` first") from None
        rep.referenced = len(live)
        store = registry.store
        for info in store.iter_objects():
            rep.scanned += 1
            if info.digest in live:
                continue
            if info.mtime >= cutoff:
                rep.kept_young += 1
                continue
            if dry_run:
                removed = True
            else:
                removed = store.delete_if_stale(info.digest, cutoff)
            if not removed:
                rep.kept_young += 1
                continue
            rep.removed += 1
            rep.bytes_removed += info.size
            rep.removed_digests.append(info.digest)
        for keeper in keepers().values():
            rep.views_removed += keeper(store, live, cutoff, dry_run)
        # a temporary is not an object yet: the grace alone protects it, as before leases (a killed
        # writer's leftovers go at once at grace 0; a live writer that loses one fails and says re-run)
        rep.temporaries_removed = registry.clear_temporaries(started - grace, dry_run)
        rep.leases_expired = registry.clear_expired_leases(started, dry_run)
    finally:
        registry.gc_end(token)
    return rep
