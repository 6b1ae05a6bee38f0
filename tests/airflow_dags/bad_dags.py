"""Test DAGs that must fail with one line and publish nothing (and one that must succeed without leaking)."""
from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG

from lakepkg.airflow.operators import LakepkgSnapshotOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
NS = os.environ.get("LP_NS", "bad")
MYSQL_TABLE = os.environ.get("LP_MYSQL_TABLE", "db.items")


def boom(pkg):
    raise ValueError("the audit query exploded")


def _dag(dag_id: str, **op):
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, default_args={"retries": 0}) as d:
        LakepkgSnapshotOperator(task_id="snapshot", package=f"{NS}/{dag_id.replace('_', '-')}", **op)
    return d


SQL = {"connector": "sql", "tables": {"items": MYSQL_TABLE}}
_dag("lp_bad_conn", sources=[{**SQL, "conn_id": "no_such_conn"}])
_dag("lp_bad_password", sources=[{**SQL, "conn_id": "maria_wrong"}])
_dag("lp_good_password", sources=[{**SQL, "conn_id": "maria_ok"}])
_dag("lp_bad_registry", sources=[{**SQL, "conn_id": "maria_ok"}], lakepkg_conn_id="lakepkg_down")
_dag("lp_check_raises", sources=[{**SQL, "conn_id": "maria_ok"}], publish_tag="prod", checks=[boom])
_dag("lp_missing_table", sources=[{"connector": "sql", "conn_id": "maria_ok", "tables": {"x": MYSQL_TABLE + "_missing"}}])
_dag("lp_sql_check_fails", sources=[{**SQL, "conn_id": "maria_ok"}], publish_tag="prod",
     checks=[{"type": "sql", "name": "three items is wrong", "query": "SELECT count(*) FROM items", "expect": 999}])
