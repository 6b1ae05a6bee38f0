"""Smoke run of bench/bench_merge.py at a tiny size: the merge publishes the expected rows (the
bench checks them) and the figures print with their goals."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_merge_smoke(tmp_path):
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1"}
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_merge.py"), "--rows", "5000",
                        "--keep", str(tmp_path / "work")], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["rows"] == 5000 and out["changed_rows_vs_ours"] == 50
    assert out["facts"]["layout"] == "ours" and out["facts"]["new_rows"] == 50 and out["facts"]["conflicts_resolved"] > 0
    assert out["growth_bytes"] < out["full_rewrite_bytes"]
    assert "< 10 s" in p.stdout and "< 500 MB" in p.stdout and "<= 1.5x" in p.stdout
