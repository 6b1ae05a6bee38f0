"""Benchmark: push / pull of a ~1 GB package (a few hundred Parquet fragments) to a loopback S3 server.

Baselines, measured side by side in one run against the same moto server
(``python -m moto.server`` on 127.0.0.1):

* plain boto3: ``put_object`` of every file with 8 threads (the near-limit for
  upload), ``get_object`` of every file with 8 threads (near-limit for download);
* quilt3 ``Package.set_dir(...).push(...)`` of the same files (quilt3 reaches the
  custom endpoint through ``AWS_ENDPOINT_URL``), and its re-push.

lakepkg: ``push`` local -> S3, re-push of the unchanged version (bytes sent),
``pull`` S3 -> an empty local registry.

    .venv/bin/python bench/bench_s3.py [--mb 1024] [--files 300] [--workers 8]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
sys.path.insert(0, os.path.dirname(HERE))

from tests.fixtures.s3 import TEST_ENV, make_client, new_bucket, start_moto_server, stop_moto_server  # noqa: E402


def make_data(folder: str, total_mb: int, files: int) -> list[str]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = os.path.join(folder, f"_done_{total_mb}_{files}")
    paths = [os.path.join(folder, f"ds={i % 20:02d}", f"part-{i:04d}.parquet") for i in range(files)]
    if os.path.exists(marker):
        return paths
    shutil.rmtree(folder, ignore_errors=True)
    rows = int(total_mb * 1024 * 1024 / files / 16)  # two incompressible 8-byte columns
    rng = np.random.default_rng(7)
    for p in paths:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        t = pa.table({"a": rng.integers(0, 2 ** 62, rows), "b": rng.random(rows)})
        pq.write_table(t, p, compression="none", use_dictionary=False)
    open(marker, "w").close()
    return paths


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def empty_bucket(client, bucket: str) -> None:
    pag = client.get_paginator("list_objects_v2")
    for page in pag.paginate(Bucket=bucket):
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objs})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--workers", type=int, default=8)
    tiny(ap, mb=2, files=4, workers=2)
    args = ap.parse_args()

    data_dir = os.path.join(HERE, "data", "s3_folder")
    paths = make_data(data_dir, args.mb, args.files)
    total = sum(os.path.getsize(p) for p in paths)
    os.environ.update(TEST_ENV)
    work = tempfile.mkdtemp(prefix="bench-s3-", dir=os.path.join(HERE, "data"))
    os.environ["LAKEPKG_HOME"] = os.path.join(work, "home")
    os.environ["LAKEPKG_CACHE_DIR"] = os.path.join(work, "cache")
    proc, url = start_moto_server()
    os.environ["LAKEPKG_S3_ENDPOINT_URL"] = url
    os.environ["AWS_ENDPOINT_URL"] = url  # for quilt3
    rows = []
    try:
        import lakepkg
        from lakepkg.maintain import transfer
        from lakepkg.registry import open_registry

        client = make_client(url)
        from botocore.config import Config
        import boto3

        fast = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                            config=Config(max_pool_connections=args.workers * 2))

        # local package (not timed against S3)
        local = open_registry()
        b = lakepkg.PackageBuilder(local)
        b.add_path("data", data_dir)
        rec = b.publish("bench/s3", "bench")

        # 1. plain boto3 upload of the files
        b1 = new_bucket(url)
        def up(p):
            with open(p, "rb") as f:
                fast.put_object(Bucket=b1, Key=os.path.relpath(p, data_dir), Body=f.read())
        t_boto_up, _ = timed(lambda: list(ThreadPoolExecutor(args.workers).map(up, paths)))
        rows.append(("boto3 put_object x%d threads" % args.workers, t_boto_up, total))

        # 2. lakepkg push
        b2 = new_bucket(url)
        remote_url = f"s3://{b2}/reg"
        t_push, rep = timed(lambda: transfer.push("bench/s3", remote_url, registry=local, workers=args.workers))
        rows.append(("lakepkg push", t_push, rep.bytes_copied))
        remote = open_registry(remote_url)
        t_repush, rep2 = timed(lambda: transfer.push("bench/s3", remote_url, registry=local, workers=args.workers))
        rows.append(("lakepkg re-push (unchanged)", t_repush, rep2.bytes_copied))

        # 3. plain boto3 download
        dl = os.path.join(work, "dl")
        def down(p):
            k = os.path.relpath(p, data_dir)
            out = os.path.join(dl, k)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(fast.get_object(Bucket=b1, Key=k)["Body"].read())
        t_boto_down, _ = timed(lambda: list(ThreadPoolExecutor(args.workers).map(down, paths)))
        rows.append(("boto3 get_object x%d threads" % args.workers, t_boto_down, total))
        shutil.rmtree(dl, ignore_errors=True)
        empty_bucket(client, b1)

        # 4. lakepkg pull into an empty local registry
        fresh = open_registry(os.path.join(work, "fresh"))
        t_pull, rep3 = timed(lambda: transfer.pull("bench/s3", remote_url, registry=fresh, workers=args.workers))
        rows.append(("lakepkg pull", t_pull, rep3.bytes_copied))
        t_repull, rep4 = timed(lambda: transfer.pull("bench/s3", remote_url, registry=fresh, workers=args.workers))
        rows.append(("lakepkg re-pull (unchanged)", t_repull, rep4.bytes_copied))
        shutil.rmtree(os.path.join(work, "fresh"), ignore_errors=True)
        empty_bucket(client, b2)

        # 5. quilt3 push of the same files
        q = None
        try:
            import quilt3

            b3 = new_bucket(url)
            def qpush():
                return quilt3.Package().set_dir("/", data_dir).push("bench/s3", registry=f"s3://{b3}", force=True, message="bench")
            t_q, _ = timed(qpush)
            rows.append(("quilt3 push", t_q, total))
            t_q2, _ = timed(qpush)
            rows.append(("quilt3 re-push (unchanged)", t_q2, None))
            q = (t_q, t_q2)
            empty_bucket(client, b3)
        except Exception as exc:  # pragma: no cover - reported, not hidden
            print(f"quilt3 push failed: {exc.__class__.__name__}: {exc}")
    finally:
        stop_moto_server(proc)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\npackage: {len(paths)} fragments, {total / 1e6:,.0f} MB; moto server on loopback; workers={args.workers}\n")
    print(f"| step | seconds | MB/s | bytes sent/received |")
    print(f"| --- | ---: | ---: | ---: |")
    for name, secs, nbytes in rows:
        mbps = f"{total / 1e6 / secs:,.0f}" if nbytes else "-"
        print(f"| {name} | {secs:.2f} | {mbps} | {nbytes if nbytes is not None else 'n/a'} |")
    print("\n| ratio | value |")
    print("| --- | ---: |")
    print(f"| lakepkg push / boto3 upload (near-limit) | {t_push / t_boto_up:.2f} |")
    if q:
        print(f"| lakepkg push / quilt3 push | {t_push / q[0]:.2f} |")
        print(f"| lakepkg re-push / quilt3 re-push | {t_repush / q[1]:.3f} |")
    print(f"| lakepkg pull / boto3 download (near-limit) | {t_pull / t_boto_down:.2f} |")
    print(f"| lakepkg re-push bytes sent | {rep2.bytes_copied} |")


if __name__ == "__main__":
    main()
