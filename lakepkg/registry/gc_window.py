"""gc coordination: a gc announces itself (``gc/active/<id>.json``) while it runs, with its grace, its
start and its horizon (every object written since is spared) in the metadata store's clock, and a
heartbeat; a publish that may overlap it waits for it to finish and confirms its objects
(docs/store.md, "gc and publish"). Writers' leases (:mod:`lakepkg.registry.leases`) set the horizon."""
from __future__ import annotations

import math
import time
import uuid
from datetime import datetime, timedelta
from dataclasses import dataclass
from typing import Any, Optional

from lakepkg.config import setting
from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.registry.leases import CLOCK_STEP, Heartbeat, Leases
from lakepkg.registry.keys import GC_PREFIX, utc_now

GC_SKEW = timedelta(minutes=10)          # clock difference tolerated between machines
GC_KEEP_FINISHED = timedelta(days=1)     # a finished gc's announcement is kept this long
GC_STALE = timedelta(days=7)             # a gc announced this long ago was killed
DEFAULT_GC_BEAT = 30.0                   # seconds between a running gc's heartbeats
REQUEST_TIMEOUT = 180.0                  # a dead gc's last request is over after this long (S3 retries)
_BEATS: dict[str, Heartbeat] = {}        # token -> heartbeat of the gcs this process runs


def gc_beat_seconds() -> float:
    """Seconds between a running gc's heartbeats (setting ``gc_beat_seconds``, default 30)."""
    try:
        beat = float(setting("gc_beat_seconds", None, DEFAULT_GC_BEAT))
    except (TypeError, ValueError):
        beat = -1.0
    if not 0 < beat < float("inf"):
        raise ConfigError("setting gc_beat_seconds is not a positive number of seconds; fix it in the lakepkg config")
    return beat


@dataclass(frozen=True)
class GcRun:
    """A gc as a publish sees it, in the metadata store's clock: when it started, its last write
    (heartbeat), when it finished (None while it runs) and how long without a beat means dead."""

    key: str
    started: float
    last_write: float
    finished: Optional[float]
    dead_after: float

    def ended(self, now: float) -> Optional[float]:
        """When it stopped deleting: its finish, or (killed) its last beat plus the time a request
        may still take; None while it may still delete."""
        if self.finished is not None:
            return self.finished
        if self.last_write + self.dead_after < now:
            return self.last_write + self.dead_after
        return None


class GcCoordination(Leases):
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
        beat = gc_beat_seconds()
        doc = {"grace_seconds": float(grace_seconds), "started_at": utc_now().isoformat(), "beat_seconds": beat}
        self.meta.create(key, canonical_json(doc))
        started_at = self.meta.mtime(key)
        started = started_at if started_at is not None else time.time()
        hb = Heartbeat(self.meta, key, lambda: {}, beat)
        _BEATS[key] = hb
        hb.write(started_server=started)
        return key, started

    def gc_horizon(self, token: str, started: float, grace_seconds: float) -> float:
        """The gc's horizon (store clock): objects written since are spared. It is ``started - grace``,
        or earlier: the start of the oldest lease live at ``started``, less :data:`CLOCK_STEP`.
        Recorded in the announcement."""
        horizon = started - float(grace_seconds)
        for lease in self.leases():
            if lease.live_at(started):
                horizon = min(horizon, lease.started - CLOCK_STEP)
        hb = _BEATS.get(token)
        if hb is not None:
            hb.write(horizon=horizon)
        return horizon

    def gc_end(self, token: str) -> None:
        """Mark the announced gc finished (kept a while: a publish that began before it ended must
        still see that it ran)."""
        if not token.startswith(GC_PREFIX):
            return
        hb = _BEATS.pop(token, None)
        if hb is not None:
            hb.stop()
            hb.write(finished_at=utc_now().isoformat())  # its mtime is the finish in the store's clock
            return
        got = self.meta.read(token)
        if got is None:
            return
        doc = load_json(got[0], token)
        doc["finished_at"] = utc_now().isoformat()
        self.meta.replace(token, canonical_json(doc), got[1])

    def gc_runs(self) -> list[GcRun]:
        """Every announced gc (running, finished within a day, or killed), in the store's clock."""
        out = []
        for key, mtime in self.meta.listing(GC_PREFIX):
            got = self.meta.read(key)
            if got is None:
                continue
            try:
                doc = load_json(got[0], key)
                started = float(doc.get("started_server", mtime))
                beat = float(doc.get("beat_seconds", DEFAULT_GC_BEAT))
                finished = mtime if doc.get("finished_at") else None
            except (LakepkgError, TypeError, ValueError, AttributeError):
                started, beat, finished = float("-inf"), DEFAULT_GC_BEAT, None  # unreadable: it overlaps, runs
            out.append(GcRun(key, min(started, mtime), mtime, finished, 3 * beat + REQUEST_TIMEOUT))
        return out

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

