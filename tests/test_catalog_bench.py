"""Smoke run of bench/bench_catalog.py at a tiny size: every page answers 200 and the figures print."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_catalog_smoke(tmp_path):
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1"}
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_catalog.py"), "--fragments", "500",
                        "--packages", "10", "--keep", str(tmp_path / "work")],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["fragments"] == 500 and out["packages"] == 11  # the 10 and the seed package
    assert {v["status"] for v in out["pages"].values()} == {200}
    assert "A: version page" in out["pages"] and "B: packages list, first page" in out["pages"]
    assert out["show_process_ms"] > 0 and "goal < 300 ms" in p.stdout
