"""lakepkg as the last task of real Airflow 3 DAGs: PostgreSQL + Hive + Iceberg → one version on S3,
a DAG scheduled on the package Asset reads exactly that version, retries mint nothing, a failed
check leaves `prod` alone, OpenLineage events carry the sources and the top hash."""
from __future__ import annotations

import os
import subprocess
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.registry import open_registry
from tests.fixtures.databases import pg_exec
from tests.fixtures.metastore import hms_register_table

pytest.importorskip("airflow.sdk")

DAGS = os.path.join(os.path.dirname(__file__), "airflow_dags")


def _hive_table(metastore: str, tmp_path) -> str:
    db = "af" + uuid.uuid4().hex[:8]
    root = tmp_path / "events"
    root.mkdir()
    pq.write_table(pa.table({"event_id": pa.array([1, 2, 3], pa.int64()), "kind": ["view", "click", "buy"]}),
                   str(root / "part-0.parquet"))
    hms_register_table(metastore, db, "events", [("event_id", "bigint"), ("kind", "string")], "file:" + str(root))
    return f"{db}.events"


def _iceberg_catalog(tmp_path) -> dict:
    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": f"sqlite:///{tmp_path}/iceberg.db", "warehouse": f"file://{tmp_path}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    t = pa.table({"customer": ["c0", "c1", "c2"], "country": ["de", "fr", "it"]})
    cat.create_table("sales.customers", schema=t.schema).append(t)
    return props


def _setup(airflow, pg_url, metastore, s3_endpoint, s3_bucket_url, tmp_path):
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    airflow.add_connection("pg_main", conn_type="postgres", host=u.host, port=u.port or 5432, login=u.username,
                           schema=u.database)
    host, port = metastore.split("://", 1)[1].split(":")
    airflow.add_connection("hms", conn_type="hive_metastore", host=host, port=int(port))
    airflow.add_connection("aws_test", conn_type="aws", login="testing", password="testing",
                           extra={"region_name": "us-east-1"})
    airflow.add_connection("lakepkg_default", conn_type="lakepkg", host=s3_bucket_url,
                           extra={"aws_conn_id": "aws_test", "endpoint_url": s3_endpoint})
    pkg = "etl/nightly-" + uuid.uuid4().hex[:6]
    import json

    airflow.env.update({"LP_PACKAGE": pkg, "LP_HIVE_TABLE": _hive_table(metastore, tmp_path),
                        "LP_ICEBERG_CATALOG": json.dumps(_iceberg_catalog(tmp_path))})
    airflow.add_dag(os.path.join(DAGS, "etl_dags.py"))
    git = ["git", "-C", airflow.dags, "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "dags"], check=True)
    commit = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return pkg, commit


def test_etl_snapshot_asset_consumer_retry_wap_lineage(airflow, pg_url, metastore, s3_endpoint, s3_bucket_url, tmp_path):
    pkg, commit = _setup(airflow, pg_url, metastore, s3_endpoint, s3_bucket_url, tmp_path)
    steps = airflow.run([
        {"op": "test", "dag": "lp_etl", "conf": {"rows": 5}},
        {"op": "asset_triggered", "dag": "lp_consumer"},
        {"op": "test", "dag": "lp_etl_strict", "conf": {"rows": 6}},
        {"op": "asset_triggered", "dag": "lp_consumer"},
        {"op": "test", "dag": "lp_retry"},
        {"op": "test", "dag": "lp_etl", "conf": {"rows": 8}},
        {"op": "test", "dag": "lp_manual_publish"},
        {"op": "asset_triggered", "dag": "lp_consumer"},
    ])
    print("airflow steps (s):", [(r.get("dag_id"), r["seconds"]) for r in steps])
    first, consumed1, strict, not_triggered, retry, second, manual, consumed2 = steps
    reg = open_registry(s3_bucket_url, endpoint_url=s3_endpoint)

    # -- the snapshot: three systems, one version, linked to its run -------------------------------
    assert first["state"] == "success", first
    x1 = first["xcom"]["snapshot"]
    assert set(x1) >= {"package", "top_hash", "ref", "created", "tables"}
    assert x1["package"] == pkg and x1["created"] is True and x1["ref"] == f"{pkg}@{x1['top_hash'][:10]}"
    assert x1["tables"]["orders"]["rows"] == 5 and x1["tables"]["events"]["rows"] == 3
    assert x1["tables"]["customers"]["rows"] == 3
    assert all(t["fragments"] >= 1 and t["bytes"] > 0 for t in x1["tables"].values())
    v1 = reg.resolve(f"{pkg}@{x1['top_hash']}")
    assert x1["tag"] == "prod"  # (the tags moved on with the second run, checked below)
    run = v1.run
    assert run["dag_id"] == "lp_etl" and run["task_id"] == "snapshot" and run["run_id"] == first["run_id"]
    assert run["try_number"] == 1 and run["logical_date"] and run["params"] == {"rows": 5, "region": "eu"}
    assert v1.author == "data-team" and run["orchestrator"] == "airflow"
    assert run["code_version"] == commit and run["code_version_source"] == "git"  # no bundle version: the DAGs' commit
    assert v1.message.startswith("nightly 20") and v1.message.endswith("rows=5")  # templated
    loaded = lakepkg.load(f"{pkg}@{x1['top_hash']}", reg)
    assert loaded.meta == {"region": "eu"}
    assert sorted(loaded["orders"].to_pandas()["id"]) == [1, 2, 3, 4, 5]
    assert sorted(loaded["events"].to_pandas()["kind"]) == ["buy", "click", "view"]

    # -- the Asset: the event carries the exact version; the consumer reads exactly it --------------
    assert consumed1["run_type"] == "asset_triggered" and consumed1["state"] == "success", consumed1
    assert consumed1["consumed_asset_events"] == [{"package": pkg, "top_hash": x1["top_hash"], "ref": x1["ref"],
                                                   "created": True}]
    r1 = consumed1["xcom"]["read_version"]
    assert r1["top_hash"] == x1["top_hash"] and r1["ids"] == [1, 2, 3, 4, 5]
    assert sorted(r1["tables"]) == ["customers", "events", "orders"]
    assert r1["lock"].split()[0] == f"{pkg}@{x1['top_hash']}" and r1["lock"].split()[1] == reg.location

    # -- write-audit-publish: a failing check publishes nothing and leaves prod -------------------------
    assert strict["state"] == "failed" and strict["tasks"]["snapshot"]["state"] == "failed"
    assert "snapshot" not in strict["xcom"]
    line = f"lakepkg: check row_count(orders) >= 1000000 failed: orders has 6 rows; prod left at {x1['top_hash'][:10]}, nothing published"
    assert line in airflow.log
    assert "lakepkg: 4 check(s) passed on " + x1["ref"] in airflow.log  # row_count, not_null, callable, sql
    assert not_triggered["state"] == "not_triggered"  # no asset event for the failed audit

    # -- a retry (try 2, same source state) mints nothing and returns the same top hash ---------------
    assert retry["state"] == "success" and retry["tasks"]["snapshot"]["try_number"] == 2
    xr = retry["xcom"]["snapshot"]
    hist = reg.history(pkg + "-retry")
    assert len(hist) == 1 and hist[0].top_hash == xr["top_hash"] and xr["created"] is False
    assert reg.record(hist[0].key).run["try_number"] == 1

    # -- a second run with new data: a new version, prod moves ---------------------------------------
    x2 = second["xcom"]["snapshot"]
    assert second["state"] == "success" and x2["created"] and x2["top_hash"] != x1["top_hash"]
    assert x2["tables"]["orders"]["rows"] == 8 and reg.tags(pkg)["prod"] == x2["top_hash"]
    assert reg.tags(pkg)["nightly"] == x2["top_hash"]
    hist = [s.top_hash for s in reg.history(pkg)]
    assert hist == [x1["top_hash"], x2["top_hash"], manual["xcom"]["publish_by_hand"]]  # the failed audit left none
    v2 = reg.resolve(f"{pkg}@{x2['top_hash']}")
    # unchanged Hive and Iceberg tables keep their node hashes across versions
    assert lakepkg.load(f"{pkg}@{x2['top_hash']}", reg)["events"].hash == loaded["events"].hash
    assert v2.run["params"]["rows"] == 8

    # someone publishes a newer version outside the operator: the consumer still gets the version that triggered it
    assert manual["state"] == "success" and reg.resolve(pkg).top_hash == manual["xcom"]["publish_by_hand"]
    assert consumed2["state"] == "success" and len(consumed2["consumed_asset_events"]) == 1
    r2 = consumed2["xcom"]["read_version"]
    assert r2["top_hash"] == x2["top_hash"] and r2["ids"] == list(range(1, 9))

    # the consumer's own version (LakepkgBuildOperator) records the exact versions it read as inputs
    reports = reg.versions(pkg + "-report")
    assert [r.run["inputs"] for r in reports] == [[f"{pkg}@{x1['top_hash']}"], [f"{pkg}@{x2['top_hash']}"]]
    assert consumed2["xcom"]["report"]["tables"]["revenue"]["rows"] == 3

    # -- OpenLineage: what the file transport received ---------------------------------------------
    events = airflow.lineage_events()
    done = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == "lp_etl.snapshot"]
    assert len(done) == 2
    ev = next(e for e in done if e["outputs"][0]["facets"]["version"]["datasetVersion"] == x1["top_hash"])
    ins = {(i["namespace"], i["name"]): i for i in ev["inputs"]}
    u_host = airflow.env["AIRFLOW_CONN_PG_MAIN"]
    import json

    pgc = json.loads(u_host)
    pg_in = ins[(f"postgres://{pgc['host']}:{pgc['port']}", f"{pgc['schema']}.public.orders")]
    assert [f["name"] for f in pg_in["facets"]["schema"]["fields"]] == ["id", "customer", "amount"]
    assert pg_in["facets"]["version"]["datasetVersion"]  # the snapshot transaction's time
    hive_ns = "hive://" + metastore.split("://", 1)[1]
    hive_in = ins[(hive_ns, airflow.env["LP_HIVE_TABLE"])]
    assert [f["name"] for f in hive_in["facets"]["schema"]["fields"]] == ["event_id", "kind"]
    ice_in = ins[("iceberg://lake", "sales.customers")]
    from pyiceberg.catalog.sql import SqlCatalog

    snap_id = SqlCatalog("lake", **json.loads(airflow.env["LP_ICEBERG_CATALOG"])).load_table("sales.customers").current_snapshot().snapshot_id
    assert ice_in["facets"]["version"]["datasetVersion"] == str(snap_id)
    (out,) = ev["outputs"]
    assert out["namespace"] == "lakepkg://lakepkg_default" and out["name"] == pkg
    assert {f["name"] for f in out["facets"]["schema"]["fields"]} == {"orders", "events", "customers"}
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 5 + 3 + 3
    assert out["facets"]["lakepkg"]["tables"]["orders"]["rows"] == 5 and out["facets"]["lakepkg"]["tag"] == "prod"
