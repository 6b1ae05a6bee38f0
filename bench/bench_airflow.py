"""Airflow operator overhead: LakepkgSnapshotOperator in a real Airflow 3 run vs lakepkg's snapshot called directly.

    .venv/bin/python bench/bench_airflow.py

For a small (1,000 rows) and a 1,000,000-row PostgreSQL table (id, customer, amount, note), one run
each, every snapshot into a fresh registry (so both do the full write):

* direct: the snapshot function called in this process (first call, then a second into another fresh registry);
* operator: the snapshot task of a DAG run by ``dag.test()`` in a temporary AIRFLOW_HOME (SQLite),
  timed by Airflow (the task instance's duration: connection lookup, hook, write, audit-free publish,
  asset event, XCom, OpenLineage facets) — two such tasks in one run (the first pays the imports) —
  plus the whole ``dag.test()`` call. The top hashes of all four snapshots are equal.

Environment: ``BENCH_AF_PG`` (server URL, default postgresql://postgres@127.0.0.1:5432),
``BENCH_AF_ROWS`` (1000000; 0 runs the small table only), ``BENCH_AF_SMALL`` (1000 rows),
``BENCH_AF_DB_TEMPLATE`` (an Airflow metadata database already migrated, copied instead of running
``airflow db migrate``: the test suite's smoke run passes its own). Database ``lakepkg_bench_airflow``
is created and dropped.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny_env  # noqa: E402
tiny_env(BENCH_AF_ROWS=0, BENCH_AF_SMALL=50)
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
PG = os.environ.get("BENCH_AF_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "lakepkg_bench_airflow"
BIG = int(os.environ.get("BENCH_AF_ROWS", "1000000"))
SMALL = int(os.environ.get("BENCH_AF_SMALL", "1000"))
TABLES = [("small", SMALL)] + ([("big", BIG)] if BIG else [])

DAG = '''
import os, pendulum
from airflow.sdk import DAG
from lakepkg.airflow.operators import LakepkgSnapshotOperator
with DAG("bench_snapshot", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False):
    cold, warm = [LakepkgSnapshotOperator(task_id=f"snapshot_{i}", package="bench/" + os.environ["BENCH_TABLE"],
                                          lakepkg_conn_id=f"bench_reg{i}",
                                          sources=[{"connector": "sql", "conn_id": "bench_pg", "key": "id",
                                                    "tables": {"t": "public." + os.environ["BENCH_TABLE"]}}])
                  for i in (1, 2)]
    cold >> warm
'''


def _pg(sql: str, db: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{db}", autocommit=True) as c:
        c.execute(sql)


def _direct(table: str, registry: str) -> tuple[float, str]:
    import lakepkg
    from lakepkg.registry import open_registry

    snap = getattr(lakepkg, "snapshot", None)
    if snap is None:
        from lakepkg.write.snapshotting import snapshot as snap
    t = time.perf_counter()
    res = snap("sql", to=f"bench/{table}", registry=open_registry(registry), url=f"postgresql+psycopg://{PG.split('://', 1)[1]}/{DB}",
               tables={"t": f"public.{table}"}, key="id")
    seconds = time.perf_counter() - t
    record = res[0] if isinstance(res, tuple) else res.record
    return seconds, record.top_hash


def main() -> None:
    from tests.fixtures.airflow import AirflowEnv, _base_env

    work = tempfile.mkdtemp(prefix="lakepkg-bench-airflow-")
    _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DB}")
    try:
        for table, n in TABLES:
            _pg(f"CREATE TABLE {table} (id bigint PRIMARY KEY, customer int, amount numeric(12,2), note text)", DB)
            _pg(f"INSERT INTO {table} SELECT g, g % 1000, (g % 10000) / 100.0, md5(g::text) "
                f"FROM generate_series(1, {n}) g", DB)
        home = os.path.join(work, "template")
        os.makedirs(os.path.join(home, "dags"))
        t = time.perf_counter()
        template = os.environ.get("BENCH_AF_DB_TEMPLATE")
        if template:
            shutil.copy(template, os.path.join(home, "airflow.db"))
        else:
            subprocess.run([os.path.join(os.path.dirname(sys.executable), "airflow"), "db", "migrate"],
                           env=_base_env(home), check=True, capture_output=True)
        migrate = time.perf_counter() - t
        rows = []
        for table, n in TABLES:
            direct_cold, top1 = _direct(table, os.path.join(work, f"direct1-{table}"))
            direct, top2 = _direct(table, os.path.join(work, f"direct2-{table}"))
            env = AirflowEnv(os.path.join(work, f"af-{table}"), os.path.join(home, "airflow.db"))
            with open(os.path.join(env.dags, "bench_dag.py"), "w") as f:
                f.write(DAG)
            host = PG.split("://", 1)[1]
            user, hp = host.split("@")
            h, port = hp.split(":")
            env.add_connection("bench_pg", conn_type="postgres", host=h, port=int(port), login=user, schema=DB)
            for i in (1, 2):
                env.add_connection(f"bench_reg{i}", conn_type="lakepkg", host=os.path.join(work, f"op{i}-{table}"))
            env.env["BENCH_TABLE"] = table
            (res,) = env.run([{"op": "test", "dag": "bench_snapshot"}])
            assert res["state"] == "success", res
            cold_task, task = res["tasks"]["snapshot_1"]["duration"], res["tasks"]["snapshot_2"]["duration"]
            top = res["xcom"]["snapshot_2"]["top_hash"]
            assert top == res["xcom"]["snapshot_1"]["top_hash"] == top1 == top2, "operator and direct top hashes differ"
            rows.append((table, n, direct_cold, direct, cold_task, task, res["seconds"], top))
        print(f"airflow db {'copied' if template else 'migrate'}: {migrate:.1f} s; load average at the end: {os.getloadavg()[0]:.1f}")
        print("first = first snapshot in its process (imports, connector set-up); second = the next one, fresh registry")
        print(f"{'source':<8}{'rows':>10}{'direct 1st':>11}{'direct 2nd':>11}{'task 1st':>9}{'task 2nd':>9}"
              f"{'ratio 2nd':>10}{'dag.test()':>11}  top hash")
        for table, n, dc, d, oc, op, whole, top in rows:
            print(f"{table:<8}{n:>10,}{dc:>11.2f}{d:>11.2f}{oc:>9.2f}{op:>9.2f}{op / d:>10.2f}{whole:>11.2f}  {top[:12]}")
    finally:
        _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
