"""The package format cannot drift: a fixed small package keeps the top hash computed before the
single-publish refactoring (DESIGN invariants 3 and 5; docs/format.md)."""
from __future__ import annotations

import pandas as pd

from lakepkg.write.build import PackageBuilder

FRAME = {"id": [1, 2, 3], "name": ["a", "b", "c"], "amount": [1.5, 2.25, -3.0]}
README = b"# pinned\nfixed content\n"
# Computed with pyarrow 26.0.1 once fragments from pandas stopped holding pandas' metadata (which named
# the pandas release: pandas 3.1 changed these two from 724547d5… and 27009d11…, docs/format.md Changelog).
# The same under pandas 2.3 and 3.1, and the same as the equal Arrow table (test below).
PINNED = "9e3eef247716213ffcb8c585d40f23941bc07819a5e08b8cbc233566c6061fb6"
PINNED_PARTITIONED = "e79f55db35fdc6411504bcc3083ceb3849858aecf8600d5c81bc670257f76c28"


def _builder(registry, partition_cols=None):
    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame(FRAME), partition_cols=partition_cols)
    b.add_file("README.md", README)
    return b


def test_top_hash_of_a_fixed_package_is_pinned(registry):
    assert _builder(registry).build().top_hash == PINNED
    assert _builder(registry, ["name"]).build().top_hash == PINNED_PARTITIONED


def test_a_frame_hashes_the_same_whatever_pandas_holds_its_text_in(registry):
    """pandas 3's ``str`` columns (Arrow ``large_string``) and ``object`` columns of text, and the equal
    Arrow table, give one top hash; no fragment holds pandas' metadata (docs/format.md, Tables from pandas)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def top(data):
        b = PackageBuilder(registry)
        b.add_table("orders", data)
        return b.build().top_hash

    as_object = pd.DataFrame({k: pd.Series(v, dtype=object) if k == "name" else v for k, v in FRAME.items()})
    as_arrow_str = pd.DataFrame({k: pd.Series(v, dtype=pd.ArrowDtype(pa.large_string())) if k == "name" else v
                                 for k, v in FRAME.items()})
    hashes = {top(pd.DataFrame(FRAME)), top(as_object), top(as_arrow_str), top(pa.table(FRAME))}
    assert len(hashes) == 1
    from pathlib import Path

    parquet = [p for p in Path(registry.store.objects_dir).rglob("*") if p.is_file() and p.read_bytes()[:4] == b"PAR1"]
    assert parquet
    for path in parquet:
        assert b"pandas" not in (pq.ParquetFile(path).schema_arrow.metadata or {}), path


def test_publish_keeps_the_pinned_top_hash(registry):
    res = _builder(registry).publish("pin/fixed", message="pinned")
    assert res.top_hash == PINNED and res.created
    assert registry.resolve("pin/fixed").top_hash == PINNED
    # the same content again: the same top hash, nothing new minted
    again = _builder(registry).publish("pin/fixed")
    assert again.top_hash == PINNED and not again.created
    assert len(registry.history("pin/fixed")) == 1


# computed with the tree at commit 617d721 (before the one folder source) over the folders below
PINNED_FOLDERS = "9b1c9ab5cd742b67e5ed1d5d4a5b3f461da7a8f4debf2e992a2140b6f50397e1"


def test_local_folders_keep_their_pinned_top_hash(registry, tmp_path):
    """Partitioned Parquet (stored as is), partitioned CSV (converted) and a flat folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = tmp_path
    for d in (1, 2):
        (base / "pq" / f"ds={d}").mkdir(parents=True)
        pq.write_table(pa.table({"id": [d, d + 10]}), base / "pq" / f"ds={d}" / "p.parquet")
        (base / "csv" / f"k={d}").mkdir(parents=True)
        (base / "csv" / f"k={d}" / "c.csv").write_text(f"a,b\n{d},x\n")
    (base / "flat").mkdir()
    pq.write_table(pa.table({"z": ["q"]}), base / "flat" / "f.parquet")
    b = PackageBuilder(registry)
    for t in ("pq", "csv", "flat"):
        b.add_path(t, str(base / t))
    assert b.build().top_hash == PINNED_FOLDERS
