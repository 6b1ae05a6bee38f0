"""gc coordination: a gc announces itself (``gc/active/<id>.json``, with its grace) while it runs, so
a publish that may overlap it knows which objects to renew (docs/store.md)."""
from __future__ import annotations

import math
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, Optional

from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.registry.base import RegistryBase
from lakepkg.registry.keys import GC_PREFIX, utc_now

GC_SKEW = timedelta(minutes=10)          # clock difference tolerated between machines
GC_KEEP_FINISHED = timedelta(days=1)     # a finished gc's announcement is kept this long
GC_STALE = timedelta(days=7)             # a gc announced this long ago was killed


class GcCoordination(RegistryBase):
    """Announcements of running gcs, the window a publish must renew against, and the removal of
    leftovers of interrupted writes."""

    def gc_begin(self, grace_seconds: float) -> tuple[str, float]:
        """Announce a gc with this grace; returns (token, start time in the metadata store's clock).
        A publish whose confirmation may overlap the gc renews every object it names that is older
        than the grace after writing its record, so the gc cannot take them. Announcements of gcs
        that finished more than a day ago, or started more than a week ago, are removed here."""
        if not isinstance(grace_seconds, (int, float)) or not math.isfinite(grace_seconds) or grace_seconds < 0:
            raise ConfigError(f"gc grace {grace_seconds!r} is not a finite, non-negative number of seconds; give e.g. --grace-hours 24")
        for key, doc in self._gc_announcements():
            done, started = doc.get("finished"), doc.get("started")
            if (done is not None and utc_now() - done > GC_KEEP_FINISHED) or (started is not None and utc_now() - started > GC_STALE):
                self.meta.delete(key)
        key = f"{GC_PREFIX}{uuid.uuid4().hex}.json"
        doc = {"grace_seconds": float(grace_seconds), "started_at": utc_now().isoformat()}
        self.meta.create(key, canonical_json(doc))
        started_at = self.meta.mtime(key)
        return key, started_at if started_at is not None else time.time()

    def gc_end(self, token: str) -> None:
        """Mark the announced gc finished (kept a while: a publish that began before it ended must
        still see that it ran)."""
        if not token.startswith(GC_PREFIX):
            return
        got = self.meta.read(token)
        if got is None:
            return
        doc = load_json(got[0], token)
        doc["finished_at"] = utc_now().isoformat()
        self.meta.replace(token, canonical_json(doc), got[1])

    def _gc_announcements(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for key in self.meta.list(GC_PREFIX):
            got = self.meta.read(key)
            if got is None:
                continue
            try:
                doc = load_json(got[0], key)
                g = float(doc["grace_seconds"])
                parsed = {"grace": max(0.0, g) if math.isfinite(g) else 0.0,
                          "started": datetime.fromisoformat(doc["started_at"]),
                          "finished": datetime.fromisoformat(doc["finished_at"]) if doc.get("finished_at") else None}
            except (LakepkgError, KeyError, TypeError, ValueError):
                parsed = {"grace": 0.0, "started": None, "finished": None}  # unreadable: assume the strictest
            out.append((key, parsed))
        return out

    def gc_window(self, since: Optional[datetime] = None) -> Optional[float]:
        """The smallest grace of the gcs that are running, or finished after ``since`` (less
        ``GC_SKEW`` for clocks of other machines); None when no gc can have overlapped."""
        graces = []
        for _key, doc in self._gc_announcements():
            done = doc["finished"]
            if done is None or since is None or done >= since - GC_SKEW:
                graces.append(doc["grace"])
        return min(graces) if graces else None

    def gc_active_grace(self) -> Optional[float]:
        """The smallest grace of the gcs running now (None when none is)."""
        return self.gc_window(since=utc_now() + GC_SKEW)

    def clear_temporaries(self, cutoff: float, dry_run: bool = False) -> int:
        """Remove leftovers of interrupted writes older than ``cutoff`` (epoch seconds): the store's
        temporaries and the metadata backend's. Returns how many."""
        n = 0
        for owner in (self.store, self.meta):
            for tmp, mtime in list(owner.iter_temporaries()):
                if mtime < cutoff:
                    n += 1
                    if not dry_run:
                        owner.clear_temporary(tmp)
        return n

