"""SHA-256 of bytes, a stream or a file: the one hashing helper every layer uses.

Objects are named by the SHA-256 of their bytes (docs/format.md). Stores,
the cache, verify, transfer and readers all hash through here, so there is
one streaming loop and one chunk size.
"""
from __future__ import annotations

import hashlib
from typing import BinaryIO, Optional

CHUNK = 4 * 1024 * 1024  # bytes read at a time when streaming


def hash_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hash_stream(src: BinaryIO, out: Optional[BinaryIO] = None) -> tuple[str, int]:
    """Hex SHA-256 and length of everything ``src`` yields, read in chunks.

    With ``out`` the bytes are also written there (copy while hashing: one read)."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = src.read(CHUNK)
        if not b:
            break
        h.update(b)
        n += len(b)
        if out is not None:
            out.write(b)
    return h.hexdigest(), n


def hash_file(path: str) -> tuple[str, int]:
    """Hex SHA-256 and size of a local file, streamed."""
    with open(path, "rb") as f:
        return hash_stream(f)


def copy_hashing(src_path: str, out: BinaryIO) -> tuple[str, int]:
    """Copy the file ``src_path`` into ``out`` while hashing it; returns (hex SHA-256, size)."""
    with open(src_path, "rb") as f:
        return hash_stream(f, out)


__all__ = ["CHUNK", "hash_bytes", "hash_stream", "hash_file", "copy_hashing"]
