"""Hive connector benchmark (issue 5). Prints figures measured side by side in one run.

    .venv/bin/python bench/bench_hive.py [--gb 1.0] [--partitions 250]

A. First snapshot of a partitioned Parquet table (>= 1 GB, registered in a real
   Thrift metastore started from pyspark's jars) vs `cp -r` of its warehouse folder.
B. Re-snapshot with 1 of N partitions changed vs the first snapshot: files and
   bytes read, bytes written to the store.

Data goes to bench/data/hive/ (generated once with pyarrow, kept between runs).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
sys.path.insert(0, os.path.dirname(HERE))
DATA = os.path.join(HERE, "data", "hive")


def _days(n: int) -> list[str]:
    import datetime as dt

    d0 = dt.date(2026, 1, 1)
    return [(d0 + dt.timedelta(days=i)).isoformat() for i in range(n)]


def write_partition(root: str, ds: str, rows: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    t = pa.table({
        "id": pa.array(np.arange(rows, dtype=np.int64) + seed * 10_000_000),
        "amount": pa.array(rng.random(rows)),
        "qty": pa.array(rng.integers(0, 1 << 62, rows, dtype=np.int64)),
        "code": pa.array(rng.integers(0, 1 << 31, rows, dtype=np.int32)),
    })
    d = os.path.join(root, f"ds={ds}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "part-00000.parquet")
    pq.write_table(t, p, compression="snappy")
    return os.path.getsize(p)


def make_table(root: str, gb: float, n: int) -> int:
    marker = os.path.join(root, "_done")
    if os.path.exists(marker) and len(os.listdir(root)) == n + 1:
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    shutil.rmtree(root, ignore_errors=True)
    rows = int(gb * 1e9 / n / 28)  # ~28 bytes a row, incompressible
    total = sum(write_partition(root, ds, rows, i) for i, ds in enumerate(_days(n)))
    open(marker, "w").close()
    return total


def register(uri: str, root: str, n: int) -> None:
    from hmsclient.genthrift.hive_metastore.ttypes import (FieldSchema, NoSuchObjectException, Partition,
                                                           SerDeInfo, StorageDescriptor, Table)

    from lakepkg_connectors.hive import connect

    cols = [("id", "bigint"), ("amount", "double"), ("qty", "bigint"), ("code", "int")]

    def sd(loc: str) -> StorageDescriptor:
        return StorageDescriptor(
            cols=[FieldSchema(a, b, None) for a, b in cols], location=loc,
            inputFormat="org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            outputFormat="org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", compressed=False,
            numBuckets=-1, serdeInfo=SerDeInfo(None, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                                               {"serialization.format": "1"}),
            bucketCols=[], sortCols=[], parameters={}, storedAsSubDirectories=False)

    with connect(uri) as c:
        try:
            c.get_table("default", "bench_orders")
            c.drop_table("default", "bench_orders", False)
        except NoSuchObjectException:
            pass
        c.create_table(Table(tableName="bench_orders", dbName="default", owner="bench", createTime=1,
                             lastAccessTime=0, retention=0, sd=sd("file:" + root),
                             partitionKeys=[FieldSchema("ds", "string", None)], parameters={"EXTERNAL": "TRUE"},
                             tableType="EXTERNAL_TABLE"))
        parts = [Partition(values=[ds], dbName="default", tableName="bench_orders", createTime=1, lastAccessTime=0,
                           sd=sd(f"file:{root}/ds={ds}"), parameters={}) for ds in _days(n)]
        for i in range(0, len(parts), 200):
            c.add_partitions(parts[i:i + 200])


def du(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--partitions", type=int, default=250)
    tiny(ap, gb=0.002, partitions=3)
    a = ap.parse_args()
    from lakepkg_connectors.hive import snapshot_hive
    from lakepkg.metastore.metastore_server import MetastoreServer
    from lakepkg.registry import open_registry

    os.makedirs(DATA, exist_ok=True)
    root = os.path.join(DATA, "warehouse", "bench_orders")
    t0 = time.perf_counter()
    size = make_table(root, a.gb, a.partitions)
    gen = time.perf_counter() - t0
    home = os.path.join(DATA, "home")
    shutil.rmtree(home, ignore_errors=True)
    os.environ["LAKEPKG_HOME"] = home
    msdir = os.path.join(DATA, "metastore")
    shutil.rmtree(msdir, ignore_errors=True)
    rows = []
    with MetastoreServer(msdir) as ms:
        register(ms.uri, root, a.partitions)
        reg = open_registry()
        # A: cp -r vs first snapshot
        dest = os.path.join(DATA, "cp_copy")
        shutil.rmtree(dest, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run(["cp", "-r", root, dest], check=True)
        cp_s = time.perf_counter() - t0
        shutil.rmtree(dest, ignore_errors=True)
        files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".parquet"))
        t0 = time.perf_counter()
        subprocess.run(["sha256sum"] + files, check=True, stdout=subprocess.DEVNULL)
        sha_s = time.perf_counter() - t0
        hw = max(cp_s, sha_s)
        store_dir = home
        t0 = time.perf_counter()
        first = snapshot_hive(["default.bench_orders"], metastore=ms.uri, to="bench/orders", registry=reg)
        snap_s = time.perf_counter() - t0
        s1 = first.tables["bench_orders"]
        stored1 = du(store_dir)
        rows.append(("cp -r warehouse folder (baseline)", cp_s, f"{size / 1e9:.2f} GB, {a.partitions} partitions"))
        rows.append(("sha256sum of the same files (baseline)", sha_s, "coreutils, one process"))
        rows.append(("lakepkg snapshot hive, first", snap_s,
                     f"{snap_s / cp_s:.2f}x cp -r, {snap_s / hw:.2f}x max(cp -r, sha256sum) (goal <= 1.5x); read {s1['files_read']} files, {s1['bytes_read'] / 1e9:.2f} GB; "
                     f"store {stored1 / 1e9:.2f} GB"))
        # B: one partition changed
        ds = _days(a.partitions)[a.partitions // 2]
        # new bytes every run (the warehouse is kept between runs: a fixed seed would rewrite the same file)
        write_partition(root, ds, int(a.gb * 1e9 / a.partitions / 28), 1_000_000 + time.time_ns() % 1_000_000)
        t0 = time.perf_counter()
        second = snapshot_hive(["default.bench_orders"], metastore=ms.uri, to="bench/orders", registry=reg)
        re_s = time.perf_counter() - t0
        s2 = second.tables["bench_orders"]
        stored2 = du(store_dir)
        rows.append((f"re-snapshot, 1 of {a.partitions} changed", re_s,
                     f"{re_s / snap_s:.3f}x first snapshot ({snap_s / re_s:.0f}x faster; goal >= 50x); read {s2['files_read']} files "
                     f"({s2['bytes_read'] / 1e6:.1f} MB), reused {s2['files_reused']}; "
                     f"store grew {(stored2 - stored1) / 1e6:.1f} MB; new version: {second.created}"))
        t0 = time.perf_counter()
        third = snapshot_hive(["default.bench_orders"], metastore=ms.uri, to="bench/orders", registry=reg)
        un_s = time.perf_counter() - t0
        rows.append(("re-snapshot, unchanged", un_s, f"{un_s / snap_s:.3f}x first snapshot; "
                     f"read {third.tables['bench_orders']['files_read']} files; new version: {third.created}"))
    print(f"data generation (once): {gen:.1f} s")
    print(f"{'measurement':<40} {'seconds':>8}  notes")
    for name, secs, note in rows:
        print(f"{name:<40} {secs:8.2f}  {note}")


if __name__ == "__main__":
    main()
