"""The package format cannot drift: a fixed small package keeps the top hash computed before the
single-publish refactoring (DESIGN invariants 3 and 5; docs/format.md)."""
from __future__ import annotations

import pandas as pd

from lakepkg.write.build import PackageBuilder

FRAME = {"id": [1, 2, 3], "name": ["a", "b", "c"], "amount": [1.5, 2.25, -3.0]}
README = b"# pinned\nfixed content\n"
# computed on the tree before lakepkg/write/publish.py existed (commit 617d721)
PINNED = "724547d50b6bc69ccc623ebb021d27ab5e398254fbd3c5fe3ea5d1105ece86f4"
PINNED_PARTITIONED = "27009d116e7d89553c03871d0fe6caa7a7699de5f512a998b550e9b8a8270467"


def _builder(registry, partition_cols=None):
    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame(FRAME), partition_cols=partition_cols)
    b.add_file("README.md", README)
    return b


def test_top_hash_of_a_fixed_package_is_pinned(registry):
    assert _builder(registry).build().top_hash == PINNED
    assert _builder(registry, ["name"]).build().top_hash == PINNED_PARTITIONED


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
