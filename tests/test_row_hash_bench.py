"""Smoke run of bench/bench_row_hash.py at a tiny size: every figure prints (no timing asserted)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_row_hash_smoke():
    env = {**os.environ, "BENCH_ROW_HASH_ROWS": "20000", "BENCH_ROW_HASH_REPEATS": "1"}
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_row_hash.py")], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["rows"] == 20000 and out["v2_rows_per_cpu_s"] > 0 and out["hashlib_rows_per_cpu_s"] > 0
    assert "rows/s per core" in p.stdout and "goal: >= 2,000,000" in p.stdout
