"""Merge benchmark (issue 21): a three-way merge of a 1,000,000-row keyed table.

    .venv/bin/python bench/bench_merge.py [--rows 1000000] [--keep DIR]

A keyed table (``id`` and four columns) is snapshotted, cloned, and each side re-snapshots it with
1% of its rows changed (deltas: the changed rows in new fragments, deletion vectors on the old):
ours changes column ``a`` of 10,000 rows, theirs column ``b`` of 10,000 rows, half of them the same
rows as ours (overlapping in rows, not cells: merged cell by cell), and column ``a`` of 100 of
those too (100 conflicting cells), resolved with ``--strategy ours``. Measured, in a fresh process
that only merges: the merge's wall time and peak RSS; the store's growth, next to the
changed-rows ideal (the rows the result holds that ours does not: theirs' 10,000 changed rows, at
the table's bytes per row) and next to a full rewrite of the merged table (the same rows published
whole); the same merge through the CLI (``lakepkg merge … --strategy ours``), start-up included.
The merged rows are checked against the expected table. Goals: under 10 s, under 500 MB, growth
within 1.5x of the ideal. The last line is the figures as JSON (the smoke test reads it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HERE = os.path.dirname(os.path.abspath(__file__))
CHANGED = 0.01

MERGE = r"""
import json, resource, sys, time
import lakepkg
import lakepkg.api, lakepkg.merging.three_way  # imports done before the clock starts (the CLI figure has them)
from lakepkg.registry import open_registry
reg = open_registry(sys.argv[1])
t0 = time.perf_counter()
res = lakepkg.merge("bench/main", "bench/team", sys.argv[2], registry=reg, strategy="ours")
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "status": res.status, "facts": res.tables.get("t", {})}))
"""


def _stored(root: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(root) for f in fs)


def _publish(reg, name: str, t: pa.Table, previous: bool = True):
    from lakepkg.source.table_snapshot import TableSnapshot
    from lakepkg.write.build import PackageBuilder
    from lakepkg.write.previous import previous_version

    b = PackageBuilder(reg)
    prev = previous_version(reg, name) if previous else None
    b.add_snapshot(TableSnapshot(name="t", schema=t.schema, batches=t.to_batches(max_chunksize=65536),
                                 key_columns=["id"]), previous=prev)
    return b.publish(name)


def tables(n: int, seed: int = 7) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """(base, ours, theirs, the expected merge)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64)
    a = rng.integers(0, 1_000_000, n)
    b = rng.random(n)
    c = pc.cast(pa.array(ids % 997), pa.string())
    d = rng.integers(0, 100, n)
    k = max(2, int(n * CHANGED))
    ours_rows = rng.choice(n, k, replace=False)
    overlap = ours_rows[: k // 2]
    rest = np.setdiff1d(ids, ours_rows)
    theirs_rows = np.concatenate([overlap, rng.choice(rest, k - len(overlap), replace=False)])
    conflicts = overlap[: min(100, len(overlap))]

    def table(a_: np.ndarray, b_: np.ndarray) -> pa.Table:
        return pa.table({"id": ids, "a": a_, "b": b_, "c": c, "d": d})

    a_ours = a.copy()
    a_ours[ours_rows] += 1
    b_theirs = b.copy()
    b_theirs[theirs_rows] += 1.0
    a_theirs = a.copy()
    a_theirs[conflicts] += 2  # a different value than ours': a conflicting cell
    return table(a, b), table(a_ours, b), table(a_theirs, b_theirs), table(a_ours, b_theirs)


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_MERGE_ROWS", "1000000")))
    ap.add_argument("--keep", default=None, help="Work in this folder and keep it (default: a temporary one, removed).")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="lakepkg-bench-merge-")
    os.makedirs(work, exist_ok=True)
    root = os.path.join(work, "registry")
    try:
        import lakepkg
        from lakepkg.registry import open_registry

        reg = open_registry(root)
        base, ours, theirs, want = tables(args.rows)
        t0 = time.perf_counter()
        _publish(reg, "bench/main", base)
        lakepkg.clone("bench/main", "bench/team", registry=reg)
        _publish(reg, "bench/main", ours)
        _publish(reg, "bench/team", theirs)
        setup = time.perf_counter() - t0
        node = lakepkg.load("bench/main", reg).table("t").node
        per_row = node.bytes / node.rows
        changed = int((~np.isclose(theirs["b"].to_numpy(), base["b"].to_numpy())).sum())
        ideal = changed * per_row
        before = _stored(root)
        env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1", "PYTHONPATH": os.path.dirname(HERE)}
        p = subprocess.run([sys.executable, "-c", MERGE, root, "bench/merged"], capture_output=True, text=True, env=env)
        if p.returncode:
            raise SystemExit(p.stderr[-2000:])
        m = json.loads(p.stdout.strip().splitlines()[-1])
        growth = _stored(root) - before
        got = lakepkg.load("bench/merged", reg).table("t").to_arrow().sort_by("id")
        if not got.equals(want):
            raise SystemExit("the merged table is not the expected one")
        t1 = time.perf_counter()
        c = subprocess.run([sys.executable, "-m", "lakepkg.cli.__main__", "merge", "bench/main", "bench/team", "--to",
                            "bench/merged-cli", "--strategy", "ours", "--json", "-r", root],
                           capture_output=True, text=True, env=env)
        cli_s = time.perf_counter() - t1
        if c.returncode:
            raise SystemExit(c.stderr[-2000:])
        full_before = _stored(root)
        _publish(reg, "bench/rewrite", want, previous=False)
        full = _stored(root) - full_before
        out = {"rows": args.rows, "changed_rows_vs_ours": changed, "conflicting_cells": 100 if args.rows >= 40_000 else None,
               "setup_s": round(setup, 2), "merge_s": round(m["seconds"], 3), "merge_cli_s": round(cli_s, 3),
               "peak_mb": round(m["peak_mb"], 1), "growth_bytes": growth, "ideal_bytes": int(ideal),
               "growth_x_ideal": round(growth / ideal, 3), "full_rewrite_bytes": full,
               "full_x_ideal": round(full / ideal, 2), "facts": m["facts"]}
        print(f"merge of {args.rows:,} rows, {changed:,} changed vs ours (theirs' 1%; half overlapping ours' rows), "
              f"--strategy ours")
        print(f"  {'':28} {'measured':>12} {'goal':>10} {'ratio':>8}")
        print(f"  {'merge time (in process)':28} {m['seconds']:>10.2f} s {'< 10 s':>10} {m['seconds'] / 10:>8.2f}")
        print(f"  {'merge time (CLI, start-up)':28} {cli_s:>10.2f} s {'':>10}")
        print(f"  {'peak RSS of the merge':28} {m['peak_mb']:>9.0f} MB {'< 500 MB':>10} {m['peak_mb'] / 500:>8.2f}")
        print(f"  {'store growth':28} {growth / 1e6:>9.2f} MB {'<= 1.5x':>10} {growth / ideal:>7.2f}x  of the ideal "
              f"{ideal / 1e6:.2f} MB")
        print(f"  {'full rewrite (baseline)':28} {full / 1e6:>9.2f} MB {'':>10} {full / ideal:>7.2f}x")
        print(json.dumps(out))
        return out
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
