"""Garbage collection: remove objects no version references.

An object younger than the grace period is never removed, so a publish in
flight (objects written, record not yet created) is safe. Objects a version
names are kept; a version whose manifest cannot be read stops gc (it would
otherwise delete what that version needs).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from lakepkg.errors import LakepkgError
from lakepkg.registry import Registry
from lakepkg.maintain.verify import referenced_objects

DEFAULT_GRACE_SECONDS = 24 * 3600


@dataclass
class GcReport:
    referenced: int = 0
    scanned: int = 0
    removed: int = 0
    bytes_removed: int = 0
    kept_young: int = 0
    views_removed: int = 0
    dry_run: bool = False
    removed_digests: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["removed_digests"] = d["removed_digests"][:1000]
        return d


def collect_garbage(registry: Registry, grace_seconds: float = DEFAULT_GRACE_SECONDS, dry_run: bool = False) -> GcReport:
    """Delete unreferenced objects older than ``grace_seconds``."""
    rep = GcReport(dry_run=dry_run)
    live: set[str] = set()
    for rec in itertools.chain(registry.iter_all_records(), registry.pending_records()):  # + a pending redaction's successors
        try:
            live.update(d for d, _ in referenced_objects(registry, rec.top_hash, rec.sources))
        except LakepkgError as exc:
            raise LakepkgError(f"gc stopped: version {rec.package}@{rec.top_hash[:10]} cannot be read ({exc}); fix it with `lakepkg verify` first") from None
    rep.referenced = len(live)
    cutoff = time.time() - grace_seconds
    for info in registry.store.iter_objects():
        rep.scanned += 1
        if info.digest in live:
            continue
        if info.mtime > cutoff:
            rep.kept_young += 1
            continue
        rep.removed += 1
        rep.bytes_removed += info.size
        rep.removed_digests.append(info.digest)
        if not dry_run:
            registry.store.delete(info.digest)
    from lakepkg.spark.local_view import prune_views  # Spark's symlink views of table nodes (local registries)

    rep.views_removed = prune_views(registry.store, live, cutoff, dry_run)
    temps = getattr(registry.store, "iter_temporaries", None)
    if temps is not None and not dry_run:
        for path, mtime in list(temps()):
            if mtime <= cutoff:
                registry.store.clear_temporary(path)
    return rep
