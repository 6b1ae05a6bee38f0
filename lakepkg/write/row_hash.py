"""Whole-row hashes and the logical digest of a table's rows.

A row's hash pair ``(h1, h2)`` is the lakepkg key hash v2
(:mod:`lakepkg.write.chunking`) taken over *every* column in schema order,
once from seed ``SEED1`` and once from ``SEED2``; unlike the key hash, a float
keeps its exact bits (-0.0 and 0.0 differ). Two rows with equal pairs are
taken to be equal (128 bits; a false match is about as likely as a SHA-256
collision of a short prefix, see docs/deltas.md).

The **rows digest** of a table does not depend on how its rows are cut into
fragments or ordered: ``rows-v1:<count>:<sum h1 mod 2**64 as 16 hex>:<sum h2
mod 2**64 as 16 hex>``. It is a checksum to tell "same rows, different
layout" apart from a content change, not a cryptographic commitment (the top
hash is that).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyarrow as pa

from lakepkg.write.chunking import _column_values, splitmix64

SEED1 = np.uint64(0x243F6A8885A308D3)   # the key hash's own seed
SEED2 = np.uint64(0x13198A2E03707344)
DIGEST_VERSION = "rows-v1"
SLICE_ROWS = 65_536


class UnhashableColumn(ValueError):
    """A column type whose values have no exact 64-bit form (rows with it cannot be matched)."""


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
        raise UnhashableColumn(f"type {t}")
    try:
        return _column_values(arr)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError) as exc:
        raise UnhashableColumn(f"type {t}: {exc}") from None


def row_hashes(data: "pa.RecordBatch | pa.Table", columns: Optional[Sequence[str]] = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(h1, h2)`` per row over ``columns`` (default: all, in schema order).

    Long inputs are hashed ``SLICE_ROWS`` rows at a time, so the temporaries of string hashing
    stay small whatever the batch size."""
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


def hashable(schema: pa.Schema) -> bool:
    """Whether every column of ``schema`` has exact row hashes."""
    try:
        row_hashes(schema.empty_table())
        return True
    except UnhashableColumn:
        return False


class DigestAccumulator:
    """Sums row hash pairs into a rows digest, batch by batch."""

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
        self.add(*row_hashes(data))

    def merge(self, other: "DigestAccumulator") -> None:
        self.count += other.count
        self.s1 = (self.s1 + other.s1) & 0xFFFFFFFFFFFFFFFF
        self.s2 = (self.s2 + other.s2) & 0xFFFFFFFFFFFFFFFF

    def digest(self) -> str:
        return f"{DIGEST_VERSION}:{self.count}:{self.s1:016x}:{self.s2:016x}"
