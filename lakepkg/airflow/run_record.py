"""The run-linked part of a version record, from an Airflow task context.

``run`` holds ``orchestrator: airflow``, ``dag_id``, ``run_id``, ``task_id``,
``try_number``, ``map_index`` (mapped tasks), ``logical_date`` (or ``run_after``
for runs without one), ``run_type``, ``params`` (the DAG's params, JSON values
only) and ``code_version`` (Airflow's DAG bundle version, else the git commit of
the DAG file's folder). The owner becomes the version's author. Nothing here is
hashed: a retry (try 2) of the same source state keeps the same top hash.
"""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Mapping, Optional

__all__ = ["run_record", "owner_of", "code_version"]


def _iso(value: Any) -> Optional[str]:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return iso() if callable(iso) else str(value)


def _jsonable(params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        items = dict(params or {}).items()
    except (TypeError, ValueError):
        return out
    for k, v in items:
        v = getattr(v, "value", v)  # airflow Param
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            v = str(v)
        out[str(k)] = v
    return out


def _git_commit(folder: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def code_version(context: Mapping[str, Any]) -> dict[str, str]:
    """``{"code_version": ..., "code_version_source": "bundle"|"git"}`` or ``{}``."""
    ti = context.get("ti")
    bundle = getattr(ti, "bundle_instance", None)
    version = getattr(bundle, "version", None)
    if version:
        return {"code_version": str(version), "code_version_source": f"bundle:{getattr(bundle, 'name', '')}"}
    env = os.environ.get("LAKEPKG_CODE_COMMIT")
    if env:
        return {"code_version": env, "code_version_source": "env"}
    dag = context.get("dag")
    fileloc = getattr(dag, "fileloc", None)
    commit = _git_commit(os.path.dirname(fileloc)) if fileloc else None
    return {"code_version": commit, "code_version_source": "git"} if commit else {}


def owner_of(context: Mapping[str, Any]) -> Optional[str]:
    """The task's owner (Airflow's ``owner`` default ``airflow`` counts as unset)."""
    task = context.get("task")
    owner = getattr(task, "owner", None)
    return str(owner) if owner and owner != "airflow" else None


def run_record(context: Mapping[str, Any], inputs: Optional[list[str]] = None) -> dict[str, Any]:
    """The ``run`` dict for :func:`lakepkg.write.publish.publish` from a task context."""
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    run: dict[str, Any] = {"orchestrator": "airflow"}
    for key, value in (("dag_id", getattr(ti, "dag_id", None)), ("run_id", getattr(ti, "run_id", None)),
                       ("task_id", getattr(ti, "task_id", None)), ("try_number", getattr(ti, "try_number", None))):
        if value is not None:
            run[key] = value
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        run["map_index"] = map_index
    logical = context.get("logical_date")
    run["logical_date"] = _iso(logical)
    if logical is None and dag_run is not None:
        run["run_after"] = _iso(getattr(dag_run, "run_after", None))
    run_type = getattr(dag_run, "run_type", None)
    if run_type is not None:
        run["run_type"] = str(getattr(run_type, "value", run_type))
    run["params"] = _jsonable(context.get("params"))
    owner = owner_of(context)
    if owner:
        run["owner"] = owner
    run.update(code_version(context))
    if inputs:
        run["inputs"] = list(inputs)
    return run
