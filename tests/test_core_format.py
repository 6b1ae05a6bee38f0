"""The package format: hashing rules recomputed from stored files with hashlib alone, determinism, pages."""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import lakepkg
from lakepkg.write.build import PackageBuilder
from lakepkg.format import manifest


def _df(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": np.arange(n), "ds": [f"2026-11-0{i % 3 + 1}" for i in range(n)],
                         "amount": rng.normal(size=n), "name": [f"n{i}" for i in range(n)]})


def _obj(root, digest):
    return open(os.path.join(root, "objects", digest[:2], digest), "rb").read()


def test_top_hash_recomputed_with_hashlib_only(registry, home):
    b = PackageBuilder(registry, meta={"owner": "team-a"})
    b.add_table("orders", _df(), partition_cols=["ds"], meta={"desc": "orders"})
    b.add_file("README.md", b"# docs\n")
    rec = b.publish("t/format", "m")
    root_dir = os.path.join(str(home), "registry")

    # Follow docs/format.md with nothing but hashlib and json.
    def check(d):
        data = _obj(root_dir, d)
        assert hashlib.sha256(data).hexdigest() == d
        return data

    root_bytes = check(rec.top_hash)
    root = json.loads(root_bytes)
    assert json.dumps(root, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == root_bytes
    assert root["format"] == "lakepkg/1" and root["kind"] == "package"
    for t in root["tables"]:
        node_bytes = check(t["hash"])
        node = json.loads(node_bytes)
        assert json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == node_bytes
        total_rows = 0
        for p in node["pages"]:
            page = check(p["hash"])
            lines = page.splitlines()
            assert len(lines) == p["entries"]
            entries = [json.loads(l) for l in lines]
            assert [e["key"] for e in entries] == sorted(e["key"] for e in entries)
            for e in entries:
                assert hashlib.sha256(_obj(root_dir, e["object"])).hexdigest() == e["object"]
                total_rows += e["rows"]
        assert total_rows == node["rows"] == 1000
    for p in root["files"]:
        for line in check(p["hash"]).splitlines():
            e = json.loads(line)
            assert _obj(root_dir, e["object"]) == b"# docs\n"
    # the top hash covers everything: flipping a metadata value changes it
    b2 = PackageBuilder(registry, meta={"owner": "team-b"})
    b2.add_table("orders", _df(), partition_cols=["ds"], meta={"desc": "orders"})
    b2.add_file("README.md", b"# docs\n")
    built = b2.build()
    assert built.top_hash != rec.top_hash
    # ...but identical tables keep their node hash (a diff skips them)
    assert built.root.tables["orders"] == root["tables"][0]["hash"]


def test_same_content_same_top_hash_and_no_new_version(registry):
    def build():
        b = PackageBuilder(registry)
        b.add_table("orders", _df(), partition_cols=["ds"])
        return b.publish("t/det", "x")

    r1 = build()
    r2 = build()
    assert r1.top_hash == r2.top_hash
    assert len(registry.history("t/det")) == 1  # a retried task mints nothing


def test_pages_are_content_defined_and_bounded(registry, monkeypatch):
    entries = [manifest.Entry(key=f"k{i:07d}", object="0" * 64, size=10, rows=1) for i in range(20_000)]
    s = manifest.EntrySorter("t")
    for e in reversed(entries):
        s.add(e)
    pages, rows, nbytes = manifest.write_pages(registry.store, s.sorted_entries())
    assert rows == 20_000 and nbytes == 200_000
    assert all(manifest.PAGE_MIN <= p.entries <= manifest.PAGE_MAX for p in pages[:-1])
    # insert one key in the middle: only pages around it change
    s2 = manifest.EntrySorter("t")
    for e in entries + [manifest.Entry(key="k0010000a", object="1" * 64, size=10, rows=1)]:
        s2.add(e)
    pages2, _, _ = manifest.write_pages(registry.store, s2.sorted_entries())
    changed = {p.hash for p in pages2} - {p.hash for p in pages}
    assert 1 <= len(changed) <= 2 and len(pages2) >= len(pages)


def test_entry_sorter_spills_and_merges(registry, monkeypatch):
    monkeypatch.setattr(manifest, "SORT_BUFFER", 1000)
    s = manifest.EntrySorter("t")
    keys = [f"k{(i * 7919) % 5000:05d}" for i in range(5000)]
    for k in keys:
        s.add(manifest.Entry(key=k, object="0" * 64, size=1))
    out = [k for k, *_ in s.sorted_entries()]
    assert out == sorted(keys)


def test_schema_roundtrip_covers_lake_types():
    from lakepkg.format.schema_json import schema_from_json, schema_to_json

    sch = pa.schema([
        ("a", pa.int8()), ("b", pa.uint64()), ("c", pa.decimal128(12, 3)), ("d", pa.timestamp("us", tz="UTC")),
        ("e", pa.timestamp("ns")), ("f", pa.date32()), ("g", pa.time64("us")), ("h", pa.list_(pa.int32())),
        ("i", pa.map_(pa.string(), pa.float64())), ("j", pa.struct([("x", pa.int16()), ("y", pa.string())])),
        ("k", pa.binary()), ("l", pa.large_string()), ("m", pa.duration("us")), ("n", pa.month_day_nano_interval()),
        ("o", pa.dictionary(pa.int32(), pa.string())), ("p", pa.decimal256(50, 2)), ("q", pa.bool_()),
    ])
    js = schema_to_json(sch)
    assert json.loads(json.dumps(js)) == js
    assert schema_from_json(js).equals(sch)


def test_read_back_pandas_arrow_and_pruning(registry):
    b = PackageBuilder(registry)
    b.add_table("orders", _df(3000), partition_cols=["ds"])
    rec = b.publish("t/read", "x")
    pkg = lakepkg.load("t/read", registry)
    t = pkg["orders"]
    assert t.rows == 3000 and t.partition_columns == ["ds"]
    assert sorted(p["ds"] for p in t.partitions) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    # partition pruning reads one fragment, row filter applied after
    assert len(t.fragments([("ds", "==", "2026-11-02")])) == 1
    got = t.to_pandas(filters=[("ds", "==", "2026-11-02"), ("id", "<", 30)])
    assert sorted(got["id"]) == [i for i in range(30) if i % 3 == 1]
    # min/max pruning: ids are 0..2999 spread over all partitions, so a filter past the max prunes all
    assert t.fragments([("id", ">", 5000)]) == []
    # a leaf is a pandas frame, with its partition column
    leaf = t.fragments()[0]
    df = leaf.to_pandas()
    assert len(df) == 1000 and set(df["ds"]) == {"2026-11-01"}
    ds = t.to_arrow_dataset([("ds", "in", ["2026-11-01", "2026-11-03"])])
    assert ds.count_rows() == 2000
    assert lakepkg.load(f"t/read@{rec.top_hash[:8]}/orders", registry).rows == 3000


def test_build_from_folders_parquet_and_csv(registry, tmp_path):
    import pyarrow.parquet as pq

    for day in (1, 2):
        d = tmp_path / "pq" / f"ds=2026-11-0{day}" / f"hour={day}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"x": [day, day + 10]}), d / "f.parquet")
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("x,y\n1,a\n2,b\n")
    (tmp_path / "csv" / "b.csv").write_text("x,y\n3,c\n")
    b = PackageBuilder(registry)
    b.add_path("pq", str(tmp_path / "pq"))
    b.add_path("csv", str(tmp_path / "csv"))
    b.publish("t/folders")
    pkg = lakepkg.load("t/folders", registry)
    t = pkg["pq"]
    assert t.partition_columns == ["ds", "hour"]
    assert t.schema.field("hour").type == pa.int64()
    assert sorted(t.to_pandas()["x"]) == [1, 2, 11, 12]
    assert sorted(pkg["csv"].to_pandas()["y"]) == ["a", "b", "c"]
    # the Parquet source files are stored byte for byte (dedup of unchanged files)
    frag = t.fragments()[0]
    src = tmp_path / "pq" / "ds=2026-11-01" / "hour=1" / "f.parquet"
    assert open(frag.local_path(), "rb").read() == src.read_bytes()


def test_filter_subpackage_publish_records_source(registry):
    b = PackageBuilder(registry)
    b.add_table("orders", _df(), partition_cols=["ds"], meta={"domain": "sales"})
    b.add_table("debug", _df(10), meta={"domain": "internal"})
    rec = b.publish("t/full")
    pkg = lakepkg.load("t/full", registry)
    sub = pkg.filter(where=lambda name, meta: meta.get("domain") == "sales", partitions=[("ds", "==", "2026-11-01")])
    drec = sub.publish("t/derived")
    d = lakepkg.load("t/derived", registry)
    assert d.tables == ["orders"] and d["orders"].rows == 334
    assert drec.record.derived_from == f"t/full@{rec.top_hash}"
    assert d["orders"].to_pandas()["ds"].unique().tolist() == ["2026-11-01"]


def test_entry_lines_are_canonical_json_whatever_the_encoder():
    cases = [
        manifest.Entry(key="ds=é/ü 1.parquet", object="a" * 64, size=3, rows=2, partition={"ds": "é"},
                       stats={"x": {"min": -5, "max": 2**62, "nulls": 0}, "s": {"min": "a\u0001\\\"", "max": "\u2028z"}},
                       meta={"b": [1, True, None], "a": {"z": 1, "y": "/"}}),
        manifest.Entry(key="k", object="b" * 64, size=1, stats={"f": {"min": 1e16, "max": 0.1, "nulls": 1}}),
    ]
    for e in cases:
        want = json.dumps(e.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode() + b"\n"
        assert e.line() == want


# A checker written from docs/format.md alone. It runs in a separate interpreter started with
# ``-I -S`` (no site-packages, so lakepkg cannot even be imported) and uses hashlib and json only.
OUTSIDER = r'''
import hashlib, json, os, sys
root_dir, top = sys.argv[1], sys.argv[2]
try:
    import lakepkg  # noqa: F401
    raise SystemExit("lakepkg must not be importable here")
except ImportError:
    pass

def obj(d):
    data = open(os.path.join(root_dir, "objects", d[:2], d), "rb").read()
    if hashlib.sha256(data).hexdigest() != d:
        raise SystemExit("MISMATCH " + d)
    return data

def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")

def node(d):
    b = obj(d)
    o = json.loads(b)
    assert canon(o) == b, "node not canonical"
    return o

def walk_pages(refs):
    keys, rows, size = [], 0, 0
    for i, ref in enumerate(refs):
        page = obj(ref["hash"])
        assert page.endswith(b"\n")
        lines = page[:-1].split(b"\n")
        entries = [json.loads(l) for l in lines]
        assert all(canon(e) == l for e, l in zip(entries, lines)), "entry not canonical"
        assert len(entries) == ref["entries"]
        assert entries[0]["key"] == ref["first"] and entries[-1]["key"] == ref["last"]
        assert sum(e.get("rows", 0) for e in entries) == ref["rows"]
        assert sum(e["size"] for e in entries) == ref["bytes"]
        # content-defined boundaries: a page ends where the rule fires (>= 32 entries) or at 4096
        for j, e in enumerate(entries[:-1]):
            fires = hashlib.sha256(e["key"].encode("utf-8")).digest()[-1] == 0
            assert not (fires and j + 1 >= 32), "page should have ended earlier"
        if i < len(refs) - 1:
            last = entries[-1]["key"]
            assert len(entries) == 4096 or (len(entries) >= 32 and hashlib.sha256(last.encode()).digest()[-1] == 0)
        for e in entries:
            assert e["kind"] in ("fragment", "file") and not any(v is None for v in e.values())
            assert not e["key"].startswith("/") and ".." not in e["key"].split("/")
            assert len(obj(e["object"])) == e["size"]
            keys.append(e["key"].encode("utf-8"))
            rows += e.get("rows", 0)
            size += e["size"]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    return len(keys), rows, size

root = node(top)
assert root["format"] == "lakepkg/1" and root["kind"] == "package"
names = [t["name"] for t in root["tables"]]
assert names == sorted(names)
out = {"tables": {}, "files": walk_pages(root["files"])[0]}
for t in root["tables"]:
    tn = node(t["hash"])
    assert tn["kind"] == "table" and tn["name"] == t["name"]
    n, rows, size = walk_pages(tn["pages"])
    assert (n, rows, size) == (tn["fragments"], tn["rows"], tn["bytes"])
    out["tables"][t["name"]] = {"fragments": n, "rows": rows, "pages": len(tn["pages"])}
print(json.dumps(out))
'''


def _outsider(root_dir, top):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-I", "-S", "-c", OUTSIDER, root_dir, top], capture_output=True, text=True)


def test_outsider_recomputes_top_hash_without_lakepkg(registry, home):
    n = 4000  # enough fragments for several content-defined pages
    b = PackageBuilder(registry, meta={"owner": "team-a", "note": "é"})
    b.add_table("orders", _df(n).assign(part=lambda d: d["id"] % 800), partition_cols=["part"])
    b.add_table("small", _df(10))
    b.add_file("README.md", b"# docs\n")
    b.add_file("docs/a.txt", b"a")
    rec = b.publish("t/outsider", "m")
    root_dir = os.path.join(str(home), "registry")
    p = _outsider(root_dir, rec.top_hash)
    assert p.returncode == 0, p.stderr + p.stdout
    out = json.loads(p.stdout)
    assert out["tables"]["orders"]["fragments"] == 800 and out["tables"]["orders"]["rows"] == n
    assert out["tables"]["orders"]["pages"] > 1 and out["files"] == 2
    # a single flipped byte in one fragment is caught
    frag = lakepkg.load("t/outsider", registry)["small"].fragments()[0].object
    path = os.path.join(root_dir, "objects", frag[:2], frag)
    os.chmod(path, 0o644)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 1
    open(path, "wb").write(bytes(data))
    p = _outsider(root_dir, rec.top_hash)
    assert p.returncode != 0 and f"MISMATCH {frag}" in p.stderr
