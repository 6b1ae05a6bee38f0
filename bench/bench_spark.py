"""Spark reader benchmarks (issue 6). Prints ratios measured side by side in one run, one Spark session.

    .venv/bin/python bench/bench_spark.py [--gb 1.0] [--partitions 20] [--files-per-partition 8] [--repeat 2]
                                          [--data bench/data] [--no-warmup]

A package table of >= 1 GB (mixed columns, snappy Parquet, `ds=` partitions) is read
A. in a full scan (every row and column materialised: Spark's `noop` sink), and
B. in a filtered aggregate (a partition filter and a value filter, grouped sum),
by `spark.read.parquet` over the same files (the baseline), `Table.to_spark` (Spark's Parquet
reader over the package's symlink view) and `spark.read.format("pkg")` (the Python data source,
what S3 registries and non-local clusters use). Best of --repeat runs each.
C. `leaf.to_pandas()` against `pyarrow.parquet.read_table(path).to_pandas()` on the same fragment.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
DATA = os.path.join(HERE, "data")
CATEGORIES = [f"cat-{i:02d}" for i in range(24)]


def make_folder(path: str, gb: float, partitions: int, files_per_partition: int) -> int:
    """Partitioned Parquet files of about ``gb`` GB (generated once, reused)."""
    done = os.path.join(path, "_done")
    if os.path.exists(done):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs if f.endswith(".parquet"))
    shutil.rmtree(path, ignore_errors=True)
    files = partitions * files_per_partition
    rows = int(gb * 1e9 / 30 / files)  # ~30 bytes a row after snappy
    rng = np.random.default_rng(7)
    total, next_id = 0, 0
    for p in range(partitions):
        d = os.path.join(path, f"ds=2026-11-{p + 1:02d}")
        os.makedirs(d, exist_ok=True)
        for f in range(files_per_partition):
            ids = np.arange(next_id, next_id + rows, dtype=np.int64)
            next_id += rows
            t = pa.table({
                "id": ids,
                "user_id": rng.integers(0, 5_000_000, rows, dtype=np.int64),
                "amount": rng.random(rows) * 100,
                "category": pa.array(np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)]),
                "ts": pa.array(1_793_000_000_000_000 + ids * 1000, pa.timestamp("us", tz="UTC")),
            })
            out = os.path.join(d, f"part-{f:03d}.parquet")
            pq.write_table(t, out, compression="snappy")
            total += os.path.getsize(out)
    open(done, "w").close()
    return total


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: Optional[Sequence[str]] = None, spark: Any = None) -> None:
    """Run the bench; ``spark``: a running local session to use instead of starting one (the test
    suite's smoke run passes its own), left running."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--partitions", type=int, default=20)
    ap.add_argument("--files-per-partition", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--data", default=DATA, help="folder for the generated data and the registry (bench/data)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip each reader's warm-up run (a smoke run's figures mean nothing anyway)")
    tiny(ap, gb=0.002, partitions=2, files_per_partition=2, repeat=1, warmup=False)
    args = ap.parse_args(argv)

    os.makedirs(args.data, exist_ok=True)
    src = os.path.join(args.data, f"spark_folder_{args.gb:g}gb")
    t0 = time.perf_counter()
    size = make_folder(src, args.gb, args.partitions, args.files_per_partition)
    gen = time.perf_counter() - t0

    registry = os.path.join(args.data, "spark_home", "registry")
    shutil.rmtree(os.path.dirname(registry), ignore_errors=True)
    import lakepkg
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder

    reg = open_registry(registry)
    b = PackageBuilder(reg)
    b.add_path("events", src)
    rec = b.publish("bench/events")
    table = lakepkg.load(f"bench/events@{rec.top_hash}", reg)["events"]

    own = spark is None
    if own:
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[2]").appName("lakepkg-bench")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.driver.memory", "4g")
                 .config("spark.sql.shuffle.partitions", "4").config("spark.sql.session.timeZone", "UTC")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
    import lakepkg.spark

    lakepkg.spark.register(spark)  # its workers run this Python (lakepkg.spark.workers)
    readers = {
        "spark.read.parquet (baseline)": lambda: spark.read.parquet(src),
        "Table.to_spark (native view)": lambda: table.to_spark(spark),
        'spark.read.format("pkg")': lambda: spark.read.format("pkg").option("registry", registry)
        .load(f"bench/events@{rec.top_hash}/events"),
    }
    workloads = {
        "full scan": lambda df: df.write.format("noop").mode("overwrite").save(),
        "filtered aggregate": lambda df: df.filter("ds >= '2026-11-15' AND amount > 50")
        .groupBy("category").agg({"amount": "sum", "user_id": "max"}).collect(),
    }
    rows = []
    for wname, work in workloads.items():
        base = None
        for rname, make in readers.items():
            if args.warmup:
                work(make())  # warm-up: JVM, Python workers, page cache, the view
            s = best(lambda: work(make()), args.repeat)
            base = base or s
            rows.append((f"{wname}: {rname}", s, f"{s / base:.2f}x baseline"))
    answers = [sorted(tuple(round(v, 2) if isinstance(v, float) else v for v in r)
                      for r in workloads["filtered aggregate"](make())) for make in readers.values()]
    assert all(a == answers[0] for a in answers), "readers disagree"
    if own:
        spark.stop()

    frag = table.fragments()[0]
    path = frag.local_path()
    t_pq = best(lambda: pq.read_table(path).to_pandas(), 5)
    t_leaf = best(lambda: frag.to_pandas(), 5)
    rows.append(("pq.read_table(path).to_pandas() (baseline)", t_pq, f"{frag.rows:,} rows, {frag.size / 1e6:.1f} MB"))
    rows.append(("leaf.to_pandas()", t_leaf, f"{t_leaf / t_pq:.2f}x baseline (adds the ds column)"))

    print(f"data: {size / 1e9:.2f} GB, {args.partitions * args.files_per_partition} files, "
          f"{table.rows:,} rows (generated in {gen:.1f} s); Spark local[2]; best of {args.repeat}")
    print(f"{'measurement':58} {'seconds':>8}  notes")
    for name, s, note in rows:
        print(f"{name:58} {s:8.2f}  {note}")


if __name__ == "__main__":
    main()
