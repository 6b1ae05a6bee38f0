"""A DAG scheduled on a package Asset that several asset events trigger at once: it reads the version of
the newest event (by the event's own time), and returns the order in which Airflow handed the events
over. Configured by LP_ORDER_PACKAGE."""
from __future__ import annotations

import os

import pendulum
from airflow.sdk import DAG, task

from lakepkg.airflow.assets import package_asset, package_from_context

PKG = os.environ.get("LP_ORDER_PACKAGE", "shop/daily")

with DAG("lp_order_consumer", schedule=[package_asset(PKG)], start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         catchup=False):
    @task
    def read_newest(**ctx):
        delivered = [{"top_hash": (ev.extra or {}).get("top_hash"), "timestamp": ev.timestamp.isoformat()}
                     for events in ctx["triggering_asset_events"].values() for ev in events]
        pkg = package_from_context(ctx)
        return {"top_hash": pkg.top_hash, "rows": pkg["t"].to_pandas().shape[0], "delivered": delivered}

    read_newest()
