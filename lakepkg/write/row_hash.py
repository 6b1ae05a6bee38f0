"""Legacy ``rows-v1`` row hashes and digests (versions recorded before ``rows-v2``).

Kept so that a ``rows-v1`` digest in an old version record can still be recomputed and compared;
nothing new is written with it. A row's pair ``(h1, h2)`` is the lakepkg key hash v2
(:mod:`lakepkg.write.chunking`) over every column, from two seeds: both halves come from the same
64-bit value per column (a polynomial hash of a string's bytes), so one 64-bit collision collides
both — a NULL bigint and 7640891576956012808 (``0x6A09E667F3BCC908``), or a Thue–Morse string and
its complement, hash alike. It is **not** collision resistant: a checksum for "same rows, different
layout" between honest versions, nothing more. Row identity is :mod:`lakepkg.format.row_identity`
(SHA-256 of a typed, unambiguous encoding) and the digest is ``rows-v2``
(:mod:`lakepkg.format.rows_digest`).

``rows-v1:<count>:<sum h1 mod 2**64 as 16 hex>:<sum h2 mod 2**64 as 16 hex>``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyarrow as pa

from lakepkg.format.row_identity import UnhashableColumn
from lakepkg.write.chunking import _column_values, splitmix64

SEED1 = np.uint64(0x243F6A8885A308D3)   # the key hash's own seed
SEED2 = np.uint64(0x13198A2E03707344)
DIGEST_VERSION = "rows-v1"
SLICE_ROWS = 65_536

__all__ = ["DigestAccumulator", "UnhashableColumn", "row_hashes_v1"]


def _values(arr: pa.Array) -> np.ndarray:
    t = arr.type
    if pa.types.is_floating(t):
        f = arr.cast(pa.float64()) if not pa.types.is_float64(t) else arr
        u = np.asarray(f.fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64).copy()
        if arr.null_count:
            u = np.where(np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool), u,
                         np.uint64(0x6A09E667F3BCC908))
        return u
    if pa.types.is_decimal(t) and t.bit_width != 128:
        arr = arr.cast(pa.string())
    elif pa.types.is_nested(t) or pa.types.is_interval(t) or pa.types.is_null(t):
        raise UnhashableColumn(f"type {t} has no rows-v1 hash")
    try:
        return _column_values(arr)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError) as exc:
        raise UnhashableColumn(f"type {t}: {exc}") from None


def row_hashes_v1(data: "pa.RecordBatch | pa.Table", columns: Optional[Sequence[str]] = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The legacy ``(h1, h2)`` per row over ``columns`` (default: all, in schema order)."""
    cols = list(columns) if columns is not None else list(data.schema.names)
    if data.num_rows > SLICE_ROWS:
        parts = [_row_hashes(data.slice(o, SLICE_ROWS), cols) for o in range(0, data.num_rows, SLICE_ROWS)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _row_hashes(data, cols)


def _row_hashes(data: "pa.RecordBatch | pa.Table", cols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    h1 = np.full(data.num_rows, SEED1, dtype=np.uint64)
    h2 = np.full(data.num_rows, SEED2, dtype=np.uint64)
    for c in cols:
        col = data.column(c)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        u = _values(col)
        h1 = splitmix64(h1 ^ u)
        h2 = splitmix64(h2 ^ u)
    return h1, h2


class DigestAccumulator:
    """Sums legacy row hash pairs into a ``rows-v1`` digest, batch by batch."""

    def __init__(self) -> None:
        self.count = 0
        self.s1 = 0
        self.s2 = 0

    def add(self, h1: np.ndarray, h2: np.ndarray) -> None:
        with np.errstate(over="ignore"):
            self.s1 = (self.s1 + int(np.sum(h1, dtype=np.uint64))) & 0xFFFFFFFFFFFFFFFF
            self.s2 = (self.s2 + int(np.sum(h2, dtype=np.uint64))) & 0xFFFFFFFFFFFFFFFF
        self.count += len(h1)

    def add_rows(self, data: "pa.RecordBatch | pa.Table") -> None:
        self.add(*row_hashes_v1(data))

    def digest(self) -> str:
        return f"{DIGEST_VERSION}:{self.count}:{self.s1:016x}:{self.s2:016x}"
