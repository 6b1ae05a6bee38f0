"""Cutting a stream of record batches into fragments at content-defined boundaries.

Rows arrive in key order. Each row's key is hashed to 64 bits with a hash
defined here from the key's bytes alone (numpy integer arithmetic on Arrow
buffers: no dependency on pandas, Python's ``hash`` or any library version),
so boundaries are the same on every run and every machine. A fragment ends
after a row whose key hash has its low ``mask_bits`` bits zero, once the
fragment holds at least ``min_rows`` rows; it is cut regardless at
``max_rows``. Appending rows or updating a range of rows then changes only
the fragments around the change, the way backup tools chunk files. Without
a key, fragments are fixed-size (``fixed_rows``).

The key hash (version 2, ``ChunkingParams.to_json()`` records it):

* per key column, a 64-bit value ``u`` per row:
  - integer, boolean, date, time, timestamp, duration: the value as a
    two's-complement 64-bit integer (in the column's own unit);
  - float: the IEEE-754 bits of the value as float64 (-0.0 as 0.0);
  - decimal: ``splitmix64(low word) ^ high word`` of the 128-bit unscaled value
    (256-bit decimals: their text form, hashed as a string);
  - string/binary: ``sum(byte[i] * P**i) mod 2**64`` over the UTF-8/raw bytes,
    ``P = 0x100000001b3``, then xor ``length * 0x9E3779B97F4A7C15``;
  - other types: their Arrow cast to string, hashed as a string;
  - NULL: ``0x6A09E667F3BCC908``.
* ``h = 0x243F6A8885A308D3``; for each key column in order ``h = splitmix64(h ^ u)``.
* Arithmetic is modulo 2**64; splitmix64 is Vigna's finaliser
  (shifts 30/27/31, multipliers 0xbf58476d1ce4e5b9 and 0x94d049bb133111eb).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa

HASH_VERSION = 2
_M64 = (1 << 64) - 1
_SEED = np.uint64(0x243F6A8885A308D3)
_NULL = np.uint64(0x6A09E667F3BCC908)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_P = 0x100000001B3
_P_INV = pow(_P, -1, 1 << 64)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class ChunkingParams:
    """Content-defined chunking parameters (recorded in the table node's writer settings)."""

    mask_bits: int = 14          # a natural boundary every ~16k rows past min_rows
    min_rows: int = 2_048
    max_rows: int = 131_072

    def __post_init__(self) -> None:
        if not (0 < self.mask_bits < 48) or not (0 < self.min_rows <= self.max_rows):
            raise ValueError(f"bad chunking parameters {self}: need 0 < mask_bits < 48 and 0 < min_rows <= max_rows")

    def to_json(self) -> dict:
        return {"method": "key-cdc", "hash": f"lakepkg-key-hash-v{HASH_VERSION} (splitmix64; see docs/sql.md)",
                "mask_bits": self.mask_bits, "min_rows": self.min_rows, "max_rows": self.max_rows}


def splitmix64(z: np.ndarray) -> np.ndarray:
    """Vigna's splitmix64 finaliser, vectorised over uint64 (wrapping arithmetic)."""
    z = z.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= _C1
        z ^= z >> np.uint64(27)
        z *= _C2
        z ^= z >> np.uint64(31)
    return z


_POW_CACHE: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i (mod 2**64) for i < n, cached and grown geometrically."""
    have = _POW_CACHE.get("p")
    if have is None or len(have) < n:
        size = max(n, 2 * (len(have) if have is not None else 0), 1 << 16)
        with np.errstate(over="ignore"):
            p = np.full(size, _P, dtype=np.uint64)
            p[0] = 1
            q = np.full(size, _P_INV, dtype=np.uint64)
            q[0] = 1
            _POW_CACHE["p"] = np.cumprod(p, dtype=np.uint64)
            _POW_CACHE["q"] = np.cumprod(q, dtype=np.uint64)
    return _POW_CACHE["p"][:n], _POW_CACHE["q"][:n]


def _bytes_hash(arr: pa.Array) -> np.ndarray:
    """Polynomial hash of each value's bytes (position independent), mixed with its length."""
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        odt = np.int64
    else:
        if not (pa.types.is_string(arr.type) or pa.types.is_binary(arr.type)):
            arr = arr.cast(pa.large_binary())
            odt = np.int64
        else:
            odt = np.int32
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=odt)[arr.offset: arr.offset + n + 1].astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(bufs[2], dtype=np.uint8)[start:end] if bufs[2] is not None and end > start else np.zeros(0, np.uint8)
    rel = offsets - start
    pw, ipw = _powers(len(data) + 1)
    with np.errstate(over="ignore"):
        pref = np.zeros(len(data) + 1, dtype=np.uint64)
        np.cumsum(data.astype(np.uint64) * pw[: len(data)], dtype=np.uint64, out=pref[1:])
        h = (pref[rel[1:]] - pref[rel[:-1]]) * ipw[rel[:-1]]
        lengths = (rel[1:] - rel[:-1]).astype(np.uint64)
        h ^= lengths * _GOLD
    return h


def _column_values(arr: pa.Array) -> np.ndarray:
    """The per-row 64-bit value ``u`` of one key column (see the module docstring)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        arr = arr.cast(pa.large_binary())
        t = arr.type
    if pa.types.is_boolean(t):
        u = np.asarray(arr.fill_null(False).cast(pa.uint8()).to_numpy(zero_copy_only=False), dtype=np.uint64)
    elif pa.types.is_integer(t):
        u = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False)).astype(np.int64).view(np.uint64)
    elif pa.types.is_temporal(t) and not pa.types.is_interval(t):
        narrow = pa.types.is_date32(t) or pa.types.is_time32(t)
        ints = arr.view(pa.int32() if narrow else pa.int64())
        u = np.asarray(ints.fill_null(0).to_numpy(zero_copy_only=False)).astype(np.int64).view(np.uint64)
    elif pa.types.is_floating(t):
        f = np.asarray(arr.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
        f = f + 0.0  # -0.0 -> 0.0
        u = f.view(np.uint64).copy()
    elif pa.types.is_decimal(t) and t.bit_width == 128:
        if arr.null_count:
            arr = arr.fill_null(pa.scalar(0, pa.decimal128(t.precision, t.scale)))
        words = np.frombuffer(arr.buffers()[1], dtype=np.uint64)[2 * arr.offset: 2 * (arr.offset + len(arr))]
        u = splitmix64(words[0::2]) ^ words[1::2]
    elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        u = _bytes_hash(arr)
    else:
        u = _bytes_hash(arr.cast(pa.string()))
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        u = np.where(valid, u, _NULL)
    return u


def key_hashes(batch: "pa.RecordBatch | pa.Table", key_columns: list[str]) -> np.ndarray:
    """A stable 64-bit hash per row of the key columns (lakepkg key hash v2)."""
    h = np.full(batch.num_rows, _SEED, dtype=np.uint64)
    for c in key_columns:
        col = batch.column(c)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        h = splitmix64(h ^ _column_values(col))
    return h


def boundaries(hashes: np.ndarray, params: ChunkingParams, carried: int = 0) -> tuple[list[int], int]:
    """Cut positions (exclusive row ends) in one batch whose rows follow ``carried`` pending rows.

    Returns (ends, rows left pending after the last cut)."""
    mask = np.uint64((1 << params.mask_bits) - 1)
    cand = np.flatnonzero((hashes & mask) == 0)
    n = len(hashes)
    ends: list[int] = []
    pos, count = 0, carried
    while True:
        earliest = pos + max(params.min_rows - count, 1) - 1      # first row that may end the fragment
        forced = pos + (params.max_rows - count) - 1              # last row the fragment may hold
        i = int(np.searchsorted(cand, earliest))
        c = int(cand[i]) if i < len(cand) else n
        end = min(c, forced)
        if end >= n:
            return ends, count + (n - pos)
        ends.append(end + 1)
        pos, count = end + 1, 0


def cut(batches: Iterable[pa.RecordBatch], schema: pa.Schema, key_columns: Optional[list[str]],
        params: ChunkingParams = ChunkingParams(), fixed_rows: int = 1_048_576) -> Iterator[pa.Table]:
    """Yield fragment tables from ``batches`` (each a single contiguous chunk per column).

    With ``key_columns``: content-defined boundaries from the key hash. Without:
    fixed ``fixed_rows``-row fragments. The output does not depend on how the
    input was split into batches."""
    keyed = bool(key_columns)
    if not keyed:
        params = ChunkingParams(mask_bits=47, min_rows=fixed_rows, max_rows=fixed_rows)
    pending: list[pa.RecordBatch] = []
    count = 0
    for b in batches:
        if b.num_rows == 0:
            continue
        if b.schema != schema:
            b = pa.RecordBatch.from_arrays(b.columns, schema=schema) if b.schema.names == schema.names else b.select(schema.names)
        if keyed:
            hashes = key_hashes(b, key_columns)  # type: ignore[arg-type]
        else:
            hashes = np.ones(b.num_rows, dtype=np.uint64)  # never a natural boundary
        ends, left = boundaries(hashes, params, count)
        start = 0
        for e in ends:
            pending.append(b.slice(start, e - start))
            yield _table(pending, schema)
            pending, start = [], e
        if start < b.num_rows:
            pending.append(b.slice(start))
        count = left
    if count:
        yield _table(pending, schema)


def _table(parts: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_batches(parts, schema=schema).combine_chunks()
