"""What the format needs of an object store: bytes in by their hash, bytes out by their hash.

The format layer (nodes, pages, the walk) reads and writes its objects through this protocol, so it
depends on no store; :class:`lakepkg.store.base.ObjectStore` (local folder, S3) provides it."""
from __future__ import annotations

from typing import Protocol


class Objects(Protocol):
    """Content-addressed objects: ``put_bytes`` returns the hex SHA-256 it stored the bytes under;
    ``get_bytes`` returns them (hash-checked when ``verify``)."""

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, digest: str, verify: bool = True) -> bytes: ...
