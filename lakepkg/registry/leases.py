"""Writer leases: a build announces itself before its first write, so gc spares what it writes.

A lease is one small document, ``leases/<id>.json``, created before the build's first write and
rewritten by a heartbeat every third of its time to live; the build deletes it once its version is
recorded (or when it gives up). gc reads the live leases right after announcing itself and spares
every object written since the oldest one started. Every time here is a time of the metadata
store's clock (S3's LastModified, or the local file system's mtime), never a machine's own clock, so
clock skew between the machines of a writer and a gc does not enter; S3 gives whole seconds, so
each comparison keeps a margin of :data:`CLOCK_STEP`.

A lease buys liveness, not safety: a writer killed or stalled past its time to live loses its lease,
gc may then take what it wrote, and its publish finds that out (:mod:`lakepkg.registry.publish`)
and refuses. docs/store.md gives the whole protocol and the argument.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Optional

from lakepkg.config import setting
from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.registry.backend import MetaBackend
from lakepkg.registry.base import RegistryBase
from lakepkg.registry.keys import LEASE_PREFIX, lease_key

CLOCK_STEP = 2.0              # S3 times are whole seconds: every comparison keeps this margin
DEFAULT_LEASE_TTL = 600.0     # seconds a lease lives without a heartbeat


def lease_ttl(override: Optional[float] = None) -> float:
    """A lease's time to live: ``override``, else setting ``lease_ttl_seconds`` (default 600)."""
    raw = setting("lease_ttl_seconds", override, DEFAULT_LEASE_TTL)
    try:
        ttl = float(raw)
    except (TypeError, ValueError):
        ttl = -1.0
    if not ttl > 0 or ttl == float("inf"):
        raise ConfigError(f"lease_ttl_seconds {raw!r} is not a positive number of seconds; fix it in the lakepkg config")
    return ttl


class Heartbeat:
    """Rewrites one metadata document every ``interval`` seconds in a daemon thread (its mtime is
    the beat), until :meth:`stop`. ``doc()`` gives the document to write."""

    def __init__(self, meta: MetaBackend, key: str, doc: Any, interval: float) -> None:
        self.meta, self.key, self._doc, self.interval = meta, key, doc, interval
        self._stop = threading.Event()
        self.lock = threading.Lock()  # held by whoever rewrites the document (the beat, its owner)
        self.last_beat = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"lakepkg-heartbeat {key}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.write()
            except LakepkgError:
                pass  # a missed beat: the next one retries; a lease that lapses is found out at publish

    def write(self, **extra: Any) -> bool:
        """Rewrite the document now (with ``extra`` fields merged in); False if it is gone."""
        with self.lock:
            for _ in range(20):
                cur = self.meta.read(self.key)
                if cur is None:
                    return False
                doc = {**load_json(cur[0], self.key), **self._doc(), **extra}
                if self.meta.replace(self.key, canonical_json(doc), cur[1]):
                    self.last_beat = time.monotonic()
                    return True
            return False

    def stop(self) -> None:
        self._stop.set()


class WriterLease:
    """A writer's lease: taken before its first write, held by a heartbeat, released at the end.

    ``started`` is the lease's creation time in the metadata store's clock; ``bases`` are the record
    keys of versions the writer reuses objects of (see :meth:`pin`); ``unpinned`` is set when it
    reused objects of a version it did not name (then its publish confirms every object whenever a
    gc may have overlapped it)."""

    def __init__(self, meta: MetaBackend, ttl: Optional[float] = None) -> None:
        self.meta = meta
        self.ttl = lease_ttl(ttl)
        self.id = uuid.uuid4().hex
        self.key = lease_key(self.id)
        doc = {"ttl_seconds": self.ttl, "host": socket.gethostname()[:100], "pid": os.getpid()}
        if not meta.create(self.key, canonical_json(doc)):  # pragma: no cover - a uuid4 clash
            raise LakepkgError(f"lease {self.key} exists already; re-run")
        started = meta.mtime(self.key)
        self.started: float = started if started is not None else meta.server_time()
        self.bases: set[str] = set()
        self.unpinned = False
        self.closed = False
        doc_started = {"started": self.started}  # not self: the beat thread must not keep the lease alive
        self._beat = Heartbeat(meta, self.key, lambda: doc_started, self.ttl / 3)
        self._beat.write()  # the creation time, in the store's clock, goes into the document
        self._finalizer = weakref.finalize(self, _release, self._beat, meta, self.key)

    def pin(self, record_key: Optional[str]) -> None:
        """The writer reuses objects of the version ``record_key`` (None: of a version it cannot name)."""
        if record_key:
            self.bases.add(record_key)
        else:
            self.unpinned = True

    def close(self) -> None:
        """Release the lease (idempotent)."""
        if not self.closed:
            self.closed = True
            self._finalizer()

    def __enter__(self) -> "WriterLease":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _release(beat: Heartbeat, meta: MetaBackend, key: str) -> None:
    beat.stop()
    try:
        with beat.lock:  # not while a beat is rewriting it
            meta.drop_single_writer_key(key)
    except LakepkgError:
        pass  # it expires by itself


@dataclass(frozen=True)
class LeaseInfo:
    """A lease as gc sees it (times in the metadata store's clock)."""

    key: str
    started: float
    last_beat: float
    ttl: float

    def live_at(self, when: float) -> bool:
        return self.last_beat + self.ttl + CLOCK_STEP >= when


class Leases(RegistryBase):
    """Taking leases (writers) and reading them (gc)."""

    def begin_write(self, ttl: Optional[float] = None) -> WriterLease:
        """Take a writer lease: call it before the first object is written (see docs/store.md)."""
        return WriterLease(self.meta, ttl)

    def leases(self) -> list[LeaseInfo]:
        """Every lease document there is, live or not."""
        out = []
        for key, mtime in self.meta.listing(LEASE_PREFIX):
            got = self.meta.read(key)
            if got is None:
                continue  # released meanwhile
            try:
                doc = load_json(got[0], key)
                ttl = float(doc.get("ttl_seconds", DEFAULT_LEASE_TTL))
                started = float(doc.get("started", mtime))
            except (LakepkgError, TypeError, ValueError, AttributeError):
                ttl, started = DEFAULT_LEASE_TTL, mtime  # unreadable: it protects from its last write
            out.append(LeaseInfo(key, min(started, mtime), mtime, ttl))
        return out

    def clear_expired_leases(self, now: float, dry_run: bool = False) -> int:
        """Delete leases that expired well before ``now`` (store clock): their writers are gone."""
        n = 0
        for lease in self.leases():
            if lease.last_beat + 2 * lease.ttl + CLOCK_STEP < now:
                n += 1
                if not dry_run:
                    self.meta.delete(lease.key)
        return n
