"""Core benchmarks (issue 2). Prints ratios measured side by side in one run.

    .venv/bin/python bench/bench_core.py [--gb 1.0] [--files 300] [--fragments 1000000] [--s3]
    .venv/bin/python bench/bench_core.py --skip-build --fragments 10000000   # the ten-million run (minutes)

A. build from a folder of Parquet files (>= 1 GB, a few hundred files) vs `cp -r`
   vs quilt3 Package.set_dir + build (local registry); rebuild of the unchanged folder.
B. a 1,000,000-fragment manifest: build, load (open + scan every page), diff of two
   versions differing in 1% of fragments; peak memory (RSS) of each step in a subprocess;
   with --s3, load + diff again from a moto S3 server the two versions were pushed to.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
DATA = os.path.join(HERE, "data")


def make_folder(path: str, gb: float, files: int) -> int:
    if os.path.exists(os.path.join(path, "_done")):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    shutil.rmtree(path, ignore_errors=True)
    per_file = int(gb * 1e9 / files)
    rows = per_file // 16  # two incompressible float64 columns
    rng = np.random.default_rng(0)
    total = 0
    for i in range(files):
        d = os.path.join(path, f"ds=2026-{1 + i % 12:02d}-{1 + i % 28:02d}")
        os.makedirs(d, exist_ok=True)
        t = pa.table({"a": rng.random(rows), "b": rng.random(rows)})
        p = os.path.join(d, f"part-{i:04d}.parquet")
        pq.write_table(t, p, compression="none")
        total += os.path.getsize(p)
    open(os.path.join(path, "_done"), "w").close()
    return total


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def drop_caches_hint() -> None:
    os.sync()


def bench_build(gb: float, files: int) -> list[tuple[str, float, str]]:
    src = os.path.join(DATA, "core_folder")
    size = make_folder(src, gb, files)
    work = tempfile.mkdtemp(prefix="bench-core-", dir=DATA)
    rows = []
    try:
        files_list = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".parquet"))
        subprocess.run(["cat"] + files_list, check=True, stdout=subprocess.DEVNULL)  # page cache warm for every tool
        t_cp, _ = timed(lambda: subprocess.run(["cp", "-r", src, os.path.join(work, "cp")], check=True))
        shutil.rmtree(os.path.join(work, "cp"))
        t_sha, _ = timed(lambda: subprocess.run(["sha256sum"] + files_list, check=True, stdout=subprocess.DEVNULL))
        hw = max(t_cp, t_sha)

        def hashlib_all() -> None:
            import hashlib
            for f in files_list:
                h = hashlib.sha256()
                with open(f, "rb") as fh:
                    for b in iter(lambda: fh.read(8 << 20), b""):
                        h.update(b)
        t_hl, _ = timed(hashlib_all)
        env = {**os.environ, "LAKEPKG_HOME": os.path.join(work, "home"), "LAKEPKG_NO_PROGRESS": "1"}
        cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "build", "bench/folder", "--table", f"t={src}", "--json"]
        t_build, _ = timed(lambda: subprocess.run(cmd, check=True, env=env, capture_output=True))
        t_rebuild, p = timed(lambda: subprocess.run(cmd, check=True, env=env, capture_output=True))
        created = json.loads(p.stdout)["created"]
        rows.append(("cp -r (baseline)", t_cp, f"{size / 1e9:.2f} GB, {files} files"))
        rows.append(("sha256sum (baseline)", t_sha, "coreutils, one process, one core"))
        rows.append(("hashlib sha256 (for scale)", t_hl, f"OpenSSL (SHA-NI), one thread; lakepkg build = {t_build / max(t_cp, t_hl):.2f}x max(cp -r, this)"))
        rows.append(("lakepkg build", t_build, f"{t_build / t_cp:.2f}x cp -r; {t_build / hw:.2f}x max(cp -r, sha256sum) (goal <= 1.5x)"))
        rows.append(("lakepkg rebuild, unchanged", t_rebuild, f"{t_rebuild / t_build:.2f}x first build; new version: {created}"))
        qcode = (
            "import quilt3, sys, os\n"
            "p = quilt3.Package().set_dir('t', sys.argv[1])\n"
            "p.build('bench/folder', registry='file://' + sys.argv[2])\n"
        )
        try:
            t_q, q = timed(lambda: subprocess.run([sys.executable, "-c", qcode, src, os.path.join(work, "quilt")],
                                                  capture_output=True, env={**os.environ, "QUILT_DISABLE_CACHE": "true", "XDG_DATA_HOME": os.path.join(work, "qdata")}))
            if q.returncode == 0:
                rows.append(("quilt3 set_dir + build", t_q, f"lakepkg build = {t_build / t_q:.2f}x quilt3"))
            else:
                rows.append(("quilt3 set_dir + build", float("nan"), "failed: " + q.stderr.decode()[-200:].replace("\n", " ")))
        except Exception as exc:  # quilt3 missing
            rows.append(("quilt3 set_dir + build", float("nan"), f"not run: {exc}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


MANIFEST_STEP = r'''
import os, sys, time, json, resource
os.environ["LAKEPKG_HOME"] = sys.argv[2]
from lakepkg.registry import open_registry
from lakepkg.format.manifest import Entry, EntrySorter, build_table_node, RootNodeData, store_node
from lakepkg.write.build import BuiltPackage
from lakepkg.write.publish import publish
import pyarrow as pa
import lakepkg
from lakepkg.read.diff import diff_packages
step, n = sys.argv[1], int(sys.argv[3])
location = sys.argv[4] if len(sys.argv) > 4 else None  # load/diff: an S3 registry the versions were pushed to
reg = open_registry(location) if location else open_registry()
ref = "bench/million"
schema = pa.schema([("ds", pa.string()), ("v", pa.int64())])
# entries name real (tiny) objects: publish confirms every object a version names is stored
if step == "build":
    real = [reg.store.put_bytes(f"bench object {j}".encode()) for j in range(64)]
    real2 = [reg.store.put_bytes(f"bench object v2 {j}".encode()) for j in range(64)]
def entries(version):
    for i in range(n):
        obj = real[i % 64] if not (version == 2 and i % 100 == 7) else real2[i % 64]
        yield Entry(key=f"ds={i % 365:03d}/part-{i:07d}.parquet", object=obj, size=1_000_000 + i, rows=1000,
                    partition={"ds": f"{i % 365:03d}"}, stats={"v": {"min": i, "max": i + 999, "nulls": 0}})
t = time.perf_counter()  # after the imports: the steps' own cost
out = {}
if step == "build":
    for version in (1, 2):
        lease = reg.begin_write()  # as a builder does, before its first write (the publish settles with it)
        s = EntrySorter("t")
        for e in entries(version):
            s.add(e)
        h, node = build_table_node(reg.store, "t", schema, s, ["ds"])
        root = RootNodeData(tables={"t": h}, files=[])
        top = store_node(reg.store, root)
        publish(reg, "bench/million", BuiltPackage(top, root, {}, {}, lease))
        out[f"v{version}"] = top
        if version == 1:
            out["build_s"] = time.perf_counter() - t
            out["pages"] = len(node.pages)
elif step == "load":
    hist = reg.history("bench/million")
    pkg = lakepkg.load(f"{ref}@{hist[0].top_hash}", registry=reg)
    cnt = sum(1 for _ in pkg["t"].iter_entries())
    out["entries"] = cnt
elif step == "diff":
    hist = reg.history("bench/million")
    d = diff_packages(lakepkg.load(f"{ref}@{hist[0].top_hash}", registry=reg), lakepkg.load(f"{ref}@{hist[1].top_hash}", registry=reg))
    t0 = d.tables[0]
    out["changed"] = len(t0.fragments_changed)
    out["pages_read"] = t0.pages_compared
    out["pages_skipped"] = t0.pages_skipped
out.setdefault("seconds", time.perf_counter() - t)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def _step(step: str, work: str, n: int, location: Optional[str] = None, env: Optional[dict] = None) -> dict:
    args = [sys.executable, "-c", MANIFEST_STEP, step, work, str(n)] + ([location] if location else [])
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def _s3_steps(work: str, n: int) -> dict:
    """Push both versions to a moto S3 server on loopback, then load + scan and diff from there
    (an empty local cache: every page is downloaded)."""
    sys.path.insert(0, os.path.dirname(HERE))
    from tests.fixtures.s3 import TEST_ENV, new_bucket, start_moto_server, stop_moto_server

    proc, url = start_moto_server()
    env = {**os.environ, **TEST_ENV, "LAKEPKG_S3_ENDPOINT_URL": url, "LAKEPKG_HOME": work,
           "LAKEPKG_NO_PROGRESS": "1"}
    try:
        location = f"s3://{new_bucket(url)}/reg"
        push = ("import sys, lakepkg; from lakepkg.maintain import transfer; from lakepkg.registry import open_registry\n"
                "reg = open_registry()\n"
                "for rec in reversed(reg.history('bench/million')):\n"
                "    transfer.push(f'bench/million@{rec.top_hash}', sys.argv[1], registry=reg)\n")
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", push, location], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        out = {"push_s": time.perf_counter() - t}
        for step in ("load", "diff"):
            cache = tempfile.mkdtemp(prefix="bench-s3-cache-", dir=DATA)
            try:
                out[step] = _step(step, work, n, location, {**env, "LAKEPKG_CACHE_DIR": cache})
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        return out
    finally:
        stop_moto_server(proc)


def bench_manifest(n: int, s3: bool = False) -> list[tuple[str, float, str]]:
    work = tempfile.mkdtemp(prefix="bench-manifest-", dir=DATA)
    rows = []
    try:
        res = {step: _step(step, work, n) for step in ("build", "load", "diff")}
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(work) for f in fs)
        b = res["build"]
        rows.append((f"build {n:,}-fragment manifest", b["build_s"], f"{b['pages']} pages; peak RSS {b['peak_rss_mb']:.0f} MB (both versions)"))
        rows.append(("load + scan every entry", res["load"]["seconds"], f"{res['load']['entries']:,} entries; peak RSS {res['load']['peak_rss_mb']:.0f} MB"))
        d = res["diff"]
        rows.append(("diff, 1% of fragments changed", d["seconds"], f"{d['changed']:,} changed found; {d['pages_read']} pages read, {d['pages_skipped']} skipped; peak RSS {d['peak_rss_mb']:.0f} MB"))
        rows.append(("manifest size on disk (2 versions)", 0.0, f"{size / 1e6:.0f} MB; data it describes: {n * 1e6 / 1e12:.1f} TB"))
        if s3:
            r = _s3_steps(work, n)
            rows.append(("S3 (moto): push both versions", r["push_s"], "not a goal: what the S3 steps below start from"))
            rows.append(("S3: load + scan every entry", r["load"]["seconds"], f"{r['load']['entries']:,} entries; empty cache; peak RSS {r['load']['peak_rss_mb']:.0f} MB"))
            d = r["diff"]
            rows.append(("S3: diff, 1% of fragments changed", d["seconds"], f"{d['changed']:,} changed found; {d['pages_read']} pages read; empty cache; peak RSS {d['peak_rss_mb']:.0f} MB"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--fragments", type=int, default=1_000_000)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--s3", action="store_true", help="also load + diff the manifest from a moto S3 server")
    tiny(ap, gb=0.002, files=4, fragments=3000)
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    rows = []
    if not args.skip_build:
        rows += bench_build(args.gb, args.files)
    rows += bench_manifest(args.fragments, args.s3)
    w = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(w)}  {'seconds':>9}  notes")
    for name, secs, note in rows:
        print(f"{name.ljust(w)}  {secs:9.2f}  {note}")


if __name__ == "__main__":
    main()
