"""Which local files are known to hash to their object's name (in this process).

``ObjectStore.verified_path`` hashes a file the first time it is handed out and
remembers it here by (device, inode, size, mtime in ns): a file replaced, rewritten
or truncated since gets a new identity and is hashed again. A store that itself
renews a verified file's mtime (a dedup hit, the cache's LRU clock) calls
:meth:`VerifiedFiles.touch`, which carries the verdict over to the new mtime.
"""
from __future__ import annotations

import os
import threading
from typing import Optional

MAX_ENTRIES = 1_000_000  # a bound on memory (about 150 bytes an entry); the map is cleared when full

_Ident = tuple[int, int, int, int]


def _ident(path: str) -> Optional[_Ident]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class VerifiedFiles:
    """A thread-safe, bounded map from file identity to the digest its bytes were found to have."""

    def __init__(self) -> None:
        self._known: dict[_Ident, str] = {}
        self._lock = threading.Lock()

    def is_verified(self, path: str, digest: str) -> bool:
        """True when ``path``, as it is now, was found to hash to ``digest``."""
        ident = _ident(path)
        with self._lock:
            return ident is not None and self._known.get(ident) == digest

    def remember(self, path: str, digest: str) -> None:
        """Record that ``path``, as it is now, hashes to ``digest`` (the caller just checked)."""
        ident = _ident(path)
        if ident is None:
            return
        with self._lock:
            if len(self._known) >= MAX_ENTRIES:
                self._known.clear()
            self._known[ident] = digest

    def forget(self, path: str) -> None:
        ident = _ident(path)
        with self._lock:
            self._known.pop(ident, None)  # type: ignore[arg-type]

    def touch(self, path: str) -> bool:
        """``os.utime(path)`` keeping a verdict already held; False when the file is gone."""
        before = _ident(path)
        os.utime(path)
        with self._lock:
            digest = self._known.pop(before, None) if before is not None else None
        if digest is not None:
            self.remember(path, digest)
        return True


#: the process-wide map every store shares
VERIFIED = VerifiedFiles()

__all__ = ["VerifiedFiles", "VERIFIED"]
