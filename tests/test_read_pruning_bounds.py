"""Pruning never drops a row (issue 18, item 5): for every statistic type, a filtered read (fragments
pruned by partition values and min/max statistics) returns exactly the rows an unpruned read of the
whole table filtered row by row returns. Each column's values sit at the edges the stored form is
coarser than (nanoseconds under a microsecond, ±inf and NaN, -0.0, strings past 64 characters,
non-ASCII), one fragment per row or two, so that a wrong bound prunes a fragment that matches."""
from __future__ import annotations

import datetime as dt
import decimal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import lakepkg
from lakepkg.read.filters import to_expression
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.build import PackageBuilder
from lakepkg.write.chunking import ChunkingParams
from lakepkg.write.previous import PreviousVersion

BASE_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20 UTC
NS = [BASE_NS, BASE_NS + 1, BASE_NS + 999, BASE_NS + 2_000_000_001, BASE_NS + 2_000_001_000, BASE_NS - 1]


def _ts(unit: str, tz):
    scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1000, "ns": 1}[unit]
    vals = sorted({v // scale for v in NS})
    return pa.array(vals, pa.timestamp(unit, tz=tz)), [pd.Timestamp(v * scale, unit="ns", tz=tz or None) for v in vals]


def _edges(values):
    """Filter values around each value: the value itself, and 1 ns on either side (timestamps)."""
    out = []
    for v in values:
        out += [v, v + pd.Timedelta(1, "ns"), v - pd.Timedelta(1, "ns")]
    return out


def _cases():
    cases = []
    for unit in ("s", "ms", "us", "ns"):
        for tz in (None, "UTC", "Europe/Paris"):
            arr, vals = _ts(unit, tz)
            cases.append((f"timestamp[{unit}, {tz}]", arr, _edges(vals)))
    cases.append(("time64[ns]", pa.array([1, 1000, 1001, 86_399_999_999_999], pa.time64("ns")),
                  [dt.time(0, 0, 0, 1), dt.time(0, 0, 0, 0), dt.time(0, 0, 0, 2), dt.time(23, 59, 59, 999999)]))
    cases.append(("time64[us]", pa.array([1, 1001], pa.time64("us")), [dt.time(0, 0, 0, 1), dt.time(0, 0, 0, 1001)]))
    d = [decimal.Decimal(x) for x in ("-2.25", "1.10", "1.11", "99999999.99")]
    cases.append(("decimal128(10,2)", pa.array(d, pa.decimal128(10, 2)), d + [decimal.Decimal("1.105")]))
    f = [1.0, float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324]
    cases.append(("float64", pa.array(f, pa.float64()), [1.0, 0.0, -0.0, float("inf"), float("-inf"), 5.0, 5e-324]))
    cases.append(("float32", pa.array(f, pa.float32()), [1.0, 0.0, float("inf"), 5.0]))
    s = ["a" * 70, "a" * 64 + "b", "é", "ä", "z", "😀", "", "e\u0301"]
    cases.append(("string", pa.array(s), s + ["a" * 65, "ab", "f"]))
    dates = [dt.date(1970, 1, 1), dt.date(2023, 11, 14), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
    cases.append(("date32", pa.array(dates, pa.date32()), dates + [dt.date(2023, 11, 15)]))
    return cases


OPS = ("==", "!=", "<", "<=", ">", ">=")


def _check(table, col, values):
    """For every filter: the fragments the plan keeps hold every row an unpruned, row-by-row filtered read
    returns (pruning never drops a row); for set lookups the planned read itself returns exactly those rows."""
    whole = table.to_arrow()
    assert whole.num_rows > 0
    ids_of = {f.key: set(f.to_arrow(["id"])["id"].to_pylist()) for f in table.fragments()}
    filters = [[(col, op, v)] for op in OPS for v in values]
    filters += [[(col, op, vals)] for vals in (values[:2], values[-2:]) for op in ("in", "not in")]
    for flt in filters:
        want = set(whole.filter(to_expression([flt]))["id"].to_pylist())
        kept = set().union(*(ids_of[t.key] for t in table.scan(flt).tasks))
        assert want <= kept, (flt, sorted(want - kept))
        if flt[0][1] in ("in", "not in", "=="):
            assert set(table.to_arrow(filters=flt)["id"].to_pylist()) == want, flt


@pytest.mark.parametrize("name,arr,values", _cases(), ids=[c[0] for c in _cases()])
def test_pruned_equals_unpruned(registry, name, arr, values):
    t = pa.table({"id": pa.array(range(len(arr)), pa.int64()), "v": arr,
                  "nested": pa.array([{"a": i, "b": [i, i]} for i in range(len(arr))])})
    b = PackageBuilder(registry)
    b.add_table("t", t, rows_per_fragment=1)  # one row per fragment: every bound decides
    ref = b.publish("bounds/t").ref
    table = lakepkg.load(ref, registry)["t"]
    assert len(table.fragments()) == len(arr)
    _check(table, "v", values)
    assert table.to_arrow(filters=[("id", ">=", 0)])["nested"].to_pylist() == t["nested"].to_pylist()


def test_nanosecond_maxima_are_rounded_up(registry):
    t = pa.table({"ts": pa.array([BASE_NS + 2_000_000_001], pa.timestamp("ns")),
                  "tm": pa.array([1001], pa.time64("ns"))})
    b = PackageBuilder(registry)
    b.add_table("t", t)
    stats = lakepkg.load(b.publish("bounds/ns").ref, registry)["t"].fragments()[0].stats
    assert stats["ts"] == {"min": "2023-11-14T22:13:22.000000", "max": "2023-11-14T22:13:22.000001", "nulls": 0}
    assert stats["tm"] == {"min": "00:00:00.000001", "max": "00:00:00.000002", "nulls": 0}


def test_fragments_with_deletion_vectors_prune_like_an_unpruned_read(registry):
    n = 3000
    ids = pa.array(range(n), pa.int64())
    ts = pa.array([BASE_NS + i * 1_000_000_001 for i in range(n)], pa.timestamp("ns"))
    amt = pa.array([decimal.Decimal(i) / 100 for i in range(n)], pa.decimal128(12, 2))
    chunking = ChunkingParams(mask_bits=6, min_rows=32, max_rows=256)

    def snap(t):
        return TableSnapshot(name="t", schema=t.schema, batches=t.to_batches(max_chunksize=500), key_columns=["id"],
                             chunking=chunking)

    first = pa.table({"id": ids, "ts": ts, "amt": amt})
    b = PackageBuilder(registry)
    b.add_snapshot(snap(first))
    one = b.publish("bounds/dv")
    # every 97th row updated (its ts moves by 1 ns past a microsecond), every 89th deleted
    keep = pc.not_equal(pc.modulo(ids, 89), 0) if hasattr(pc, "modulo") else None
    rows = first.to_pylist()
    second_rows = [dict(r, ts=r["ts"] + pd.Timedelta(1, "ns")) if i % 97 == 0 else r
                   for i, r in enumerate(rows) if i % 89]
    second = pa.Table.from_pylist(second_rows, schema=first.schema)
    del keep
    prev = PreviousVersion(registry.store, one.top_hash, one.record)
    b = PackageBuilder(registry)
    b.add_snapshot(snap(second), previous=prev)
    table = lakepkg.load(b.publish("bounds/dv").ref, registry)["t"]
    assert any(f.entry.deletes for f in table.fragments())  # the case under test
    assert table.to_arrow().num_rows == len(second_rows)
    probe = [pd.Timestamp(BASE_NS + i * 1_000_000_001, unit="ns") for i in (0, 97, 89, 1000, 2999)]
    _check(table, "ts", _edges(probe))
    _check(table, "amt", [decimal.Decimal(i) / 100 for i in (0, 89, 97, 1500, 2999)])
