"""Row identity (docs/format.md, "Row identity"): an independent encoder written from the spec, in
plain Python over ``to_pylist`` values and the Arrow types, must give the same bytes and the same
SHA-256 as the vectorised one, for every type a table can hold; and the inputs that fooled the
``rows-v1`` hash do not fool it."""
from __future__ import annotations

import datetime
import decimal
import hashlib
import struct

import numpy as np
import pyarrow as pa
import pytest

from lakepkg.format import row_identity as ri
from lakepkg.format.rows_digest import RowsDigest, compare_digests

# -- the spec, re-implemented -------------------------------------------------------------------

UNITS = {"s": 0, "ms": 1, "us": 2, "ns": 3}
SIMPLE = {pa.null(): 0x00, pa.bool_(): 0x01, pa.int8(): 0x02, pa.int16(): 0x03, pa.int32(): 0x04,
          pa.int64(): 0x05, pa.uint8(): 0x06, pa.uint16(): 0x07, pa.uint32(): 0x08, pa.uint64(): 0x09,
          pa.float16(): 0x0A, pa.float32(): 0x0B, pa.float64(): 0x0C, pa.date32(): 0x10, pa.date64(): 0x11,
          pa.month_day_nano_interval(): 0x1A, pa.string(): 0x20, pa.large_string(): 0x20,
          pa.string_view(): 0x20, pa.binary(): 0x21, pa.large_binary(): 0x21, pa.binary_view(): 0x21}


def s32(text: str) -> bytes:
    b = text.encode()
    return struct.pack("<I", len(b)) + b


def tag(t: pa.DataType) -> bytes:
    if pa.types.is_dictionary(t):
        return tag(t.value_type)
    if t in SIMPLE:
        return bytes([SIMPLE[t]])
    if pa.types.is_decimal(t):
        return bytes([0x0D, t.bit_width // 8, t.precision]) + struct.pack("<b", t.scale)
    if pa.types.is_time(t):
        return bytes([0x12, t.bit_width // 8, UNITS[t.unit]])
    if pa.types.is_timestamp(t):
        return bytes([0x13, UNITS[t.unit]]) + (b"\x00" if t.tz is None else b"\x01" + s32(t.tz))
    if pa.types.is_duration(t):
        return bytes([0x14, UNITS[t.unit]])
    if pa.types.is_fixed_size_binary(t):
        return b"\x22" + struct.pack("<I", t.byte_width)
    if pa.types.is_map(t):
        return b"\x33" + bytes([int(t.keys_sorted)]) + tag(t.key_type) + tag(t.item_type)
    if pa.types.is_fixed_size_list(t):
        return b"\x31" + struct.pack("<I", t.list_size) + tag(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return b"\x30" + tag(t.value_type)
    if pa.types.is_struct(t):
        return b"\x32" + struct.pack("<I", t.num_fields) + b"".join(s32(f.name) + tag(f.type) for f in t)
    raise AssertionError(t)


def width(t: pa.DataType) -> int:
    if pa.types.is_dictionary(t):
        return width(t.value_type)
    if pa.types.is_null(t):
        return 0
    if pa.types.is_boolean(t):
        return 1
    if pa.types.is_fixed_size_binary(t):
        return t.byte_width
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)
            or pa.types.is_decimal(t)):
        return t.bit_width // 8
    return -1  # variable length


def fixed_bytes(t: pa.DataType, v: object) -> bytes:
    """A value's stored bytes, from its Python form (the way an outsider would compute them)."""
    if pa.types.is_dictionary(t):
        return fixed_bytes(t.value_type, v)
    if pa.types.is_boolean(t):
        return b"\x01" if v else b"\x00"
    if pa.types.is_fixed_size_binary(t):
        return bytes(v)  # type: ignore[arg-type]
    if pa.types.is_integer(t):
        return int(v).to_bytes(t.bit_width // 8, "little", signed=pa.types.is_signed_integer(t))  # type: ignore
    if pa.types.is_float64(t):
        return struct.pack("<d", v)
    if pa.types.is_float32(t):
        return struct.pack("<f", v)
    if pa.types.is_decimal(t):
        unscaled = int(v.scaleb(t.scale))  # type: ignore[attr-defined]
        return unscaled.to_bytes(t.bit_width // 8, "little", signed=True)
    if pa.types.is_date32(t):
        return struct.pack("<i", (v - datetime.date(1970, 1, 1)).days)  # type: ignore[operator]
    if pa.types.is_timestamp(t):
        return pa.scalar(v, t).cast(pa.int64()).as_py().to_bytes(8, "little", signed=True)
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.scalar(v, t).cast(pa.int64() if t.bit_width == 64 else pa.int32()).as_py().to_bytes(
            t.bit_width // 8, "little", signed=True)
    if pa.types.is_interval(t):
        return struct.pack("<iiq", v.months, v.days, v.nanoseconds)  # type: ignore[attr-defined]
    raise AssertionError(t)


def value(t: pa.DataType, v: object) -> bytes:
    """flag || payload of one value."""
    w = width(t)
    if v is None:
        return b"\x00" + (bytes(w) if w >= 0 else bytes(8))
    if w >= 0:
        return b"\x01" + fixed_bytes(t, v)
    content = _content(t, v)
    return b"\x01" + struct.pack("<Q", len(content)) + content


def _content(t: pa.DataType, v: object) -> bytes:
    if pa.types.is_dictionary(t):
        return _content(t.value_type, v)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return v.encode()  # type: ignore[attr-defined]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return bytes(v)  # type: ignore[arg-type]
    if pa.types.is_struct(t):
        return b"".join(value(f.type, v[f.name]) for f in t)  # type: ignore[index]
    if pa.types.is_map(t):
        entry = pa.struct([pa.field("key", t.key_type), pa.field("value", t.item_type)])
        items = list(v)  # type: ignore[call-overload]
        return struct.pack("<Q", len(items)) + b"".join(value(entry, {"key": k, "value": x}) for k, x in items)
    if pa.types.is_fixed_size_list(t):
        return b"".join(value(t.value_type, x) for x in v)  # type: ignore[attr-defined]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return struct.pack("<Q", len(v)) + b"".join(value(t.value_type, x) for x in v)  # type: ignore
    raise AssertionError(t)


def ref_rows(table: pa.Table) -> list[bytes]:
    """The row encoding, the head first (per column: tag, flag, fixed payload or length), then the
    contents of the variable-length values in column order."""
    cols = [(f.type, table.column(f.name).to_pylist()) for f in table.schema]
    out = []
    for i in range(table.num_rows):
        head, tail = b"", b""
        for t, vals in cols:
            v = vals[i]
            enc = value(t, v)
            if width(t) >= 0:
                head += tag(t) + enc
            else:
                head += tag(t) + enc[:9]
                tail += enc[9:]
        out.append(head + tail)
    return out


# -- tables -------------------------------------------------------------------------------------

def every_type() -> pa.Table:
    ts = pa.timestamp("us", tz="UTC")
    d = decimal.Decimal
    return pa.table({
        "b": pa.array([True, None, False], pa.bool_()),
        "i8": pa.array([-1, None, 127], pa.int8()),
        "i64": pa.array([7640891576956012808, None, -(2 ** 63)], pa.int64()),
        "u64": pa.array([2 ** 64 - 1, 0, None], pa.uint64()),
        "f32": pa.array([1.5, None, -0.0], pa.float32()),
        "f64": pa.array([float("nan"), -0.0, None], pa.float64()),
        "dec": pa.array([d("1.00"), None, d("-12345678901.25")], pa.decimal128(13, 2)),
        "dec256": pa.array([d("1"), d("-1"), None], pa.decimal256(40, 0)),
        "date": pa.array([datetime.date(2024, 1, 1), None, datetime.date(1969, 12, 31)], pa.date32()),
        "time": pa.array([datetime.time(1, 2, 3, 4), None, datetime.time(0)], pa.time64("us")),
        "ts": pa.array([datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), None,
                        datetime.datetime(1900, 1, 1, tzinfo=datetime.timezone.utc)], ts),
        "ts_naive": pa.array([datetime.datetime(2024, 1, 1), None, datetime.datetime(2000, 2, 29)], pa.timestamp("ms")),
        "dur": pa.array([datetime.timedelta(seconds=5), None, datetime.timedelta(0)], pa.duration("ns")),
        "iv": pa.array([pa.MonthDayNano([1, 2, 3]), None, pa.MonthDayNano([-1, 0, 0])], pa.month_day_nano_interval()),
        "s": pa.array(["a", None, ""], pa.string()),
        "ls": pa.array(["\x00\x01", "", None], pa.large_string()),
        "json": pa.array(['{"a": [1, 2]}', None, "null"], pa.string()),
        "bin": pa.array([b"\x00", None, b""], pa.binary()),
        "fsb": pa.array([b"abcd", None, b"\x00\x00\x00\x00"], pa.binary(4)),
        "tags": pa.array([["x", None], None, []], pa.list_(pa.string())),
        "ints": pa.array([[1, 2], [None], None], pa.large_list(pa.int32())),
        "pair": pa.array([[1, 2], None, [3, None]], pa.list_(pa.int16(), 2)),
        "st": pa.array([{"k": 1, "v": "x"}, None, {"k": None, "v": None}],
                       pa.struct([("k", pa.int64()), ("v", pa.string())])),
        "m": pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int32())),
        "dict": pa.array(["red", None, "red"]).dictionary_encode(),
        "nothing": pa.array([None, None, None], pa.null()),
    })


def test_encoding_matches_an_independent_encoder_for_every_type():
    t = every_type()
    got = ri.encode_rows(t).to_pylist()
    assert got == ref_rows(t)
    hashes = ri.row_hash_matrix(t)
    assert [bytes(h) for h in hashes] == [hashlib.sha256(r).digest() for r in ref_rows(t)]
    assert ri.row_hashes(t).type == pa.binary(32)
    # sliced (offset) arrays, chunked columns and the hashlib path give the same bytes
    assert ri.encode_rows(t.slice(1)).to_pylist() == ref_rows(t)[1:]
    chunked = pa.concat_tables([t.slice(0, 1), t.slice(1)])
    assert [bytes(h) for h in ri.row_hash_matrix(chunked)] == [bytes(h) for h in hashes]
    out = np.empty((3, 32), np.uint8)
    assert np.array_equal(ri._sha256_hashlib(ri.encode_rows(t), out), hashes)


def test_long_inputs_are_hashed_in_slices_with_the_same_result(monkeypatch):
    t = pa.table({"id": pa.array(range(1000), pa.int64()), "s": pa.array([str(i) * (i % 7) for i in range(1000)])})
    whole = ri.row_hash_matrix(t)
    monkeypatch.setattr(ri, "SLICE_ROWS", 64)
    assert np.array_equal(ri.row_hash_matrix(t), whole)
    assert [bytes(h) for h in whole] == [hashlib.sha256(r).digest() for r in ref_rows(t)]


def thue_morse(n: int) -> str:
    return "".join("ab"[bin(i).count("1") % 2] for i in range(n))


def distinct(*tables: pa.Table) -> None:
    hs = [bytes(ri.row_hash_matrix(t)[0]) for t in tables]
    assert len(set(hs)) == len(hs), [t.to_pylist() for t in tables]


def test_inputs_that_fooled_rows_v1_are_told_apart():
    tm = thue_morse(1024)
    comp = tm.translate(str.maketrans("ab", "ba"))
    distinct(pa.table({"s": [tm]}), pa.table({"s": [comp]}))
    magic = 0x6A09E667F3BCC908
    distinct(pa.table({"x": pa.array([None], pa.int64())}), pa.table({"x": pa.array([magic], pa.int64())}),
             pa.table({"x": pa.array([0], pa.int64())}))
    as_float = np.array([magic], np.uint64).view(np.float64)[0]
    distinct(pa.table({"x": pa.array([None], pa.float64())}), pa.table({"x": pa.array([as_float], pa.float64())}))
    # -0.0 and 0.0, NaN payloads: exact bits (docs/format.md says why)
    nan2 = np.array([0x7FF8000000000001], np.uint64).view(np.float64)[0]
    distinct(pa.table({"x": [0.0]}), pa.table({"x": [-0.0]}))
    distinct(pa.table({"x": [float("nan")]}), pa.table({"x": [nan2]}))
    # 1 vs '1' vs 1.0 vs decimal 1 vs true, and the same value at another scale
    distinct(pa.table({"x": pa.array([1], pa.int64())}), pa.table({"x": pa.array(["1"])}),
             pa.table({"x": pa.array([1.0])}), pa.table({"x": pa.array([decimal.Decimal("1")], pa.decimal128(5, 0))}),
             pa.table({"x": pa.array([True])}), pa.table({"x": pa.array([1], pa.int32())}),
             pa.table({"x": pa.array([decimal.Decimal("0.1")], pa.decimal128(5, 1))}))
    # values that move between columns, and strings holding the encoding's own bytes
    distinct(pa.table({"a": ["ab"], "b": [""]}), pa.table({"a": ["a"], "b": ["b"]}),
             pa.table({"a": [""], "b": ["ab"]}))
    sep = "\x00\x01" + "\x00" * 8
    distinct(pa.table({"a": [sep], "b": ["x"]}), pa.table({"a": [""], "b": [sep + "x"]}),
             pa.table({"a": [None], "b": ["x"]}))
    # nested: a NULL list, an empty list, a list holding a NULL; shifted list boundaries
    lt = pa.list_(pa.int64())
    distinct(pa.table({"l": pa.array([None], lt)}), pa.table({"l": pa.array([[]], lt)}),
             pa.table({"l": pa.array([[None]], lt)}), pa.table({"l": pa.array([[0]], lt)}))
    distinct(pa.table({"a": pa.array([[1, 2]], lt), "b": pa.array([[3]], lt)}),
             pa.table({"a": pa.array([[1]], lt), "b": pa.array([[2, 3]], lt)}))


def test_equal_rows_hash_alike_whatever_the_storage():
    a = pa.table({"s": pa.array(["x", None], pa.string())})
    b = pa.table({"s": pa.array(["x", None], pa.large_string())})
    c = pa.table({"s": pa.array(["x", None]).dictionary_encode()})
    assert np.array_equal(ri.row_hash_matrix(a), ri.row_hash_matrix(b))
    assert np.array_equal(ri.row_hash_matrix(a), ri.row_hash_matrix(c))


def test_union_columns_are_refused_naming_the_column():
    t = pa.table({"id": [1], "u": pa.UnionArray.from_sparse(pa.array([0], pa.int8()), [pa.array([1]), pa.array(["a"])])})
    assert not ri.hashable(t.schema)
    with pytest.raises(ri.UnhashableColumn, match="column 'u'"):
        ri.row_hashes(t)
    assert len(ri.key_hashes(t, ["id"])) == 1


def test_rows_digest_is_a_sum_mod_2_256_independent_of_order_and_slicing():
    t = every_type()
    h = ri.row_hash_matrix(t)
    want = sum(int.from_bytes(bytes(x), "big") for x in h) % (1 << 256)
    a, b = RowsDigest(), RowsDigest()
    a.add(h)
    b.add(h[2:])
    b.add(h[:2])
    assert a.digest() == b.digest() == f"rows-v2:3:{want:064x}"
    assert compare_digests(a.digest(), b.digest()) == (True, False)
    assert compare_digests("rows-v1:3:00:00", a.digest()) == (None, False)
    assert compare_digests("rows-v1:3:00:00", "rows-v1:3:00:00") == (True, True)
