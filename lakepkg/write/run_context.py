"""The run context recorded with a version: who/what produced it (never hashed, never secret).

Collected automatically from Airflow's task environment (``AIRFLOW_CTX_*``)
and the code commit (``LAKEPKG_CODE_COMMIT`` or the git HEAD of the working
folder), merged with what the caller passes.
"""
from __future__ import annotations

import functools
import os
import subprocess
from typing import Any, Optional

AIRFLOW_VARS = {
    "AIRFLOW_CTX_DAG_ID": "dag_id", "AIRFLOW_CTX_DAG_RUN_ID": "run_id", "AIRFLOW_CTX_TASK_ID": "task_id",
    "AIRFLOW_CTX_TRY_NUMBER": "try_number", "AIRFLOW_CTX_EXECUTION_DATE": "logical_date",
    "AIRFLOW_CTX_LOGICAL_DATE": "logical_date", "AIRFLOW_CTX_DAG_OWNER": "owner",
}


def _git_commit() -> Optional[str]:
    return _git_commit_in(os.getcwd())


@functools.lru_cache(maxsize=16)
def _git_commit_in(folder: str) -> Optional[str]:
    """The HEAD commit of the git checkout at ``folder`` (asked once per folder and process: a publish
    must not wait for a subprocess between storing its objects and recording its version)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=folder)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def collect(extra: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None) -> dict[str, Any]:
    """The run record: Airflow context, code commit, input package versions, plus ``extra``."""
    run: dict[str, Any] = {}
    for var, key in AIRFLOW_VARS.items():
        if os.environ.get(var):
            run[key] = os.environ[var]
    if run:
        run["orchestrator"] = "airflow"
    commit = os.environ.get("LAKEPKG_CODE_COMMIT") or _git_commit()
    if commit:
        run["code_commit"] = commit
    if inputs:
        run["inputs"] = list(inputs)
    run.update(extra or {})
    return run
