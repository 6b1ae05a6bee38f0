"""Test DAGs: an ETL run writes PostgreSQL, the snapshot pins it with a Hive and an Iceberg table as ONE
version, a DAG scheduled on the package Asset reads exactly that version. Configured by LP_* variables."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG, BaseHook, task

from lakepkg.airflow.assets import lock_entry_from_context, package_asset, package_from_context
from lakepkg.airflow.operators import LakepkgBuildOperator, LakepkgSnapshotOperator

PKG = os.environ.get("LP_PACKAGE", "etl/nightly")
HIVE_TABLE = os.environ.get("LP_HIVE_TABLE", "db.events")
ICEBERG = json.loads(os.environ.get("LP_ICEBERG_CATALOG", "{}"))
START = pendulum.datetime(2026, 1, 1, tz="UTC")

SOURCES = [
    {"connector": "sql", "conn_id": "pg_main", "tables": {"orders": "public.orders"}, "key": "id"},
    {"connector": "hive", "conn_id": "hms", "tables": [HIVE_TABLE], "names": {HIVE_TABLE: "events"}},
    {"connector": "iceberg", "catalog": ICEBERG, "catalog_name": "lake", "tables": ["sales.customers"],
     "table_names": {"sales.customers": "customers"}},
]


def _write_orders(n: int) -> int:
    """The ETL step: (re)write public.orders with n rows through the Airflow connection."""
    import psycopg

    c = BaseHook.get_connection("pg_main")
    with psycopg.connect(host=c.host, port=c.port, dbname=c.schema, user=c.login, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2))")
        conn.execute("TRUNCATE orders")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO orders VALUES (%s, %s, %s)",
                            [(i, f"c{i % 3}", i * 1.25) for i in range(1, n + 1)])
    return n


def no_negative_amounts(pkg) -> bool:
    return bool((pkg["orders"].to_pandas()["amount"] >= 0).all())


with DAG("lp_etl", schedule=None, start_date=START, catchup=False, params={"rows": 5, "region": "eu"},
         default_args={"owner": "data-team"}, tags=["lakepkg-test"]):
    @task
    def etl(**ctx):
        return _write_orders(int(ctx["params"]["rows"]))

    etl() >> LakepkgSnapshotOperator(
        task_id="snapshot", package=PKG, sources=SOURCES, tags=["nightly"],
        message="nightly {{ ds }} rows={{ params.rows }}", meta={"region": "{{ params.region }}"},
        publish_tag="prod",
        checks=[{"type": "row_count", "table": "orders", "min": 1}, {"type": "not_null", "table": "orders", "columns": ["id", "customer"]},
                no_negative_amounts,
                {"type": "sql", "name": "no refunds", "query": "SELECT count(*) FROM orders WHERE amount < 0", "expect": 0}])


with DAG("lp_etl_strict", schedule=None, start_date=START, catchup=False, params={"rows": 6},
         default_args={"owner": "data-team"}):
    @task
    def etl_strict(**ctx):
        return _write_orders(int(ctx["params"]["rows"]))

    etl_strict() >> LakepkgSnapshotOperator(
        task_id="snapshot", package=PKG, sources=SOURCES, publish_tag="prod",
        checks=[{"type": "row_count", "table": "orders", "min": 1_000_000}])


with DAG("lp_consumer", schedule=[package_asset(PKG)], start_date=START, catchup=False):
    @task
    def read_version(**ctx):
        pkg = package_from_context(ctx)
        orders = pkg["orders"].to_pandas()
        return {"top_hash": pkg.top_hash, "ref": pkg.ref, "orders_rows": len(orders),
                "ids": sorted(int(i) for i in orders["id"]), "tables": pkg.tables,
                "lock": lock_entry_from_context(ctx).line()}

    def revenue_by_customer(context):
        orders = package_from_context(context)["orders"].to_pandas()
        orders["amount"] = orders["amount"].astype(float)
        return orders.groupby("customer", as_index=False)["amount"].sum()

    # a derived package: its inputs are collected from the asset event that triggered this run
    read_version() >> LakepkgBuildOperator(task_id="report", package=PKG + "-report",
                                           tables={"revenue": revenue_by_customer})


class SnapshotLostAfterPublish(LakepkgSnapshotOperator):
    """Try 1 publishes, then the worker 'dies' before Airflow records success: try 2 runs again."""

    def execute(self, context):
        out = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError("worker lost after publish (simulated)")
        return out


with DAG("lp_retry", schedule=None, start_date=START, catchup=False):
    SnapshotLostAfterPublish(task_id="snapshot", package=PKG + "-retry", retries=1, retry_delay=timedelta(0),
                             sources=[{"connector": "sql", "conn_id": "pg_main", "tables": {"orders": "public.orders"}}])


with DAG("lp_manual_publish", schedule=None, start_date=START, catchup=False):
    @task
    def publish_by_hand():
        """Someone publishes a newer version with the Python API (no operator, no asset event)."""
        import pyarrow as pa

        import lakepkg
        from lakepkg.airflow.hooks import LakepkgHook

        b = lakepkg.PackageBuilder(LakepkgHook().get_registry())
        b.add_table("orders", pa.table({"id": [99]}))
        res = b.publish(PKG, message="manual")
        return getattr(res, "top_hash", None) or res.record.top_hash

    publish_by_hand()
