"""The README demo: the main job on the embedded default registry, from data it makes.

1. write a partitioned Parquet folder (orders by day) and a README;
2. build ``demo/orders`` from it and show the version;
3. change the data (a new day, one day rewritten) and build again;
4. diff the two versions (one partition added, one changed, the rest skipped by hash);
5. read a leaf as a pandas frame, and the first version's table as it was.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _write_day(folder: str, day: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = os.path.join(folder, f"ds={day}")
    os.makedirs(d, exist_ok=True)
    t = pa.table({
        "order_id": pa.array(np.arange(n) + seed * 100_000, pa.int64()),
        "customer": pa.array([f"c{int(x):04d}" for x in rng.integers(0, 500, n)]),
        "amount": pa.array(np.round(rng.gamma(2.0, 30.0, n), 2)),
    })
    pq.write_table(t, os.path.join(d, "part-0.parquet"))


def _clear_demo_data(data: str) -> None:
    """Remove the ``ds=*`` folders an earlier demo run wrote (and nothing else)."""
    if not os.path.isdir(data):
        return
    for name in os.listdir(data):
        if name.startswith("ds="):
            shutil.rmtree(os.path.join(data, name))


def run_demo(folder: str = ".lakepkg-demo", echo: bool = True) -> dict[str, Any]:
    from lakepkg.write.build import PackageBuilder
    from lakepkg.config import registry_location
    from lakepkg.read.diff import diff_packages
    from lakepkg.read.package import load

    say = print if echo else (lambda *a, **k: None)
    data = os.path.join(os.path.abspath(folder), "orders")
    _clear_demo_data(data)  # a re-run starts from the same first state, not from the last run's changed data
    days = [f"2026-11-{d:02d}" for d in range(1, 8)]
    for i, day in enumerate(days):
        _write_day(data, day, 20_000, i + 1)
    readme = b"# demo/orders\n\nDaily orders, partitioned by `ds`. Made by `lakepkg demo`.\n"
    say(f"registry: {registry_location()}")
    say(f"1. wrote {len(days)} daily partitions under {data}")

    def build(message: str) -> Any:
        b = PackageBuilder(show_progress=echo)
        b.add_path("orders", data)
        b.add_file("README.md", readme)
        return b.publish("demo/orders", message)

    v1 = build("first snapshot")
    say(f"2. built demo/orders@{v1.top_hash[:10]}")
    p1 = load(f"demo/orders@{v1.top_hash}")
    t1 = p1["orders"]
    say(f"   table orders: {t1.rows:,} rows, {t1.node.fragments} fragments, partitions {', '.join(str(p['ds']) for p in t1.partitions)}")
    say(f"   schema: {', '.join(f'{f.name}:{f.type}' for f in t1.schema)}")

    _write_day(data, "2026-11-08", 20_000, 99)            # a new day
    _write_day(data, "2026-11-03", 25_000, 42)            # a late correction of one day
    v2 = build("added 2026-11-08, corrected 2026-11-03")
    say(f"3. changed the data and built demo/orders@{v2.top_hash[:10]}")

    p2 = load(f"demo/orders@{v2.top_hash}")
    d = diff_packages(p1, p2)
    td = d.tables[0]
    same = len(p2["orders"].partitions) - len(td.partitions_added) - len(td.partitions_changed)
    say(f"4. diff {v1.top_hash[:10]} -> {v2.top_hash[:10]}: partitions added {td.partitions_added}, changed {td.partitions_changed}, "
        f"{same} unchanged (same fragment hashes)"
        + ("; files unchanged (same page hash, skipped)" if not (d.files_added or d.files_removed or d.files_changed) else ""))

    leaf = p2["orders"].fragments([("ds", "==", "2026-11-08")])[0]
    df = leaf.to_pandas()
    say(f"5. leaf {leaf.key} as pandas: {len(df):,} rows")
    if echo:
        print(df.head(5).to_string())
    old_rows = load(f"demo/orders@{v1.top_hash}")["orders"].rows
    say(f"   the first version still reads {old_rows:,} rows; the new one {p2['orders'].rows:,}")
    return {"v1": v1.top_hash, "v2": v2.top_hash, "diff": d.to_json(), "leaf_rows": len(df)}
