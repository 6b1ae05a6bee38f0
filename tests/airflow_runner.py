"""Runs DAGs in a real Airflow 3 (SQLite metadata DB) — executed as a subprocess by tests/fixtures/airflow.py.

    python tests/airflow_runner.py PLAN.json RESULT.json

PLAN is a list of steps, run in order in ONE process (Airflow's in-process
execution API starts once, ~4 s, then each task takes milliseconds):

* ``{"op": "test", "dag": ID, "conf": {...}}`` — ``dag.test()``: one manual run;
* ``{"op": "asset_triggered", "dag": ID}`` — the scheduler's own asset-trigger step
  (``SchedulerJobRunner._create_dag_runs_asset_triggered``) creates the run the
  queued asset events call for, and its tasks run like ``dag.test()`` runs them;
* ``{"op": "providers"}`` — what Airflow's providers manager discovered;
* ``{"op": "test", ..., "logical_date": null | "2026-01-02T00:00:00+00:00"}`` — ``dag.test()`` with that
  logical date (null: a run without one, as the UI's trigger button and ``airflow dags trigger`` make);
* ``{"op": "rest_asset_events", "dag": ID, "uri": URI, "events": [{"extra", "after_seconds"}, ...]}`` — the
  DAG written to the metadata DB (its Asset with it), then asset events
  created through Airflow's public REST API (``POST /api/v2/assets/events``, Airflow's own FastAPI app
  served in this process), each with the server's clock ``after_seconds`` past now (time-machine), so the
  events' own times need not follow the order they were created in (a late producer, clock skew);
* ``{"op": "triggering_order", "package": NAME, "registry": PATH, "events": [{"uri", "extra",
  "timestamp"}, ...]}`` — the events handed to a consumer in every order, through the Task SDK's own
  ``TriggeringAssetEventsAccessor``: the top hash ``package_from_context`` picks for each order.

RESULT: per step, the run's state, each task's state/try number and its XCom
``return_value`` — read back from the metadata database.
"""
from __future__ import annotations

import json
import sys
import traceback


def _xcoms(dag_id: str, run_id: str) -> dict:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    out = {}
    with create_session() as s:
        rows = s.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id,
                                         XComModel.key == "return_value").all()
        for r in rows:
            v = r.value
            if isinstance(v, (str, bytes)):
                try:
                    v = json.loads(v)
                except ValueError:
                    pass  # already a decoded JSON string
            out[r.task_id] = v
    return out


def _s(v) -> str:
    return str(getattr(v, "value", v))


def _describe(dr) -> dict:
    from airflow.utils.session import create_session
    from airflow.models.dagrun import DagRun

    with create_session() as s:
        from sqlalchemy.orm import selectinload

        dr = (s.query(DagRun).options(selectinload(DagRun.consumed_asset_events))
              .filter(DagRun.dag_id == dr.dag_id, DagRun.run_id == dr.run_id).one())
        consumed = [dict(e.extra or {}) for e in dr.consumed_asset_events]
        consumed_times = [e.timestamp.isoformat() for e in dr.consumed_asset_events]
        tis = {ti.task_id: {"state": _s(ti.state),
                            "try_number": ti.try_number, "duration": ti.duration}
               for ti in dr.get_task_instances(session=s)}
        return {"dag_id": dr.dag_id, "run_id": dr.run_id, "run_type": _s(dr.run_type),
                "state": _s(dr.state), "tasks": tis,
                "xcom": _xcoms(dr.dag_id, dr.run_id),
                "consumed_asset_events": consumed, "consumed_event_times": consumed_times}


def _dag(dag_id: str):
    from airflow.utils.cli import get_bagged_dag

    dag = get_bagged_dag(None, dag_id)
    if dag is None:
        raise SystemExit(f"DAG {dag_id} not found")
    return dag


def _run_asset_triggered(dag_id: str) -> dict:
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    dag = _dag(dag_id)
    job = Job()
    runner = SchedulerJobRunner(job=job, num_runs=1)
    with create_session() as s:
        s.add(job)
        s.flush()
        before = {r.run_id for r in s.query(DagRun).filter(DagRun.dag_id == dag_id)}
        runner._create_dag_runs_asset_triggered(
            dag_models=s.query(DagModel).filter(DagModel.dag_id == dag_id).all(), session=s)
    with create_session() as s:
        new = [r for r in s.query(DagRun).filter(DagRun.dag_id == dag_id) if r.run_id not in before]
        if not new:
            return {"dag_id": dag_id, "state": "not_triggered"}
        dr = new[0]
        dr.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        dr.state = DagRunState.RUNNING
        s.commit()
        for _ in range(100):
            if dr.state != DagRunState.RUNNING:
                break
            s.expire_all()
            schedulable, _ = dr.update_state(session=s)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            s.commit()
            for ti in dr.get_task_instances(session=s):
                if ti.state == TaskInstanceState.SCHEDULED:
                    _run_task(ti=ti, task=dag.task_dict[ti.task_id], run_triggerer=True)
            s.commit()
        return _describe(dr)


def _triggering_order(step: dict) -> dict:
    import itertools
    from datetime import datetime

    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    from lakepkg.airflow.assets import package_from_context

    events = [AssetEventDagRunReferenceResult(
        asset={"name": e["uri"], "uri": e["uri"], "extra": {}}, extra=e["extra"], source_task_id="snapshot",
        source_dag_id="producer", source_run_id=f"run{i}", source_map_index=-1, source_aliases=[],
        timestamp=datetime.fromisoformat(e["timestamp"])) for i, e in enumerate(step["events"])]
    picked = {}
    for order in itertools.permutations(range(len(events))):
        context = {"triggering_asset_events": TriggeringAssetEventsAccessor.build([events[i] for i in order])}
        picked[",".join(map(str, order))] = package_from_context(context, step.get("package"),
                                                                 registry=step["registry"]).top_hash
    return {"picked": picked}


def _rest_asset_events(step: dict) -> dict:
    from datetime import datetime, timedelta, timezone

    import time_machine
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app

    if step.get("dag"):
        _dag(step["dag"])  # parsed and written to the metadata DB, as the DAG processor would: its Asset exists
    client = TestClient(create_app("core"))  # AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: no login
    got = client.get("/api/v2/assets", params={"uri_pattern": step["uri"]})
    assert got.status_code == 200, got.text
    ids = [a["id"] for a in got.json()["assets"] if a["uri"] == step["uri"]]
    assert ids, f"no asset {step['uri']} in Airflow: {got.json()}"
    created = []
    now = datetime.now(timezone.utc)
    for e in step["events"]:
        with time_machine.travel(now + timedelta(seconds=e["after_seconds"]), tick=False):
            r = client.post("/api/v2/assets/events", json={"asset_id": ids[0], "extra": e["extra"]})
        assert r.status_code == 200, r.text
        created.append({"id": r.json()["id"], "timestamp": r.json()["timestamp"],
                        "top_hash": r.json()["extra"].get("top_hash")})
    return {"created": created}


def _providers() -> dict:
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    pm.initialize_providers_hooks()
    info = pm.providers.get("lakepkg")
    hook = pm.hooks.get("lakepkg")
    return {"lakepkg": info.data if info else None, "version": info.version if info else None,
            "hook": {"class": hook.hook_class_name, "name": hook.hook_name} if hook else None,
            "connection_types": sorted(pm.hooks.keys()),
            "asset_schemes": sorted(getattr(pm, "asset_uri_handlers", {}).keys())}


def main() -> None:
    plan = json.load(open(sys.argv[1]))
    results = []
    import time

    t0 = time.time()
    for step in plan:
        started = time.time()
        try:
            if step["op"] == "test":
                kw = {}
                if "logical_date" in step:
                    from datetime import datetime

                    ld = step["logical_date"]
                    kw["logical_date"] = None if ld is None else datetime.fromisoformat(ld)
                dr = _dag(step["dag"]).test(run_conf=step.get("conf"), **kw)
                results.append(_describe(dr))
            elif step["op"] == "triggering_order":
                results.append(_triggering_order(step))
            elif step["op"] == "rest_asset_events":
                results.append(_rest_asset_events(step))
            elif step["op"] == "asset_triggered":
                results.append(_run_asset_triggered(step["dag"]))
            elif step["op"] == "providers":
                results.append(_providers())
            else:
                raise SystemExit(f"unknown op {step['op']}")
        except Exception:
            results.append({"error": traceback.format_exc()})
        results[-1]["seconds"] = round(time.time() - started, 2)
        results[-1]["since_start"] = round(time.time() - t0, 2)
        json.dump(results, open(sys.argv[2], "w"), default=str)


if __name__ == "__main__":
    main()
