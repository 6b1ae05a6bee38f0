"""Local read cache for remote object stores.

Objects are content-addressed, so one cache folder serves every remote
registry: ``<cache_dir>/objects/<aa>/<sha256>``. An object enters the cache
only after its bytes hashed to its name (downloaded into a temporary file in
the same folder, verified, fsynced, then renamed into place), so a cached
file is always whole and correct and a reader never sees a partial one.

* **Bounded**: ``max_bytes`` (setting ``cache_max_bytes``, default 10 GB).
  After an object is added, the least recently used objects are evicted until
  the cache fits. A hit refreshes the file's mtime, which is the LRU clock.
* **Concurrent processes**: a per-object ``flock`` makes a second process wait
  for the first one's download instead of fetching the same bytes again;
  eviction runs under a cache-wide lock taken without blocking (one evictor
  at a time) and never removes a file used in the last ``min_age`` seconds,
  so a path just handed to a reader stays there while it opens it (an open
  file stays readable on POSIX even when unlinked).

Settings: ``LAKEPKG_CACHE_DIR`` / ``cache_dir`` (default ``$LAKEPKG_HOME/cache``),
``LAKEPKG_CACHE_MAX_BYTES`` / ``cache_max_bytes``.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Optional

from lakepkg.config import home, setting
from lakepkg.errors import ConfigError, IntegrityError
from lakepkg.format.hashing import hash_file
from lakepkg.store.base import check_digest
from lakepkg.store.file_modes import set_file_mode
from lakepkg.store.verified import VERIFIED

DEFAULT_MAX_BYTES = 10 * 1024 ** 3
DEFAULT_MIN_AGE = 30.0


def _parse_size(v: object) -> int:
    if isinstance(v, (int, float)):
        return int(v)
    s = str(v).strip().upper().replace(" ", "")
    mult = 1
    for suffix, m in (("TB", 1024 ** 4), ("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024), ("B", 1)):
        if s.endswith(suffix):
            s, mult = s[: -len(suffix)], m
            break
    try:
        return int(float(s) * mult)
    except ValueError:
        raise ConfigError(f"cache_max_bytes {v!r} is not a size; use bytes or e.g. 20GB") from None


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evicted: int = 0
    bytes_evicted: int = 0


class ObjectCache:
    """A bounded, LRU, multi-process-safe cache of verified objects."""

    def __init__(self, root: Optional[str] = None, max_bytes: Optional[int] = None,
                 min_age: float = DEFAULT_MIN_AGE) -> None:
        r = root or setting("cache_dir") or os.path.join(home(), "cache")
        self.root = os.path.abspath(os.path.expanduser(str(r)))
        self.max_bytes = _parse_size(max_bytes if max_bytes is not None else setting("cache_max_bytes", None, DEFAULT_MAX_BYTES))
        self.min_age = min_age
        self.objects_dir = os.path.join(self.root, "objects")
        self.locks_dir = os.path.join(self.root, "locks")
        os.makedirs(self.objects_dir, exist_ok=True)
        os.makedirs(self.locks_dir, exist_ok=True)
        self.stats = CacheStats()

    def path(self, digest: str) -> str:
        check_digest(digest)
        return os.path.join(self.objects_dir, digest[:2], digest)

    def lookup(self, digest: str) -> Optional[str]:
        """The cached file of ``digest`` (its LRU clock refreshed), or None."""
        p = self.path(digest)
        try:
            VERIFIED.touch(p)  # the LRU clock; a verdict already held carries over
        except FileNotFoundError:
            return None
        self.stats.hits += 1
        return p

    def get(self, digest: str, fill: Callable[[str], object]) -> str:
        """The cached file of ``digest``; on a miss ``fill(tmp_path)`` writes the bytes
        into a temporary file, which is hash-checked before it enters the cache."""
        p = self.lookup(digest)
        if p is not None:
            return p
        lock_path = os.path.join(self.locks_dir, digest[:2])
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                p = self.lookup(digest)  # another process may have fetched it meanwhile
                if p is not None:
                    return p
                self.stats.misses += 1
                p = self.path(digest)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(p))
                set_file_mode(fd, read_only=False)  # what the umask gives (mkstemp makes 0600)
                os.close(fd)
                try:
                    fill(tmp)
                    actual, _ = hash_file(tmp)
                    if actual != digest:
                        raise IntegrityError(f"object {digest[:12]} downloaded with the wrong content (hash {actual[:12]}); "
                                             "the remote copy is corrupt: run `lakepkg verify` on the registry and re-push it")
                    with open(tmp, "rb") as f:
                        os.fsync(f.fileno())
                    os.replace(tmp, p)
                    VERIFIED.remember(p, digest)
                except BaseException:
                    _unlink(tmp)
                    raise
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        self.evict()
        return p

    def add_file(self, digest: str, src: str) -> str:
        """Copy an already verified local file into the cache (no-op when present)."""
        import shutil

        return self.get(digest, lambda tmp: shutil.copyfile(src, tmp))

    def discard(self, digest: str) -> None:
        p = self.path(digest)
        VERIFIED.forget(p)
        _unlink(p)

    def entries(self) -> list[tuple[float, int, str]]:
        """(mtime, size, path) of every cached object."""
        out = []
        for sub in os.listdir(self.objects_dir):
            d = os.path.join(self.objects_dir, sub)
            if not os.path.isdir(d):
                continue
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat()
                    except FileNotFoundError:
                        continue
                    if e.name.startswith(".tmp-"):
                        if st.st_mtime < time.time() - 86400:  # left by a killed process
                            _unlink(e.path)
                        continue
                    out.append((st.st_mtime, st.st_size, e.path))
        return out

    def size(self) -> int:
        return sum(s for _, s, _ in self.entries())

    def evict(self, max_bytes: Optional[int] = None) -> int:
        """Remove least recently used objects until the cache fits; returns bytes removed."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        with open(os.path.join(self.root, ".evict.lock"), "a+b") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another process is evicting
            try:
                ents = self.entries()
                total = sum(s for _, s, _ in ents)
                if total <= limit:
                    return 0
                removed = 0
                young = time.time() - self.min_age
                for mtime, size, path in sorted(ents):
                    if total <= limit:
                        break
                    if mtime > young:
                        break  # sorted by mtime: the rest are younger still
                    _unlink(path)
                    total -= size
                    removed += size
                    self.stats.evicted += 1
                    self.stats.bytes_evicted += size
                return removed
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def clear(self) -> None:
        for _, _, p in self.entries():
            _unlink(p)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_default: dict[tuple[str, int], ObjectCache] = {}


def default_cache(root: Optional[str] = None, max_bytes: Optional[int] = None) -> ObjectCache:
    """The process-wide cache for the given (or configured) folder and size."""
    c = ObjectCache(root, max_bytes)
    key = (c.root, c.max_bytes)
    return _default.setdefault(key, c)
