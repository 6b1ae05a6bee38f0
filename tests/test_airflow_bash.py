"""BashOperator users: `lakepkg snapshot ... --input REF --print top_hash|ref` in a real Airflow DAG —
the last stdout line is the XCom, the input and the Airflow run land in the version record."""
from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.registry import open_registry

pytest.importorskip("airflow.sdk")

HERE = os.path.dirname(__file__)
CLI = os.path.join(os.path.dirname(sys.executable), "lakepkg")


def _has_print_option() -> bool:
    out = subprocess.run([CLI, "snapshot", "files", "--help"], capture_output=True, text=True)
    return "--print" in out.stdout and "--input" in out.stdout


def test_bash_operator_prints_top_hash_and_records_input(airflow, tmp_path):
    if not _has_print_option():
        pytest.skip("`lakepkg snapshot files --print/--input` (the publish path's CLI) is not on this branch yet")
    reg_path = str(tmp_path / "registry")
    reg = open_registry(reg_path)
    b = lakepkg.PackageBuilder(reg)
    b.add_table("raw", pa.table({"id": [1, 2]}))
    upstream = b.publish("bash/raw")
    up_hash = getattr(upstream, "top_hash", None) or upstream.record.top_hash
    folder = tmp_path / "events"
    folder.mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3]}), str(folder / "part-0.parquet"))
    airflow.add_dag(os.path.join(HERE, "airflow_dags", "bash_dags.py"))
    (run,) = airflow.run([{"op": "test", "dag": "lp_bash",
                           "conf": {"folder": str(folder), "input": f"bash/raw@{up_hash}", "registry": reg_path}}])
    assert run["state"] == "success", run
    rec = reg.resolve("bash/events")
    assert run["xcom"]["snapshot"] == rec.top_hash  # the last stdout line: only the top hash
    assert run["xcom"]["snapshot_ref"] == f"bash/events@{rec.top_hash[:10]}"
    assert len(reg.history("bash/events")) == 1   # the second command (same content) minted nothing
    assert rec.run["inputs"] == [f"bash/raw@{up_hash}"]
    assert rec.run["dag_id"] == "lp_bash" and rec.run["task_id"] == "snapshot" and rec.author == "bash-team"
    assert lakepkg.load("bash/events", reg)["events"].rows == 3
