"""Smoke run of bench/bench_query.py at a tiny size (TPC-H sf 0.01, three queries): every engine's
answer is compared with live PostgreSQL's inside the bench, and the figures print with their goals."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_query_smoke(tmp_path):
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1", "BENCH_QUERY_DB": f"lakepkg_bench_tpch_smoke_{os.getpid()}"}
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_query.py"), "--sf", "0.01",
                        "--queries", "1,6,14"], capture_output=True, text=True, env=env, timeout=900, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert set(out["queries"]) == {"1", "6", "14"}
    for q in out["queries"].values():
        assert q["exact"] == "equal" and q["command_exit"] == 0
        assert q["fast"] == "equal" or q["fast"].startswith("refused"), q["fast"]
    assert out["exact_load_rows_per_s"] > 0
    assert "goal <= 1x" in p.stdout and "goal >= 1,000,000 rows/s" in p.stdout and "goal <= 0.5 s" in p.stdout
