"""The deletion-vector format and the rows digest, checked from docs/format.md alone; old content
keeps its hashes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from lakepkg.errors import IntegrityError
from lakepkg.format.deletion_vector import ENC_BITMAP, ENC_POSITIONS, MAGIC, decode, encode
from lakepkg.format.manifest import Entry
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.build import PackageBuilder
from lakepkg.write.chunking import ChunkingParams
from tests.fixtures.databases import pg_exec
from tests.test_deltas_sql import _pg_day, _pg_load, _snap


def test_vector_codec_picks_the_shorter_encoding_and_rejects_damage():
    sparse = encode(np.array([3, 700, 701, 9000]), 10_000)
    dense = encode(np.arange(0, 10_000, 2), 10_000)
    assert sparse.startswith(MAGIC) and sparse[len(MAGIC) + 3] == ENC_POSITIONS
    assert dense[len(MAGIC) + 4] == ENC_BITMAP and len(dense) == len(MAGIC) + 5 + 1250
    assert decode(sparse)[1].tolist() == [3, 700, 701, 9000] and decode(dense)[1].tolist() == list(range(0, 10_000, 2))
    assert encode(np.array([1, 2]), 5) == encode(np.array([1, 2]), 5)  # deterministic bytes
    for bad in (b"XXXXXXXX" + sparse[8:], sparse[:-1], sparse + b"\x00", dense[:-1]):
        with pytest.raises(IntegrityError):
            decode(bad)
    with pytest.raises(ValueError):
        encode(np.array([5, 3]), 10)


def test_entries_without_vectors_and_keyed_snapshots_hash_as_before(registry):
    e = Entry(key="a.parquet", object="0" * 64, size=3, rows=2)
    assert e.line() == b'{"key":"a.parquet","kind":"fragment","object":"' + b"0" * 64 + b'","rows":2,"size":3}\n'
    t = pa.table({"id": pa.array(range(5000), pa.int64()), "s": pa.array([f"v{i % 37}" for i in range(5000)]),
                  "f": pa.array([i / 7 for i in range(5000)])})
    b = PackageBuilder(registry)
    b.add_snapshot(TableSnapshot(name="t", schema=t.schema, batches=t.to_batches(max_chunksize=700), key_columns=["id"],
                                 chunking=ChunkingParams(mask_bits=6, min_rows=32, max_rows=512)))
    # the top hash main computed for this content before deletion vectors existed
    assert b.build().top_hash == "2c4119b25a94d3491758d69f9f08b01c787b5d71edb01af3f8901697cbc4fdf7"


# Written from docs/format.md only; run with -I -S (lakepkg cannot be imported), hashlib and json only.
VECTOR_CHECKER = r'''
import hashlib, json, os, sys
root_dir, top = sys.argv[1], sys.argv[2]
def obj(d):
    data = open(os.path.join(root_dir, "objects", d[:2], d), "rb").read()
    if hashlib.sha256(data).hexdigest() != d:
        raise SystemExit("MISMATCH " + d)
    return data
def varints(b, i, n):
    out = []
    for _ in range(n):
        v = s = 0
        while True:
            x = b[i]; i += 1; v |= (x & 0x7F) << s; s += 7
            if x < 0x80: break
        out.append(v)
    return out, i
root = json.loads(obj(top))
report = {}
for t in root["tables"]:
    tn = json.loads(obj(t["hash"]))
    vectors = deleted = live = 0
    for ref in tn["pages"]:
        for line in obj(ref["hash"]).splitlines():
            e = json.loads(line)
            live += e["rows"]
            obj(e["object"])
            dv = e.get("deletes")
            if not dv:
                continue
            data = obj(dv["object"])
            assert len(data) == dv["size"] and data[:8] == b"LPKGDV1\n"
            (R, C), i = varints(data, 8, 2)
            assert C == dv["count"] and R == e["rows"] + C, (R, C, e)
            if data[i] == 1:
                d, end = varints(data, i + 1, C)
                assert end == len(data)
                pos = [sum(d[:k + 1]) for k in range(C)]
            else:
                assert data[i] == 2 and len(data) == i + 1 + (R + 7) // 8
                pos = [r for r in range(R) if data[i + 1 + r // 8] >> (r % 8) & 1]
            assert pos == sorted(set(pos)) and len(pos) == C and all(p < R for p in pos)
            vectors += 1
            deleted += C
    assert live == tn["rows"]
    report[t["name"]] = {"vectors": vectors, "deleted": deleted, "rows": live}
print(json.dumps(report))
'''

# The rows-v2 digest from docs/format.md ("Row identity", "Rows digest"), in plain Python ints and
# hashlib. pyarrow reads Parquet; nothing of lakepkg is imported.
DIGEST_CHECKER = r'''
import hashlib, json, os, struct, sys
import pyarrow.parquet as pq
root_dir, top = sys.argv[1], sys.argv[2]
def path(d): return os.path.join(root_dir, "objects", d[:2], d)
INTS = {"int8": (0x02, 1), "int16": (0x03, 2), "int32": (0x04, 4), "int64": (0x05, 8)}
UNITS = {"s": 0, "ms": 1, "us": 2, "ns": 3}
def tag(t):
    if t["type"] in INTS: return bytes([INTS[t["type"]][0]])
    if t["type"] == "float64": return b"\x0c"
    if t["type"] == "string": return b"\x20"
    if t["type"] == "timestamp":
        tz = b"\x00" if t["tz"] is None else b"\x01" + struct.pack("<I", len(t["tz"].encode())) + t["tz"].encode()
        return bytes([0x13, UNITS[t["unit"]]]) + tz
    raise SystemExit("type not in this checker: %r" % t)
def head_tail(t, v):
    """(tag || flag || fixed payload or length, variable-length content)"""
    if t["type"] == "string":
        b = b"" if v is None else v.encode("utf-8")
        return tag(t) + (b"\x00" if v is None else b"\x01") + struct.pack("<Q", len(b)), b
    if v is None:
        w = 8 if t["type"] in ("float64", "timestamp") else INTS[t["type"]][1]
        return tag(t) + b"\x00" + bytes(w), b""
    if t["type"] == "float64": return tag(t) + b"\x01" + struct.pack("<d", v), b""
    w = 8 if t["type"] == "timestamp" else INTS[t["type"]][1]
    return tag(t) + b"\x01" + v.to_bytes(w, "little", signed=True), b""
def varints(b, i, n):
    out = []
    for _ in range(n):
        v = s = 0
        while True:
            x = b[i]; i += 1; v |= (x & 0x7F) << s; s += 7
            if x < 0x80: break
        out.append(v)
    return out, i
root = json.load(open(path(top), "rb"))
t = json.load(open(path(root["tables"][0]["hash"]), "rb"))
types = {f["name"]: f for f in t["schema"]}
names = [f["name"] for f in t["schema"]]
n = total = 0
for ref in t["pages"]:
    for line in open(path(ref["hash"]), "rb").read().splitlines():
        e = json.loads(line)
        tab = pq.read_table(path(e["object"]))
        gone = set()
        if e.get("deletes"):
            data = open(path(e["deletes"]["object"]), "rb").read()
            (R, C), i = varints(data, 8, 2)
            if data[i] == 1:
                d, _ = varints(data, i + 1, C); acc = 0
                for x in d: acc += x; gone.add(acc)
            else:
                gone = {r for r in range(R) if data[i + 1 + r // 8] >> (r % 8) & 1}
        cols = {c: (tab.column(c).cast("int64") if types[c]["type"] == "timestamp" else tab.column(c)).to_pylist()
                for c in names}
        for r in range(tab.num_rows):
            if r in gone: continue
            parts = [head_tail(types[c], cols[c][r]) for c in names]
            row = b"".join(h for h, _ in parts) + b"".join(x for _, x in parts)
            n += 1; total = (total + int.from_bytes(hashlib.sha256(row).digest(), "big")) % (1 << 256)
print("rows-v2:%d:%064x" % (n, total))
print("lakepkg" in sys.modules)
'''


def test_outsider_checks_vectors_and_recomputes_the_rows_digest(pg_url, registry, home):
    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    root_dir = os.path.join(str(home), "registry")
    p = subprocess.run([sys.executable, "-I", "-S", "-c", VECTOR_CHECKER, root_dir, rec.top_hash],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)["flights"]
    assert rep["vectors"] >= 5 and rep["rows"] == pg_exec(pg_url, "SELECT count(*) FROM flights")[0][0]
    q = subprocess.run([sys.executable, "-c", DIGEST_CHECKER, root_dir, rec.top_hash], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr
    digest, imported = q.stdout.split()
    assert imported == "False"
    assert digest == rec.sources["flights"]["volatile"]["rows_digest"]
    # a flipped byte in a vector is caught by the outsider too
    e = next(d for d in __import__("lakepkg").load(f"air/flights@{rec.top_hash}", registry)["flights"].iter_entries()
             if d.get("deletes"))
    vp = os.path.join(root_dir, "objects", e["deletes"]["object"][:2], e["deletes"]["object"])
    os.chmod(vp, 0o644)
    data = bytearray(open(vp, "rb").read())
    data[-1] ^= 1
    open(vp, "wb").write(bytes(data))
    p = subprocess.run([sys.executable, "-I", "-S", "-c", VECTOR_CHECKER, root_dir, rec.top_hash],
                       capture_output=True, text=True)
    assert p.returncode != 0 and f"MISMATCH {e['deletes']['object']}" in p.stderr


def test_table_wide_deleted_share_compacts_the_most_deleted_fragments_first():
    """A table whose deleted rows (still decoded by every read) pass the policy's table-wide share
    gets its most-deleted fragments rewritten, worst first, until it is back at the target share;
    the choice depends only on the entries (same previous version, same choice)."""
    from lakepkg.write.chunking import ChunkingParams
    from lakepkg.write.deletion_vectors import CompactionPolicy, _needs_compaction

    dead = [0, 500, 1500, 1200, 900]  # of 10,000 stored rows each: 8.2% of the table
    entries = [{"key": f"part-{i}.parquet", "object": "0" * 64, "size": 1, "rows": 10_000 - d,
                **({"deletes": {"object": "1" * 64, "count": d, "size": 1}} if d else {})} for i, d in enumerate(dead)]
    params = ChunkingParams(min_rows=1)
    policy = CompactionPolicy(max_table_deleted_share=0.08, table_target_share=0.05)
    # worst first: part-2 (15%) leaves 2,600 of 48,500 (5.4%), part-3 (12%) then 1,400 of 47,300 (3.0%)
    assert _needs_compaction(entries, params, policy) == [2, 3]
    assert _needs_compaction(list(reversed(entries)), params, policy) == [1, 2]  # the same fragments
    assert _needs_compaction(entries, params, CompactionPolicy(max_table_deleted_share=0.09, table_target_share=0.05)) == []
    # a fragment past the per-fragment share is rewritten anyway, and counts first: here that alone
    # brings the table under its threshold (2,600 of 48,500)
    both = CompactionPolicy(max_deleted_share=0.14, max_table_deleted_share=0.08, table_target_share=0.05)
    assert _needs_compaction(entries, params, both) == [2]
    both = CompactionPolicy(max_deleted_share=0.14, max_table_deleted_share=0.05, table_target_share=0.04)
    assert _needs_compaction(entries, params, both) == [2, 3]
    assert _needs_compaction(entries, params, CompactionPolicy(max_deleted_share=0.14)) == [2]
