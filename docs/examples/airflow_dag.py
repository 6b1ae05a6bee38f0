"""Example: lakepkg as the last task of an Airflow ETL DAG, and a report DAG scheduled on the package.

Connections (Admin > Connections, or AIRFLOW_CONN_* variables):
  postgres_default  the warehouse database the ETL writes (type postgres)
  lakepkg_default   the registry: host = a path or s3://bucket/prefix (type lakepkg)

The snapshot pins the `orders` query result and the folder of exported files as ONE version, runs the
checks against it, and only then publishes it and moves the `prod` tag. The report DAG runs when the
package gets a new version and reads exactly that version (see docs/airflow.md).

It runs on its schedule, on a manual trigger (UI or `airflow dags trigger`: no logical date) and under
`airflow dags test`. Run facts (the logical date, the params, the run id) go into the version record's
`run`, never into the hashed content: the same data on another day publishes nothing new. A missing
export folder or an unknown connection fails the task at once, without retries.
"""
from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param, task

from lakepkg.airflow.assets import lock_entry_from_context, package_asset, package_from_context
from lakepkg.airflow.operators import LakepkgSnapshotOperator

PACKAGE = "sales/daily"
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG("lakepkg_example_etl", schedule="@daily", start_date=START, catchup=False,
         default_args={"owner": "sales-data", "retries": 2},
         params={"export_folder": Param("/data/exports/daily", type="string")}):

    @task
    def load_orders():
        """The ETL step (stands for whatever writes the tables): here, nothing to do."""
        return "loaded"

    snapshot = LakepkgSnapshotOperator(
        task_id="snapshot",
        package=PACKAGE,
        sources=[
            {"connector": "sql", "conn_id": "postgres_default",
             "queries": {"orders": "SELECT id, customer, amount FROM orders"}, "key": "id"},
            {"connector": "files", "tables": {"exports": "{{ params.export_folder }}"}},
        ],
        # (a manual trigger has no logical date: the run's run_after stands in for it)
        message="daily snapshot for {{ (dag_run.logical_date or dag_run.run_after) | ds }}",
        publish_tag="prod",
        checks=[
            {"type": "row_count", "table": "orders", "min": 1},
            {"type": "not_null", "table": "orders", "columns": ["id", "customer"]},
        ],
    )
    load_orders() >> snapshot


with DAG("lakepkg_example_report", schedule=[package_asset(PACKAGE)], start_date=START, catchup=False):

    @task
    def report(**context):
        pkg = package_from_context(context)             # exactly the version that triggered this run
        orders = pkg["orders"].to_pandas()
        return {"version": pkg.ref, "orders": len(orders), "revenue": float(orders["amount"].sum()),
                "lock": lock_entry_from_context(context).line()}

    report()
