"""Row identity: one canonical, typed encoding of a row, and its SHA-256 (docs/format.md, "Row identity").

    from lakepkg.format.row_identity import row_hashes, key_hashes
    h = row_hashes(table)                 # pa.FixedSizeBinaryArray, 32 bytes a row: SHA-256 of the row
    k = key_hashes(table, ["id"])         # the same over the key columns only
    enc = encode_rows(table, ["id"])      # the encoded bytes themselves (to confirm a key match)

Every consumer that asks "are these two rows equal?" — the delta row index
(:mod:`lakepkg.write.row_index`), the row diff (:mod:`lakepkg.read.row_diff`),
the rows digest (:mod:`lakepkg.format.rows_digest`), a merge — uses this module,
so every supported Arrow type (integers, floats, decimals, dates, times,
timestamps, intervals, strings, JSON text, binary, lists, structs, maps,
dictionaries, extension types) is compared the same way everywhere.

The encoding is injective: each value is its column's *type tag* (a byte
string that names the exact Arrow type, parameters and nested types
included), then a validity flag (``0x00`` NULL, nothing follows; ``0x01`` a
value follows), then the value's bytes — fixed-width values by their exact
stored bits (floats too: ``-0.0`` and ``0.0`` differ, and so do NaNs with
different payloads), variable-length ones after their 8-byte length. A row is
its values' encodings in column order. The hash is SHA-256 of that; two rows
are taken to be equal when their 32-byte hashes are equal (a collision is a
SHA-256 collision). Consumers that keep only 128 bits of it say so.

Hashing is vectorised: the encoding is built with Arrow compute and numpy, and
hashed by Apache DataFusion's ``sha256`` (Rust ``sha2``, which uses the CPU's
SHA extensions) when DataFusion is installed, else by ``hashlib`` row by row
(the same bytes, the same hashes, about 3x slower).
"""
from __future__ import annotations

import hashlib
import itertools
import struct
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import LakepkgError

ROW_HASH_VERSION = "lakepkg-row-v2"
HASH_BYTES = 32
SLICE_ROWS = 65_536          # rows encoded and hashed at a time (bounds the temporaries)

_EMPTY = pa.scalar(b"", pa.large_binary())


class UnhashableColumn(LakepkgError, ValueError):
    """A column whose Arrow type has no canonical row encoding (a union type)."""


# -- type tags ------------------------------------------------------------------------------------

_FIXED_CODES = {  # code byte of the types whose tag is that byte alone
    "null": 0x00, "bool": 0x01,
    "int8": 0x02, "int16": 0x03, "int32": 0x04, "int64": 0x05,
    "uint8": 0x06, "uint16": 0x07, "uint32": 0x08, "uint64": 0x09,
    "halffloat": 0x0A, "float": 0x0B, "double": 0x0C,
    "date32[day]": 0x10, "date64[ms]": 0x11,
    "month_interval": 0x18, "day_time_interval": 0x19, "month_day_nano_interval": 0x1A,
    "string": 0x20, "large_string": 0x20, "string_view": 0x20,
    "binary": 0x21, "large_binary": 0x21, "binary_view": 0x21,
}
_UNITS = {"s": 0, "ms": 1, "us": 2, "ns": 3}


def _u8(x: int) -> bytes:
    return struct.pack("<B", x)


def _u32(x: int) -> bytes:
    return struct.pack("<I", x)


def _text(s: str) -> bytes:
    b = s.encode("utf-8")
    return _u32(len(b)) + b


def type_tag(t: pa.DataType) -> bytes:
    """The type tag of Arrow type ``t`` (docs/format.md, "Row identity", lists every form).

    Storage variants of one logical type share a tag (``string``/``large_string``/``string_view``;
    ``binary`` and its variants; ``list``/``large_list``/``list_view``; a dictionary and its value
    type): they hold the same values."""
    if pa.types.is_dictionary(t):
        return type_tag(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return b"\x40" + _text(t.extension_name) + type_tag(t.storage_type)
    code = _FIXED_CODES.get(str(t))
    if code is not None:
        return _u8(code)
    if pa.types.is_decimal(t):
        return b"\x0D" + _u8(t.bit_width // 8) + _u8(t.precision) + struct.pack("<b", t.scale)
    if pa.types.is_time32(t) or pa.types.is_time64(t):
        return b"\x12" + _u8(t.bit_width // 8) + _u8(_UNITS[t.unit])
    if pa.types.is_timestamp(t):
        return b"\x13" + _u8(_UNITS[t.unit]) + (b"\x00" if t.tz is None else b"\x01" + _text(t.tz))
    if pa.types.is_duration(t):
        return b"\x14" + _u8(_UNITS[t.unit])
    if pa.types.is_fixed_size_binary(t):
        return b"\x22" + _u32(t.byte_width)
    if pa.types.is_map(t):
        return b"\x33" + _u8(int(t.keys_sorted)) + type_tag(t.key_type) + type_tag(t.item_type)
    if pa.types.is_fixed_size_list(t):
        return b"\x31" + _u32(t.list_size) + type_tag(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return b"\x30" + type_tag(t.value_type)
    if pa.types.is_struct(t):
        return b"\x32" + _u32(t.num_fields) + b"".join(_text(f.name) + type_tag(f.type) for f in t)
    raise UnhashableColumn(f"Arrow type {t} has no canonical row encoding")


# -- values ---------------------------------------------------------------------------------------
#
# Each value is ``flag || payload``: flag 0x01 for a value, 0x00 for NULL. A fixed-width type's
# payload is its stored bytes (a NULL's: that many zero bytes); a variable-length type's payload is
# an 8-byte little-endian length and then that many bytes of content (a NULL's: length 0, nothing).

def _is_var(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_var(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return _is_var(t.storage_type)
    return not (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_fixed_size_binary(t)
                or pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)
                or pa.types.is_decimal(t))


def _binary(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """A large_binary array over int64 ``offsets`` and uint8 ``data`` (zero copy)."""
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(offsets) - 1,
                                            [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _strided(mat: np.ndarray) -> pa.Array:
    n, w = mat.shape
    return _binary(np.arange(0, (n + 1) * w, w, dtype=np.int64), np.ascontiguousarray(mat).reshape(-1))


def _plain(arr: Any) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if pa.types.is_dictionary(t):
        return _plain(arr.dictionary_decode())
    if isinstance(t, pa.ExtensionType):
        return _plain(arr.storage)
    if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return arr.cast(pa.large_list(t.value_field))
    return arr


def _fixed_width(t: pa.DataType) -> int:
    if pa.types.is_null(t):
        return 0
    if pa.types.is_boolean(t):
        return 1
    if pa.types.is_fixed_size_binary(t):
        return int(t.byte_width)
    return int(t.bit_width) // 8


def _valid(arr: pa.Array) -> Optional[np.ndarray]:
    if arr.null_count == 0:
        return None
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _fixed_payload(arr: pa.Array, validity: Optional[np.ndarray]) -> np.ndarray:
    """The stored bytes of a fixed-width array as (n,) values of a ``width``-byte numpy dtype
    (``<u8`` for 8 bytes, ``V16`` for 16, ...), zeros where NULL."""
    t = arr.type
    n = len(arr)
    w = _fixed_width(t)
    dt: Any = _DTYPES.get(w) or np.dtype(f"V{w}")
    if w == 0 or n == 0:
        return np.zeros(n, dt)
    if pa.types.is_boolean(t):
        out = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=np.uint8)
    else:
        buf = arr.buffers()[1]
        out = np.frombuffer(buf, dtype=np.uint8)[arr.offset * w: (arr.offset + n) * w].view(dt)
    if validity is not None:
        out = out.copy()
        out[~validity] = np.zeros(1, dt)[0]
    return out


_DTYPES = {1: np.dtype("u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4"), 8: np.dtype("<u8")}


def _le64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x).astype("<u8")).view(np.uint8).reshape(-1, 8)


def _content(arr: pa.Array, validity: Optional[np.ndarray]) -> pa.Array:
    """The content of each value of a variable-length array (``large_binary``, empty where NULL)."""
    t = arr.type
    n = len(arr)
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)):
        body = arr.cast(pa.large_binary())
        return body if validity is None else pc.fill_null(body, _EMPTY)
    if pa.types.is_struct(t):
        if t.num_fields == 0:
            return pa.array([b""] * n, pa.large_binary())
        parts = [_elements(pc.struct_field(arr, [i])) for i in range(t.num_fields)]
        body = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _EMPTY)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_fixed_size_list(t):
            offsets = np.arange(arr.offset, arr.offset + n + 1, dtype=np.int64) * t.list_size
        else:
            offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        lo, hi = int(offsets[0]), int(offsets[-1])
        child = _elements(arr.values.slice(lo, hi - lo))  # a map's values: its entries, struct<key, value>
        rel = offsets - lo
        body = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(rel, pa.int64()), child), _EMPTY)
        if not pa.types.is_fixed_size_list(t):
            counts = np.diff(rel)
            body = pc.binary_join_element_wise(_strided(_le64(counts)), body, _EMPTY)
    else:
        raise UnhashableColumn(f"Arrow type {t} has no canonical row encoding")
    if validity is not None:
        body = pc.if_else(pa.array(validity), body, _EMPTY)
    return body


class _Block:
    """Consecutive fixed-width pieces of each row, packed into one numpy record per row."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, np.dtype]] = []
        self.values: list[Any] = []

    def add(self, value: Any, dtype: np.dtype) -> None:
        self.fields.append((f"f{len(self.fields)}", dtype))
        self.values.append(value)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def build(self, n: int) -> pa.Array:
        rec = np.empty(n, dtype=np.dtype(self.fields))   # packed: no alignment padding
        for (name, _dt), v in zip(self.fields, self.values):
            rec[name] = v
        return _strided(rec.view(np.uint8).reshape(n, rec.dtype.itemsize))


def _add_value(block: _Block, arr: pa.Array, validity: Optional[np.ndarray]) -> Optional[pa.Array]:
    """Append ``flag || fixed payload`` or ``flag || length`` to ``block``; return the content of a
    variable-length value (which follows the block), else None."""
    n = len(arr)
    block.add(1 if validity is None else validity.astype(np.uint8), np.dtype("u1"))
    if not _is_var(arr.type):
        if pa.types.is_null(arr.type):
            block.values[-1] = 0
            return None
        payload = _fixed_payload(arr, validity)
        block.add(payload, payload.dtype)
        return None
    body = _content(arr, validity)
    lengths = np.asarray(pc.binary_length(body).to_numpy(zero_copy_only=False)) if n else np.zeros(0, np.int64)
    block.add(lengths, np.dtype("<u8"))
    return body


def _elements(arr: Any) -> pa.Array:
    """Each value's ``flag || payload`` (no type tag), as ``large_binary`` with no nulls."""
    arr = _plain(arr)
    block = _Block()
    body = _add_value(block, arr, _valid(arr))
    head = block.build(len(arr))
    return head if body is None else pc.binary_join_element_wise(head, body, _EMPTY)


# -- rows -----------------------------------------------------------------------------------------

def encode_rows(data: "pa.RecordBatch | pa.Table", columns: Optional[Sequence[str]] = None) -> pa.Array:
    """The canonical encoding of each row over ``columns`` (default: all, in schema order):
    a ``large_binary`` array with no nulls. Two rows are equal exactly when their encodings are.

    A row is its *head* — per column in order: type tag, validity flag, then the fixed-width
    payload or the 8-byte length of a variable-length value — followed by the contents of its
    variable-length values in column order (docs/format.md, "Row identity")."""
    cols = list(columns) if columns is not None else list(data.schema.names)
    n = data.num_rows
    block = _Block()
    bodies: list[pa.Array] = []
    for c in cols:
        raw = data.column(c)
        tag = type_tag(raw.type)
        block.add(np.frombuffer(tag, f"V{len(tag)}")[0], np.dtype(f"V{len(tag)}"))
        arr = _plain(raw)
        body = _add_value(block, arr, _valid(arr))
        if body is not None:
            bodies.append(body)
    if not block:
        return pa.array([b""] * n, pa.large_binary())
    head = block.build(n)
    return pc.binary_join_element_wise(head, *bodies, _EMPTY, memory_pool=_pool()) if bodies else head


def check_hashable(schema: pa.Schema, columns: Optional[Sequence[str]] = None) -> None:
    """Raise :class:`UnhashableColumn`, naming the column, if one of ``columns`` has no encoding."""
    for name in (columns if columns is not None else schema.names):
        try:
            type_tag(schema.field(name).type)
        except UnhashableColumn:
            raise UnhashableColumn(f"column {name!r} of type {schema.field(name).type} has no canonical row "
                                   "encoding (union types are not supported); cast it to a struct or leave it "
                                   "out of the key") from None


def hashable(schema: pa.Schema) -> bool:
    """Whether every column of ``schema`` has a canonical encoding (all but union types)."""
    try:
        check_hashable(schema)
        return True
    except UnhashableColumn:
        return False


_CTX: list[Any] = []
_POOL: list[Any] = []
_NAMES = itertools.count()


def _pool() -> Any:
    """jemalloc where this pyarrow has it: the encodings are big short-lived buffers, which
    pyarrow's default pool hands back to the system at once (every slice page-faults again)."""
    if not _POOL:
        try:
            _POOL.append(pa.jemalloc_memory_pool())
        except (NotImplementedError, AttributeError):
            _POOL.append(pa.default_memory_pool())
    return _POOL[0]


def _datafusion() -> Any:
    if not _CTX:
        try:
            from datafusion import SessionConfig, SessionContext
        except ImportError:  # pragma: no cover - datafusion is a dependency; hashlib gives the same bytes
            _CTX.append(None)
        else:
            _CTX.append(SessionContext(SessionConfig().with_target_partitions(1)))
    return _CTX[0]


def sha256_each(values: pa.Array, out: Optional[np.ndarray] = None) -> np.ndarray:
    """SHA-256 of each value of a binary array with no nulls, as an (n, 32) uint8 array (``out``
    when given)."""
    n = len(values)
    if out is None:
        out = np.empty((n, HASH_BYTES), np.uint8)
    ctx = _datafusion() if n else None
    if ctx is None:
        return _sha256_hashlib(values, out)
    from datafusion import col, functions as f

    name = f"lakepkg_rows_{next(_NAMES)}"   # from_arrow registers the table: drop it after, or it stays
    try:
        res = ctx.from_arrow(pa.table({"v": values}), name=name).select(f.sha256(col("v")).alias("h")).to_arrow_table()
    finally:
        ctx.deregister_table(name)
    at = 0
    for h in res.column(0).chunks:
        m = len(h)
        if not m:
            continue
        odt = np.int64 if pa.types.is_large_binary(h.type) else np.int32
        offs = np.frombuffer(h.buffers()[1], odt)[h.offset: h.offset + m + 1]
        lo, hi = int(offs[0]), int(offs[-1])
        if hi - lo != m * HASH_BYTES or h.null_count:  # never: sha256 is 32 bytes a value
            raise AssertionError("sha256 returned a value that is not 32 bytes")
        out[at: at + m] = np.frombuffer(h.buffers()[2], np.uint8)[lo:hi].reshape(m, HASH_BYTES)
        at += m
    if at != n:
        raise AssertionError(f"sha256 returned {at} values for {n}")
    return out


def _sha256_hashlib(values: pa.Array, out: np.ndarray) -> np.ndarray:
    n = len(values)
    if not pa.types.is_large_binary(values.type):
        values = values.cast(pa.large_binary())
    bufs = values.buffers()
    offs = np.frombuffer(bufs[1], np.int64)[values.offset: values.offset + n + 1].tolist() if n else [0]
    mv = memoryview(bufs[2]) if bufs[2] is not None else memoryview(b"")
    sha = hashlib.sha256
    if n:
        out[:] = np.frombuffer(b"".join([sha(mv[offs[i]: offs[i + 1]]).digest() for i in range(n)]),
                               np.uint8).reshape(n, HASH_BYTES)
    return out


def row_hash_matrix(data: "pa.RecordBatch | pa.Table", columns: Optional[Sequence[str]] = None) -> np.ndarray:
    """:func:`row_hashes` as an (n, 32) uint8 numpy array (no Arrow wrapper)."""
    cols = list(columns) if columns is not None else list(data.schema.names)
    check_hashable(data.schema, cols)
    n = data.num_rows
    out = np.empty((n, HASH_BYTES), np.uint8)
    for o in range(0, n, SLICE_ROWS):
        part = data.slice(o, SLICE_ROWS) if n > SLICE_ROWS else data
        sha256_each(encode_rows(part, cols), out[o: o + part.num_rows])
    return out


def row_hashes(data: "pa.RecordBatch | pa.Table", columns: Optional[Sequence[str]] = None) -> pa.FixedSizeBinaryArray:
    """SHA-256 of each row's canonical encoding over ``columns`` (default: all, in schema order).

    A ``fixed_size_binary(32)`` array, one value per row; equal rows (same types, same values, same
    NULLs, floats bit for bit) have equal hashes, and different rows differ unless SHA-256 collides.
    Raises :class:`UnhashableColumn` naming the column for a type without an encoding (union)."""
    m = row_hash_matrix(data, columns)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(HASH_BYTES), len(m), [None, pa.py_buffer(m)])


def key_hashes(data: "pa.RecordBatch | pa.Table", key_columns: Sequence[str]) -> pa.FixedSizeBinaryArray:
    """:func:`row_hashes` over the key columns (in the order given). Where rows are matched by key,
    confirm equal hashes with :func:`encode_rows` over the same columns (or :func:`same_keys`)."""
    return row_hashes(data, list(key_columns))


def hash_words(hashes: "pa.FixedSizeBinaryArray | np.ndarray", words: int = 2) -> np.ndarray:
    """The first ``words`` 64-bit words of each hash (little-endian), as an (n, words) uint64 array:
    ``hash_words(h, 2)`` is the 128-bit truncation the delta row index keeps."""
    if isinstance(hashes, np.ndarray):
        m = hashes
    else:
        n = len(hashes)
        if n == 0:
            return np.zeros((0, words), np.uint64)
        m = np.frombuffer(hashes.buffers()[1], np.uint8)[hashes.offset * HASH_BYTES:
                                                         (hashes.offset + n) * HASH_BYTES].reshape(n, HASH_BYTES)
    return np.ascontiguousarray(m[:, : 8 * words]).view("<u8").reshape(len(m), words)


def same_keys(a: "pa.RecordBatch | pa.Table", b: "pa.RecordBatch | pa.Table", key_columns: Sequence[str]) -> np.ndarray:
    """Row ``i`` of ``a`` and row ``i`` of ``b`` have equal key values (exact, by their encodings)."""
    ea, eb = encode_rows(a, key_columns), encode_rows(b, key_columns)
    if len(ea) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(pc.equal(ea, eb).to_numpy(zero_copy_only=False), dtype=bool)
