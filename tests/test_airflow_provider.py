"""The provider as Airflow sees it (entry point, connection type, Asset scheme), the version sensor
(deferrable trigger and poke mode), the CLI from a BashOperator (`--input REF`, `--print top_hash|ref`
as the XCom), and the example DAG of docs/airflow.md run end to end — in one Airflow process."""
from __future__ import annotations

import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.registry import open_registry
from tests.fixtures.databases import pg_exec

pytest.importorskip("airflow.sdk")

HERE = os.path.dirname(__file__)
EXAMPLE = os.path.join(os.path.dirname(HERE), "docs", "examples", "airflow_dag.py")


def test_provider_sensor_bash_and_example_dag(airflow, pg_url, tmp_path):
    from sqlalchemy.engine import make_url

    reg_path = str(tmp_path / "registry")
    reg = open_registry(reg_path)
    u = make_url(pg_url)
    pg_exec(pg_url, "CREATE TABLE orders (id int PRIMARY KEY, customer text, amount numeric(10,2))",
            "INSERT INTO orders VALUES (1, 'ann', 10.50), (2, 'bob', 4.25), (3, 'ann', 1.00)")
    exports = tmp_path / "exports"
    exports.mkdir()
    pq.write_table(pa.table({"sku": ["a", "b"], "qty": [3, 4]}), str(exports / "part-0.parquet"))
    airflow.add_connection("postgres_default", conn_type="postgres", host=u.host, port=u.port or 5432,
                           login=u.username, schema=u.database)
    airflow.add_connection("lakepkg_default", conn_type="lakepkg", host=reg_path)
    sense_pkg = "sense/orders-" + uuid.uuid4().hex[:6]
    b = lakepkg.PackageBuilder(reg)
    b.add_table("orders", pa.table({"id": [1]}))
    first = b.publish(sense_pkg)
    v1 = getattr(first, "top_hash", None) or first.record.top_hash
    reg.set_tag(sense_pkg, "prod", v1)
    airflow.env.update({"LP_SENSOR_PACKAGE": sense_pkg, "LP_REGISTRY": reg_path})
    airflow.add_dag(EXAMPLE)
    airflow.add_dag(os.path.join(HERE, "airflow_dags", "sensor_dags.py"))
    airflow.add_dag(os.path.join(HERE, "airflow_dags", "bash_dags.py"))
    events = tmp_path / "events"
    events.mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3]}), str(events / "part-0.parquet"))
    bash_input = f"{sense_pkg}@{v1}"

    providers, etl, report, sensed, bash = airflow.run([
        {"op": "providers"},
        {"op": "test", "dag": "lakepkg_example_etl", "conf": {"export_folder": str(exports)}},
        {"op": "asset_triggered", "dag": "lakepkg_example_report"},
        {"op": "test", "dag": "lp_sensor", "conf": {"after": v1}},
        {"op": "test", "dag": "lp_bash", "conf": {"folder": str(events), "input": bash_input, "registry": reg_path}},
    ])

    # -- the provider: discovered through the entry point --------------------------------------------
    assert providers["lakepkg"]["package-name"] == "lakepkg" and providers["version"] == lakepkg.__version__
    assert providers["hook"] == {"class": "lakepkg.airflow.hooks.LakepkgHook", "name": "lakepkg registry"}
    assert "lakepkg" in providers["connection_types"]
    assert "lakepkg" in providers["asset_schemes"]

    # -- the example DAG: query + folder → one version, checked, tagged prod; the report reads it -----
    assert etl["state"] == "success", etl
    snap = etl["xcom"]["snapshot"]
    assert snap["tables"]["orders"]["rows"] == 3 and snap["tables"]["exports"]["rows"] == 2
    assert reg.tags("sales/daily")["prod"] == snap["top_hash"]
    rec = reg.resolve("sales/daily:prod")
    assert rec.author == "sales-data" and rec.run["params"] == {"export_folder": str(exports)}
    assert report["state"] == "success" and report["run_type"] == "asset_triggered"
    rep = report["xcom"]["report"]
    assert rep["version"] == snap["ref"] and rep["orders"] == 3 and rep["revenue"] == pytest.approx(15.75)
    assert rep["lock"].startswith(f"sales/daily@{snap['top_hash']}")

    # -- the sensor: deferred until a newer version arrived; then the prod tag had moved ----------------
    assert sensed["state"] == "success", sensed
    latest = reg.resolve(sense_pkg).top_hash
    assert latest != v1
    assert sensed["xcom"]["wait_newer"]["top_hash"] == latest
    assert sensed["xcom"]["wait_prod_moved"]["top_hash"] == latest and sensed["xcom"]["wait_prod_moved"]["tag"] == "prod"
    assert "[DAG TEST] running trigger in line" in airflow.log  # the deferrable path really deferred

    # -- BashOperator: the last stdout line is the XCom; --input and the Airflow run are recorded -------
    assert bash["state"] == "success", bash
    rec = reg.resolve("bash/events")
    assert bash["xcom"]["snapshot"] == rec.top_hash  # only the top hash
    assert bash["xcom"]["snapshot_ref"] == f"bash/events@{rec.top_hash[:10]}"
    assert len(reg.history("bash/events")) == 1  # the second command (same content) minted nothing
    assert rec.run["inputs"] == [bash_input]
    assert rec.run["dag_id"] == "lp_bash" and rec.run["task_id"] == "snapshot" and rec.author == "bash-team"
    assert lakepkg.load("bash/events", reg)["events"].rows == 3
