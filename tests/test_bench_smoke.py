"""Every ``bench/bench_*.py`` runs in the suite at a tiny size (issue 23 item 1), so none can rot: with
``LAKEPKG_BENCH_SMOKE=1`` (bench/smoke.py, announced in bench/RESULTS.md) — or through a smoke test of
its own that names it (tests/test_*_bench.py). A new bench is found without a line here."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
SCRIPTS = sorted(f for f in os.listdir(BENCH) if f.startswith("bench_") and f.endswith(".py"))
#: smoke runs that start Airflow or a Spark JVM of their own or load a database several times: seconds
#: measured on the shared 2-core machine at load 15-25 (one run each). They run with
#: LAKEPKG_BENCH_SMOKE_ALL=1 (the suite's 25-minute budget has no room for them by default).
HEAVY = {"bench_airflow.py": 331, "bench_spark.py": 275, "bench_deltas.py": 223, "bench_verify.py": 176}


def _own_smoke_test(script: str) -> bool:
    tests = os.path.join(ROOT, "tests")
    for f in os.listdir(tests):
        if f.startswith("test_") and f.endswith(".py") and f != os.path.basename(__file__):
            if f'"{script}"' in open(os.path.join(tests, f), encoding="utf-8").read():
                return True
    return False


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_runs_at_a_tiny_size(script, tmp_path, s3_endpoint):
    if _own_smoke_test(script):
        pytest.skip(f"bench/{script} has its own smoke test")
    if script in HEAVY and os.environ.get("LAKEPKG_BENCH_SMOKE_ALL") != "1":
        pytest.skip(f"bench/{script}: its smoke run took {HEAVY[script]} s; set LAKEPKG_BENCH_SMOKE_ALL=1 to run it")
    text = open(os.path.join(BENCH, script), encoding="utf-8").read()
    assert "from smoke import" in text, f"bench/{script} does not honour LAKEPKG_BENCH_SMOKE (see bench/smoke.py)"
    env = {**os.environ, "LAKEPKG_BENCH_SMOKE": "1", "LAKEPKG_NO_PROGRESS": "1",
           "LAKEPKG_HOME": str(tmp_path / "home"), "PYSPARK_PYTHON": sys.executable}
    p = subprocess.run([sys.executable, os.path.join(BENCH, script)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=900)
    assert p.returncode == 0, f"bench/{script} exited {p.returncode}: {(p.stderr or p.stdout)[-2500:]}"
    assert p.stdout.strip(), f"bench/{script} printed no figures"
