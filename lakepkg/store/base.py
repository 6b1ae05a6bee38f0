"""Object store interface: write-once bytes addressed by the SHA-256 of their content.

An implementation provides put (from bytes or a file), has, open, size, delete
and a listing; everything else callers need has a default here built on those
(verified reads, adopting a finished local file, copying from another store,
listing temporaries for gc). lakepkg never rewrites an object, so a backend
needs no versioning. ``open_store(location)`` in ``lakepkg.store`` picks the
backend from the location's scheme (a path, ``file://`` or ``s3://``).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Optional

from lakepkg.errors import IntegrityError, InvalidRefError, MissingObjectError
from lakepkg.format.canonical import is_digest
from lakepkg.format.hashing import CHUNK, hash_bytes, hash_file, hash_stream
from lakepkg.store.verified import VERIFIED

__all__ = ["CHUNK", "ObjectInfo", "ObjectStore", "check_digest", "corrupt_error", "hash_file"]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as a listing sees it."""

    digest: str
    size: int
    mtime: float  # seconds since the epoch when the object was written (or last renewed)


def check_digest(digest: str) -> str:
    """Refuse anything that is not a full hex SHA-256 (so it cannot escape the store)."""
    if not isinstance(digest, str) or not is_digest(digest):
        raise InvalidRefError(f"{digest!r} is not a SHA-256 object hash (64 lowercase hex digits)")
    return digest


def corrupt_error(digest: str, location: str, actual: Optional[str] = None, what: Optional[str] = None) -> IntegrityError:
    """The one-line error for an object whose bytes do not hash to its name."""
    about = f" ({what})" if what else ""
    got = f", its bytes hash to {actual[:12]}" if actual else ""
    return IntegrityError(f"object {digest[:12]}{about} in {location} is corrupt{got}; "
                          "run `lakepkg verify` and re-push or rebuild the versions that need it")


class ObjectStore(ABC):
    """Content-addressed, write-once object storage."""

    #: a human-readable location without credentials (``/home/u/.lakepkg`` or ``s3://b/p``)
    location: str

    # -- what a backend must provide ------------------------------------------
    @abstractmethod
    def has(self, digest: str) -> bool:
        """True when the object is stored."""

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

    # -- defaults a backend may refine ----------------------------------------
    def keep(self, digest: str, max_age: Optional[float] = None) -> bool:
        """A dedup hit: True when the object is stored, and then its age as ``gc`` sees it is
        renewed when it is older than ``max_age`` seconds (None: the backend's own window), so
        gc's grace period covers an old unreferenced object a publish in flight relies on.
        Backends whose age cannot be renewed just answer ``has``."""
        return self.has(digest)

    def delete_if_stale(self, digest: str, cutoff: float) -> bool:
        """gc's delete: remove the object only if it was not written or renewed since ``cutoff``
        (seconds since the epoch, in the store's clock), checked as late as the backend allows.
        Returns True when it was removed."""
        self.delete(digest)
        return True

    def local_path(self, digest: str) -> Optional[str]:
        """A local file holding the object's bytes, when the backend can give one cheaply (not verified)."""
        return None

    def local_root(self) -> Optional[str]:
        """The local folder this store lives in, where layers above may keep files derived from it
        (e.g. Spark's views); None for a remote store."""
        return None

    def open_options(self) -> dict[str, str]:
        """Options another process needs to open this store from its location (never credentials),
        e.g. an S3 ``endpoint_url``."""
        return {}

    def verified_path(self, digest: str, what: Optional[str] = None) -> str:
        """A local file whose bytes are known to hash to ``digest``. The file is hashed the first
        time it is handed out in this process and remembered by (inode, size, mtime); a changed file
        is hashed again. Raises MissingObjectError, or IntegrityError (naming the object and
        ``lakepkg verify``) when its bytes are wrong. ``what`` names the object in errors."""
        path = self.local_path(digest)
        if path is None:
            raise MissingObjectError(f"object {digest[:12]} of {self.location} has no local copy; this store cannot serve verified reads")
        if VERIFIED.is_verified(path, digest):
            return path
        try:
            actual, _ = hash_file(path)
        except FileNotFoundError:
            raise self._missing(digest) from None
        except PermissionError:
            from lakepkg.store.file_modes import denied

            raise denied(path) from None
        if actual != digest:
            self.forget_local(digest)
            raise corrupt_error(digest, self.location, actual, what)
        VERIFIED.remember(path, digest)
        return path

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        """Read a whole object; with ``verify`` its hash is checked."""
        with self.open(digest) as f:
            data = f.read()
        if verify:
            actual = hash_bytes(data)
            if actual != digest:
                raise corrupt_error(digest, self.location, actual)
        return data

    def fetch_to(self, digest: str, path: str) -> int:
        """Stream an object into the local file ``path``, hashing as it goes; IntegrityError on a mismatch."""
        with self.open(digest) as src, open(path, "wb") as out:
            actual, n = hash_stream(src, out)
        if actual != digest:
            raise corrupt_error(digest, self.location, actual)
        return n

    def verify_object(self, digest: str) -> bool:
        """Re-hash one object from its stored bytes (no cache); False when they do not match its name."""
        with self.open(digest) as f:
            actual, _ = hash_stream(f)
        if actual != digest:
            self.forget_local(digest)
            return False
        return True

    def forget_local(self, digest: str) -> None:
        """Drop any local copy or verdict held for ``digest`` (after it was found corrupt)."""

    def adopt_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        """Take a finished local file (e.g. a fragment just written) into the store; the file at
        ``path`` is gone afterwards. Returns (digest, size, written)."""
        try:
            return self.put_file(path, digest)
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def copy_from(self, src: "ObjectStore", digest: str) -> tuple[bool, int]:
        """Copy one object from ``src`` unless this store has it; returns (copied, bytes).
        The bytes are verified on the way (a verified local copy, then an upload checked by its hash)."""
        if self.keep(digest):
            return False, 0
        _, n, written = self.put_file(src.verified_path(digest), digest)
        return written, n if written else 0

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """Leftovers of interrupted writes: (name, mtime) for gc to clear."""
        return iter(())

    def clear_temporary(self, name: str) -> None:
        """Remove one leftover :meth:`iter_temporaries` listed."""

    def _missing(self, digest: str) -> MissingObjectError:
        return MissingObjectError(f"object {digest[:12]} is missing from {self.location}; run `lakepkg verify` to find the versions that need it")
