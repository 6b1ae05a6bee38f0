"""Smoke run of bench/bench_core.py part B (the many-fragment manifest) at 100,000 fragments: build,
load + scan and a 1% diff run through a leased publish and find what they must."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_manifest_smoke():
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1"}
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_core.py"), "--skip-build",
                        "--fragments", "100000"], capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "build 100,000-fragment manifest" in p.stdout
    assert "100,000 entries" in p.stdout and "1,000 changed found" in p.stdout, p.stdout
