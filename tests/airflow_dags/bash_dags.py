"""Test DAG: the CLI from a BashOperator — `--input REF` is recorded, `--print top_hash` is the XCom."""
from __future__ import annotations

import os
import sys

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

LAKEPKG = os.path.join(os.path.dirname(sys.executable), "lakepkg")

with DAG("lp_bash", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False,
         params={"folder": "", "input": "", "registry": ""}, default_args={"owner": "bash-team"}):
    first = BashOperator(
        task_id="snapshot", do_xcom_push=True,
        bash_command=(f"{LAKEPKG} snapshot files --to bash/events --table events={{{{ params.folder }}}} "
                      "--input {{ params.input }} --registry {{ params.registry }} --print top_hash"))
    again = BashOperator(
        task_id="snapshot_ref", do_xcom_push=True,
        bash_command=(f"{LAKEPKG} snapshot files --to bash/events --table events={{{{ params.folder }}}} "
                      "--registry {{ params.registry }} --print ref"))
    first >> again  # the second (same content) must mint nothing
