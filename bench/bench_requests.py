"""Benchmark: S3 requests per operation, next to the ideal (what is new in it, plus a constant).

A package of N one-file partitions (a folder of small Parquet files) against a
loopback S3 server (moto), counted with a botocore ``before-send`` hook on each
registry's client (every HTTP request that leaves, retries included):

* first snapshot straight into the S3 registry, unchanged re-snapshot, re-snapshot
  with one file changed (``build_package``, incremental: unchanged files are reused
  from the previous version's listing);
* push of the first version from a local registry to an empty S3 prefix, re-push,
  push of the one-file-changed version;
* pull of the first version into an empty local registry.

Ideal = the objects new to the operation (fragments, pages, nodes, root, listing:
one request each) + CONSTANT requests (lease, record, tags, gc announcements).

    .venv/bin/python bench/bench_requests.py [--files 2000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from collections import Counter
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.fixtures.s3 import TEST_ENV, new_bucket, start_moto_server, stop_moto_server  # noqa: E402

CONSTANT = 24


class Counting:
    """Counts the HTTP requests a registry's S3 client sends, by operation."""

    def __init__(self, reg: Any) -> None:
        self.ops: Counter[str] = Counter()
        self._lock = threading.Lock()
        reg.store.conn.client.meta.events.register("before-send.s3", self._on)

    def _on(self, event_name: str = "", **_kw: Any) -> None:
        with self._lock:
            self.ops[event_name.rsplit(".", 1)[-1]] += 1

    def during(self, fn: Callable[[], Any]) -> tuple[Counter[str], Any]:
        before = Counter(self.ops)
        out = fn()
        return self.ops - before, out


def make_folder(folder: str, files: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.rmtree(folder, ignore_errors=True)
    for i in range(files):
        d = os.path.join(folder, f"part={i:05d}")
        os.makedirs(d)
        pq.write_table(pa.table({"id": list(range(i * 10, i * 10 + 10))}), os.path.join(d, "f.parquet"))


def change_one(folder: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = os.path.join(folder, "part=00000", "f.parquet")
    pq.write_table(pa.table({"id": list(range(-10, 0))}), p)


def objects(reg: Any, top: str, sources: Any = None) -> set[str]:
    from lakepkg.maintain.verify import referenced_objects

    return {d for d, _ in referenced_objects(reg, top, sources)}


def run(files: int, work: str, endpoint: str | None = None) -> list[dict[str, Any]]:
    """The table's rows; against ``endpoint`` when given (the caller set the S3 environment), else
    a moto server started here."""
    from lakepkg.maintain.transfer import copy_version
    from lakepkg.registry import open_registry
    from lakepkg.write.build import build_package

    proc = None
    if endpoint is None:
        proc, endpoint = start_moto_server(timeout=180)
        for k, v in TEST_ENV.items():
            os.environ[k] = v
        os.environ["LAKEPKG_S3_ENDPOINT_URL"] = endpoint
        os.environ["LAKEPKG_CACHE_DIR"] = os.path.join(work, "cache")
        os.environ["LAKEPKG_NO_PROGRESS"] = "1"
    rows: list[dict[str, Any]] = []
    try:
        folder = os.path.join(work, "data")
        make_folder(folder, files)
        bucket = new_bucket(endpoint)
        s3 = open_registry(f"s3://{bucket}/snap", cache_dir=os.path.join(work, "cache"))
        c = Counting(s3)

        def add(op: str, got: Counter[str], new: int) -> None:
            total = sum(got.values())
            rows.append({"op": op, "requests": total, "ideal": new + CONSTANT, "new_objects": new,
                         "by_op": dict(sorted(got.items()))})

        got, r1 = c.during(lambda: build_package("b/pkg", {"t": folder}, registry=s3))
        o1 = objects(s3, r1.top_hash, r1.record.sources)
        add("first snapshot", got, len(o1))
        got, r = c.during(lambda: build_package("b/pkg", {"t": folder}, registry=s3))
        add("unchanged re-snapshot", got, 0)
        change_one(folder)
        got, r2 = c.during(lambda: build_package("b/pkg", {"t": folder}, registry=s3))
        o2 = objects(s3, r2.top_hash, r2.record.sources)
        add("one-file-changed re-snapshot", got, len(o2 - o1))

        # push / pull: a local registry holding both versions
        local = open_registry(os.path.join(work, "local"))
        make_folder(folder, files)
        l1 = build_package("b/pkg", {"t": folder}, registry=local)
        change_one(folder)
        l2 = build_package("b/pkg", {"t": folder}, registry=local)
        dst = open_registry(f"s3://{bucket}/pushed", cache_dir=os.path.join(work, "cache"))
        cd = Counting(dst)
        lo1 = objects(local, l1.top_hash, l1.record.sources)
        lo2 = objects(local, l2.top_hash, l2.record.sources)
        got, _ = cd.during(lambda: copy_version(local, dst, f"b/pkg@{l1.top_hash}"))
        add("push", got, len(lo1))
        got, _ = cd.during(lambda: copy_version(local, dst, f"b/pkg@{l1.top_hash}"))
        add("re-push", got, 0)
        got, _ = cd.during(lambda: copy_version(local, dst, f"b/pkg@{l2.top_hash}"))
        add("push one-file-changed", got, len(lo2 - lo1))
        src = open_registry(f"s3://{bucket}/pushed", cache_dir=os.path.join(work, "pull-cache"))
        cs = Counting(src)
        got, _ = cs.during(lambda: copy_version(src, open_registry(os.path.join(work, "pulled")), f"b/pkg@{l1.top_hash}"))
        add("pull", got, len(lo1))
    finally:
        if proc is not None:
            stop_moto_server(proc)
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="lakepkg-bench-req-")
    try:
        rows = run(args.files, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"S3 requests per operation, {args.files} one-file partitions (ideal = new objects + {CONSTANT})")
    print(f"{'operation':32} {'requests':>9} {'ideal':>7} {'ratio':>6}  by operation")
    for r in rows:
        ratio = r["requests"] / r["ideal"]
        ops = ", ".join(f"{k} {v}" for k, v in r["by_op"].items())
        print(f"{r['op']:32} {r['requests']:9d} {r['ideal']:7d} {ratio:6.2f}  {ops}")
    return rows


if __name__ == "__main__":
    main()
