"""Every ``bench/bench_*.py`` runs in the suite at a tiny size (issue 23 item 1), so none can rot: with
``LAKEPKG_BENCH_SMOKE=1`` (bench/smoke.py, announced in bench/RESULTS.md) — or through a smoke test of
its own that names it (tests/test_*_bench.py). A new bench is found without a line here. The Spark
benches run in this process on the suite's Spark session, the Airflow bench on the suite's migrated
Airflow database: no smoke run starts a JVM or migrates a database of its own."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
SCRIPTS = sorted(f for f in os.listdir(BENCH) if f.startswith("bench_") and f.endswith(".py"))
#: benches whose smoke run uses the suite's own Spark session (their ``main(argv, spark=...)``), in this
#: process, instead of starting a JVM of their own
ON_THE_SUITES_SPARK = {"bench_spark.py": 'filtered aggregate: spark.read.format("pkg")',
                       "bench_verify.py": 'B full scan format("pkg") warm'}
#: fixtures a bench's smoke run reuses, and the environment variable that hands each over
REUSED = {"bench_airflow.py": {"BENCH_AF_DB_TEMPLATE": "airflow_db"}}


def _own_smoke_test(script: str) -> bool:
    tests = os.path.join(ROOT, "tests")
    for f in os.listdir(tests):
        if f.startswith("test_") and f.endswith(".py") and f != os.path.basename(__file__):
            if f'"{script}"' in open(os.path.join(tests, f), encoding="utf-8").read():
                return True
    return False


def _honours_smoke(script: str) -> None:
    text = open(os.path.join(BENCH, script), encoding="utf-8").read()
    assert "from smoke import" in text, f"bench/{script} does not honour LAKEPKG_BENCH_SMOKE (see bench/smoke.py)"


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s not in ON_THE_SUITES_SPARK])
def test_bench_runs_at_a_tiny_size(script, tmp_path, s3_endpoint, request):
    if _own_smoke_test(script):
        pytest.skip(f"bench/{script} has its own smoke test")
    _honours_smoke(script)
    env = {**os.environ, "LAKEPKG_BENCH_SMOKE": "1", "LAKEPKG_NO_PROGRESS": "1",
           "LAKEPKG_HOME": str(tmp_path / "home"), "PYSPARK_PYTHON": sys.executable}
    for var, fixture in REUSED.get(script, {}).items():
        env[var] = str(request.getfixturevalue(fixture))
    p = subprocess.run([sys.executable, os.path.join(BENCH, script)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=900)
    assert p.returncode == 0, f"bench/{script} exited {p.returncode}: {(p.stderr or p.stdout)[-2500:]}"
    assert p.stdout.strip(), f"bench/{script} printed no figures"


@pytest.mark.parametrize("script", sorted(ON_THE_SUITES_SPARK))
def test_spark_bench_runs_at_a_tiny_size_on_the_suites_session(script, spark, tmp_path, monkeypatch, capsys):
    _honours_smoke(script)
    monkeypatch.setenv("LAKEPKG_BENCH_SMOKE", "1")
    monkeypatch.setenv("LAKEPKG_NO_PROGRESS", "1")
    monkeypatch.syspath_prepend(BENCH)
    import importlib

    import smoke

    importlib.reload(smoke)  # SMOKE is read when the module is imported
    bench = importlib.import_module(script[:-3])
    bench = importlib.reload(bench)
    try:
        bench.main(["--data", str(tmp_path / "data")], spark=spark)
    finally:
        monkeypatch.delenv("LAKEPKG_BENCH_SMOKE")
        importlib.reload(smoke)
    out = capsys.readouterr().out
    assert ON_THE_SUITES_SPARK[script] in out, f"bench/{script} printed no figures:\n{out}"


#: benches no other test names: this file's discovery is what runs them, so it must keep finding them
FOUND_HERE_ONLY = {"bench_deltas.py", "bench_hive.py", "bench_s3.py", "bench_sql.py"}


def test_discovery_finds_the_benches_only_this_file_runs():
    found = {s for s in SCRIPTS if s not in ON_THE_SUITES_SPARK and not _own_smoke_test(s)}
    assert FOUND_HERE_ONLY <= found, f"not run at a tiny size by any test: {sorted(FOUND_HERE_ONLY - found)}"
