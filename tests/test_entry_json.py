"""The fast entry encoder (lakepkg/format/entry_json.py) writes the same bytes as canonical_json,
on many entries with edge values, and refuses what canonical JSON refuses; pages written through
the threaded page writer and read back in one parse give the same entries, hashes and order."""
from __future__ import annotations

import json
import random
import string

import pytest

from lakepkg.format import manifest
from lakepkg.format.canonical import canonical_json
from lakepkg.format.entry_json import canonical_line
from lakepkg.format.manifest import Entry, EntrySorter, build_table_node, read_page, read_page_raw

EDGE_STRINGS = ["", "plain", "quote\"s", "back\\slash", "/slash", "\x00\x01\x1f\x7f", "\b\f\n\r\t",
                "é ü ß", "\u2028\u2029", "\U0001F600 emoji", "\uffff", "\U00010000", "日本語", "a" * 300,
                "ds=2026-01-01/part-0.parquet", "}", "{\"x\":1}", ",\"partition\":{"]
EDGE_NUMBERS = [0, 1, -1, 255, 256, 2 ** 31, -2 ** 31, 2 ** 53 + 1, 2 ** 63 - 1, -2 ** 63, 2 ** 63, 2 ** 64 - 1,
                2 ** 64, -2 ** 63 - 1, 10 ** 30, 0.0, -0.0, 1.0, 0.1, 1.5, 1e16, 1e15, 1e-7, 1e-5, 123456789.123,
                1.7976931348623157e308, 5e-324, 2.5e-320, 3.141592653589793, -2.5, 1e22, 1e21, 1e100, True, False, None]


def _value(rng: random.Random, depth: int = 0) -> object:
    r = rng.random()
    if depth < 3 and r < 0.15:
        return {_key(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if depth < 3 and r < 0.25:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if r < 0.6:
        return rng.choice(EDGE_NUMBERS)
    return rng.choice(EDGE_STRINGS) if rng.random() < 0.5 else "".join(
        rng.choice(string.printable + "éß日\u2028\x00\x7f") for _ in range(rng.randint(0, 12)))


def _key(rng: random.Random) -> str:
    return rng.choice(EDGE_STRINGS + ["min", "max", "nulls", "a", "B", "é", "\U00010000", "\uffff", "z" * 5])


def _entries(n: int, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        stats = {f"c{j}": {"min": _value(rng), "max": _value(rng), "nulls": rng.choice([0, 3, None])}
                 for j in range(rng.randint(0, 3))}
        out.append(Entry(
            key=f"{rng.choice(EDGE_STRINGS)}/part-{i}.parquet", object=f"{i:064x}", size=rng.choice(EDGE_NUMBERS[:13]),
            kind=rng.choice(["fragment", "file"]), rows=rng.choice([None, 0, 10, 2 ** 40]),
            partition=rng.choice([None, {}, {"ds": _value(rng)}, {"a": _value(rng), "b": _value(rng)}]),
            stats=stats or None, meta=rng.choice([None, {"m": _value(rng)}, {"x": [1.5, {"y": 2.0}]}]),
            deletes=rng.choice([None, {"object": "f" * 64, "count": 3, "size": 120}])))
    return out


def test_fast_encoder_writes_canonical_json_byte_for_byte():
    checked = floats = 0
    for e in _entries(5000):
        d = e.to_json()
        try:
            want = canonical_json(d) + b"\n"
        except Exception:  # noqa: BLE001 - compared below: the fast encoder must refuse too
            with pytest.raises((ValueError, TypeError)):
                canonical_line(d)
            continue
        assert canonical_line(d) == want, d
        assert e.line() == want
        checked += 1
        floats += b"." in want or b"e+" in want or b"e-" in want
    assert checked > 4000 and floats > 1000  # the edge values really went through both paths


@pytest.mark.parametrize("bad, exc", [({"x": float("nan")}, ValueError), ({"x": float("inf")}, ValueError),
                                      ({"x": {1, 2}}, TypeError), ({"x": b"bytes"}, TypeError),
                                      ({"x": "\ud800"}, UnicodeEncodeError)])
def test_fast_encoder_refuses_what_canonical_json_refuses(bad, exc):
    with pytest.raises(exc):
        canonical_line(bad)
    with pytest.raises(exc):
        json.dumps(bad, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_threaded_page_writer_spilled_sorter_and_one_parse_reads(registry, monkeypatch):
    """Spilled runs merged, pages written by the writer threads and read back whole: the same
    entries in key order as the normative encoding, page hashes equal to the hash of their bytes."""
    import hashlib

    import pyarrow as pa

    monkeypatch.setattr(manifest, "SORT_BUFFER", 700)  # several spilled runs
    entries = [e for e in _entries(3000, seed=11)]
    entries = [e for e in entries if _encodable(e)]
    sorter = EntrySorter("t")
    for e in reversed(entries):
        sorter.add(e)
    _h, node = build_table_node(registry.store, "t", pa.schema([("x", pa.int64())]), sorter)
    assert len(node.pages) > 3
    got = []
    for page in node.pages:
        data = registry.store.get_bytes(page.hash)
        assert hashlib.sha256(data).hexdigest() == page.hash
        raw = read_page_raw(registry.store, page)
        assert [canonical_json(d) + b"\n" for d in raw] == data.splitlines(keepends=True)
        assert [e.key for e in read_page(registry.store, page)] == [d["key"] for d in raw]
        assert page.first == raw[0]["key"] and page.last == raw[-1]["key"] and page.entries == len(raw)
        got += raw
    want = sorted((e.to_json() for e in entries), key=lambda d: d["key"].encode("utf-8"))
    assert got == want


def _encodable(e: Entry) -> bool:
    """Canonical JSON can write it and the page parser reads it back as written (orjson reads an
    integer past 64 bits as a float, as the per-line reads did: sizes are far below that)."""
    import orjson

    from lakepkg.format.names import checked_stored_key

    try:
        checked_stored_key(e.key, "a test entry")
        text = canonical_json(e.to_json())
    except Exception:  # noqa: BLE001
        return False
    return canonical_json(orjson.loads(text)) == text


def test_a_page_line_that_is_not_json_is_an_integrity_error(registry):
    from lakepkg.errors import IntegrityError
    from lakepkg.format.manifest import PageRef

    for data in (b'{"key":"a"}\nnot json\n', b'{"key":"a"},{"key":"b"}\n', b'{"key":"a"}\n\n'):
        h = registry.store.put_bytes(data)
        with pytest.raises(IntegrityError, match="not JSON"):
            read_page_raw(registry.store, PageRef(h, "a", "b", 2, 0, 0))
