"""Metadata backend: the few primitives the registry needs from its storage.

Version records and tags are small documents under keys such as
``packages/sales/orders/tags/latest.json``. A backend offers read (with a
token identifying the content read), create-if-absent, replace-if-unchanged
(compare-and-swap on the token), list and delete. The local backend does this
with ``link``/``flock``; the S3 backend with ``If-None-Match``/``If-Match``.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Iterator, Optional

from lakepkg.errors import UnsafePathError


def check_key(key: str) -> str:
    """Refuse a metadata key that could leave the backend's root: absolute, empty, ``.``/``..``
    segments, backslashes or control characters."""
    if (not isinstance(key, str) or not key or key.startswith("/") or "\\" in key
            or any(ord(c) < 32 or ord(c) == 127 for c in key)
            or any(seg in ("", ".", "..") for seg in key.split("/"))):
        raise UnsafePathError(f"metadata key {str(key)[:200]!r} is not a plain relative key; refusing to read or write it")
    return key


class MetaBackend(ABC):
    """Small mutable documents with atomic create and compare-and-swap."""

    location: str

    @abstractmethod
    def read(self, key: str) -> Optional[tuple[bytes, str]]:
        """Return (data, token) or None when the key does not exist."""

    @abstractmethod
    def create(self, key: str, data: bytes) -> bool:
        """Write ``data`` only if ``key`` does not exist; False if it did."""

    @abstractmethod
    def replace(self, key: str, data: bytes, token: Optional[str]) -> bool:
        """Write ``data`` only if the key still holds the content ``token`` names
        (``None``: only if the key does not exist). False if someone else wrote first."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with ``prefix``, in lexicographic order."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove a key (no error if absent)."""

    def mtime(self, key: str) -> Optional[float]:
        """When ``key`` was last written (epoch seconds, in the backend's clock), or None."""
        return None

    def drop_single_writer_key(self, key: str) -> None:
        """Delete ``key`` and whatever the backend keeps beside it for compare-and-swap (the local
        backend's lock file). Only for keys one writer owns (a lease), never for shared ones."""
        self.delete(key)

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, when it was last written in the backend's clock) for every key :meth:`list` gives."""
        for key in self.list(prefix):
            t = self.mtime(key)
            if t is not None:
                yield key, t

    def server_time(self) -> float:
        """The backend's clock now (epoch seconds): the clock :meth:`mtime` reads. Leases and gc
        compare only times of this one clock, never the clocks of the machines that run them."""
        return time.time()

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """Leftovers of interrupted writes: (name, mtime), for gc."""
        return iter(())

    def clear_temporary(self, name: str) -> None:
        """Remove one leftover :meth:`iter_temporaries` listed."""
