"""Object store interface: write-once bytes addressed by the SHA-256 of their content.

An implementation provides put (from bytes or a file), has, open/get, size,
delete and a listing; lakepkg never rewrites an object, so a backend needs no
versioning. ``open_store(location)`` in ``lakepkg.store`` picks the backend
from the location's scheme (a path, ``file://`` or ``s3://``).
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional

from lakepkg.format.canonical import is_digest
from lakepkg.errors import IntegrityError, InvalidRefError

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as a listing sees it."""

    digest: str
    size: int
    mtime: float  # seconds since the epoch when the object was written


def check_digest(digest: str) -> str:
    """Refuse anything that is not a full hex SHA-256 (so it cannot escape the store)."""
    if not isinstance(digest, str) or not is_digest(digest):
        raise InvalidRefError(f"{digest!r} is not a SHA-256 object hash (64 lowercase hex digits)")
    return digest


def hash_file(path: str) -> tuple[str, int]:
    """SHA-256 and size of a local file, streamed."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
            n += len(b)
    return h.hexdigest(), n


class ObjectStore(ABC):
    """Content-addressed, write-once object storage."""

    #: a human-readable location without credentials (``/home/u/.lakepkg`` or ``s3://b/p``)
    location: str

    @abstractmethod
    def has(self, digest: str) -> bool:
        """True when the object is stored."""

    def keep(self, digest: str) -> bool:
        """A dedup hit: True when the object is stored, and then its age is renewed as ``gc`` sees it,
        so the grace period covers an old unreferenced object that a publish in flight has just
        chosen not to write again. Backends whose age cannot be renewed just answer ``has``."""
        return self.has(digest)

    @abstractmethod
    def put_bytes(self, data: bytes, digest: Optional[str] = None) -> str:
        """Store ``data`` (no-op if present) and return its digest."""

    @abstractmethod
    def put_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        """Store a local file; returns (digest, size, written) where written is False when deduplicated."""

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """Open an object for reading (no verification)."""

    @abstractmethod
    def size(self, digest: str) -> int:
        """Size of a stored object in bytes."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove an object (gc only)."""

    @abstractmethod
    def iter_objects(self) -> Iterator[ObjectInfo]:
        """Every stored object."""

    def local_path(self, digest: str) -> Optional[str]:
        """A local file holding the object's bytes, when the backend can give one cheaply."""
        return None

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        """Read a whole object; with ``verify`` its hash is checked."""
        with self.open(digest) as f:
            data = f.read()
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(f"object {digest[:12]} in {self.location} is corrupt (hash mismatch); run `lakepkg verify` and re-push or rebuild it")
        return data

    def verify_object(self, digest: str) -> bool:
        """Re-hash one object; False when its bytes do not match its name."""
        h = hashlib.sha256()
        with self.open(digest) as f:
            while True:
                b = f.read(CHUNK)
                if not b:
                    break
                h.update(b)
        return h.hexdigest() == digest
