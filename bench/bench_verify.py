"""What verified reads cost (issue 10, point 1). Prints ratios verified / unverified, side by side in one run.

    .venv/bin/python bench/bench_verify.py [--gb 0.5] [--partitions 8] [--files-per-partition 4] [--repeat 3]

Every read hands its fragments out through ``ObjectStore.verified_path``: a file is hashed the first
time a process uses it and remembered by (device, inode, size, mtime) afterwards. Measured:

A. ``leaf.to_pandas()`` of one fragment (~``gb / files`` bytes):
   unverified = ``pyarrow.parquet.read_table(path).to_pandas()`` on the same file (what a read cost
   before); cold = the first read in a process (hash + read); warm = a later read (a ``stat``).
B. a full scan of the table (every row and column, Spark's ``noop`` sink) with
   ``spark.read.format("pkg")``: unverified = ``spark.read.parquet`` over the same object files;
   cold = the first scan of this table (the Python workers, already started on another package,
   hash every fragment); warm = a later scan (verified files remembered).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any, Optional, Sequence

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
sys.path.insert(0, HERE)
from bench_spark import DATA, make_folder  # noqa: E402  (the same generated data as bench_spark.py)


def best(fn, repeat: int, before=None) -> float:
    out = []
    for _ in range(repeat):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(argv: Optional[Sequence[str]] = None, spark: Any = None) -> None:
    """Run the bench; ``spark``: a running local session to use instead of starting one (the test
    suite's smoke run passes its own), left running."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=0.5)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--files-per-partition", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=DATA, help="folder for the generated data (bench/data)")
    tiny(ap, gb=0.002, partitions=2, files_per_partition=2, repeat=1)
    a = ap.parse_args(argv)

    import lakepkg
    from lakepkg.registry import open_registry
    from lakepkg.store.verified import VERIFIED
    from lakepkg.write.build import PackageBuilder

    folder = os.path.join(a.data, f"verify-{a.gb}-{a.partitions}-{a.files_per_partition}")
    nbytes = make_folder(folder, a.gb, a.partitions, a.files_per_partition)
    reg = open_registry(os.path.join(tempfile.mkdtemp(prefix="bench-verify-"), "registry"))
    b = PackageBuilder(reg)
    b.add_table("events", folder)
    top = b.publish("bench/verify").top_hash
    t = lakepkg.load(f"bench/verify@{top}", reg)["events"]
    leaf = t.fragments()[0]
    path = reg.store.local_path(leaf.object)
    forget = VERIFIED._known.clear  # a new process's state: nothing verified yet

    rows = []
    base = best(lambda: pq.read_table(path).to_pandas(), a.repeat)
    cold = best(lambda: leaf.to_pandas(), a.repeat, before=forget)
    leaf.to_pandas()
    warm = best(lambda: leaf.to_pandas(), a.repeat)
    size = os.path.getsize(path)
    rows += [("A leaf.to_pandas() unverified", base, f"pq.read_table(path).to_pandas(), {size / 1e6:.0f} MB fragment"),
             ("A leaf.to_pandas() cold", cold, f"{cold / base:.2f}x unverified (hash + read)"),
             ("A leaf.to_pandas() warm", warm, f"{warm / base:.2f}x unverified (stat only)")]

    own = spark is None
    if own:
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.driver.memory", "2g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
    import lakepkg.spark

    lakepkg.spark.register(spark)  # its workers run this Python (lakepkg.spark.workers)
    files = [reg.store.local_path(f.object) for f in t.fragments()]

    def scan_parquet() -> None:
        spark.read.parquet(*files).write.format("noop").mode("overwrite").save()

    def scan_pkg() -> None:
        spark.read.format("pkg").option("registry", reg.location).load(f"bench/verify@{top}/events") \
            .write.format("noop").mode("overwrite").save()

    import pandas as pd

    w = PackageBuilder(reg)
    w.add_table("warm", pd.DataFrame({"x": range(1000)}))
    wtop = w.publish("bench/warmup").top_hash
    # start the Python workers (imports) on another package, so "cold" below is the hashing alone
    spark.read.format("pkg").option("registry", reg.location).load(f"bench/warmup@{wtop}/warm") \
        .write.format("noop").mode("overwrite").save()
    scan_parquet()  # JVM warm-up
    sbase = best(scan_parquet, a.repeat)
    t0 = time.perf_counter()
    scan_pkg()  # the Python workers have not seen these files: every fragment is hashed once
    scold = time.perf_counter() - t0
    swarm = best(scan_pkg, a.repeat)
    rows += [("B full scan unverified", sbase, f"spark.read.parquet over the {len(files)} object files, {nbytes / 1e9:.2f} GB"),
             ('B full scan format("pkg") cold', scold, f"{scold / sbase:.2f}x unverified, {scold / swarm:.2f}x warm (workers hash each fragment once)"),
             ('B full scan format("pkg") warm', swarm, f"{swarm / sbase:.2f}x unverified (the Python reader; verified files remembered)")]
    if own:
        spark.stop()

    print(f"{'measurement':38s} {'seconds':>8s}  notes")
    for name, sec, note in rows:
        print(f"{name:38s} {sec:8.2f}  {note}")


if __name__ == "__main__":
    main()
