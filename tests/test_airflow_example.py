"""docs/examples/airflow_dag.py in the ways people run it (issue 23 item 2): a manual trigger without a
logical date, runs with a logical date (the schedule's, and `airflow dags test`'s), the same data on
another day minting nothing, a missing export folder failing at once without retries, and the consumer
taking the newest triggering version whatever order the events arrive in."""
from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from lakepkg.registry import open_registry
from tests.fixtures.databases import pg_exec

pytest.importorskip("airflow.sdk")

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "examples", "airflow_dag.py")


def _exports(folder, rows):
    os.makedirs(folder)
    pacsv.write_csv(pa.table({"sku": [f"s{i}" for i in range(rows)], "qty": list(range(rows))}),
                    os.path.join(folder, "part-0.csv"))
    return str(folder)


def _three_events(tmp_path):
    """Three versions of sales/daily and their asset events, the newest on Jan 3."""
    import lakepkg

    reg_path = str(tmp_path / "order-registry")
    tops = [lakepkg.build("sales/daily", {"t": pa.table({"x": list(range(rows))})}, registry=reg_path).top_hash
            for rows in (1, 2, 3)]
    uri = "lakepkg://lakepkg_default/sales/daily"
    events = [{"uri": uri, "extra": {"package": "sales/daily", "top_hash": top, "ref": f"sales/daily@{top[:10]}",
                                     "created": True}, "timestamp": f"2026-01-0{i + 1}T00:00:00+00:00"}
              for i, top in enumerate(tops)]
    return tops, {"op": "triggering_order", "package": "sales/daily", "registry": reg_path, "events": events}


def test_example_dag_manual_scheduled_unchanged_missing_path_and_newest_event(airflow, pg_url, tmp_path):
    from sqlalchemy.engine import make_url

    pg_exec(pg_url, "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, amount numeric(10,2))",
            "INSERT INTO orders VALUES (1, 'ann', 10.50), (2, 'bob', 3.25), (3, 'cy', 7.00)")
    u = make_url(pg_url)
    airflow.add_connection("postgres_default", conn_type="postgres", host=u.host, port=u.port or 5432,
                           login=u.username, schema=u.database)
    reg_path = str(tmp_path / "registry")
    airflow.add_connection("lakepkg_default", conn_type="lakepkg", host=reg_path)
    airflow.add_dag(EXAMPLE)
    day_a, day_b = _exports(tmp_path / "a", 2), _exports(tmp_path / "b", 5)
    order_reg, order_step = _three_events(tmp_path)
    etl = "lakepkg_example_etl"
    manual, day2, day3, missing, consumed, order = airflow.run([
        {"op": "test", "dag": etl, "logical_date": None, "conf": {"export_folder": day_a}},
        {"op": "test", "dag": etl, "logical_date": "2026-01-02T00:00:00+00:00", "conf": {"export_folder": day_b}},
        {"op": "test", "dag": etl, "logical_date": "2026-01-03T00:00:00+00:00", "conf": {"export_folder": day_b}},
        {"op": "test", "dag": etl, "logical_date": "2026-01-04T00:00:00+00:00"},  # the default /data/exports/daily
        {"op": "asset_triggered", "dag": "lakepkg_example_report"},
        order_step,
    ])
    reg = open_registry(reg_path)

    # a manual trigger has no logical date: the templates render, the record says run_after
    assert manual["state"] == "success", manual
    a = manual["xcom"]["snapshot"]
    rec_a = reg.resolve(f"sales/daily@{a['top_hash']}")
    assert rec_a.run["logical_date"] is None and rec_a.run["run_after"]
    assert rec_a.message == f"daily snapshot for {rec_a.run['run_after'][:10]}"
    assert rec_a.run["params"]["export_folder"] == day_a

    # a dated run: the date is in the record's run and message, not in the hashed content
    assert day2["state"] == "success", day2
    b = day2["xcom"]["snapshot"]
    rec_b = reg.resolve(f"sales/daily@{b['top_hash']}")
    assert b["created"] and rec_b.message == "daily snapshot for 2026-01-02"
    assert rec_b.run["logical_date"].startswith("2026-01-02") and rec_b.run["params"]["export_folder"] == day_b
    assert reg.resolve(f"sales/daily@{b['top_hash']}") and "run_for" not in str(rec_b.to_json().get("meta"))

    # the same data on another day mints nothing
    assert day3["state"] == "success" and day3["xcom"]["snapshot"]["top_hash"] == b["top_hash"]
    assert day3["xcom"]["snapshot"]["created"] is False
    assert len(reg.versions("sales/daily")) == 2

    # a missing export folder: failed on try 1, not up for retry (the DAG has retries=2), one line
    assert missing["state"] == "failed" and missing["tasks"]["snapshot"]["state"] == "failed", missing
    assert missing["tasks"]["snapshot"]["try_number"] == 1
    lines = [ln.split("Exception: ", 1)[1] for ln in airflow.all_logs().splitlines()
             if "AirflowFailException: lakepkg: " in ln]
    assert any("/data/exports/daily does not exist" in ln for ln in lines), lines

    # the consumer reads the newest version among the events its run consumed (by the events' own time)
    assert consumed["state"] == "success", consumed
    times = consumed["consumed_event_times"]
    newest = consumed["consumed_asset_events"][times.index(max(times))]
    assert consumed["xcom"]["report"]["version"] == f"sales/daily@{newest['top_hash'][:10]}"
    assert newest["top_hash"] in (a["top_hash"], b["top_hash"]) and consumed["xcom"]["report"]["orders"] == 3

    # Airflow hands triggering events over in no particular order (seen: 2, 4, 1 under `airflow
    # standalone`): through the Task SDK's own accessor, every order of three events picks the newest
    assert len(order["picked"]) == 6 and set(order["picked"].values()) == {order_reg[2]}, order["picked"]
