"""Bad input in real Airflow DAGs: each fails the task with one line, nothing is published or tagged,
and a database password never reaches the task log, the XCom, a version record or a lineage event."""
from __future__ import annotations

import json
import os
import re
import uuid

import pytest

from lakepkg.registry import open_registry
from tests.fixtures.databases import mysql_admin, mysql_exec
from tests.fixtures.s3 import free_port

pytest.importorskip("airflow.sdk")

DAGS = os.path.join(os.path.dirname(__file__), "airflow_dags")


@pytest.fixture()
def maria_user(mysql_url):
    """A MariaDB user with a password (root has none), allowed to read the test database."""
    from sqlalchemy.engine import make_url

    db = make_url(mysql_url).database
    user, password = "lpaf" + uuid.uuid4().hex[:8], "Pw-" + uuid.uuid4().hex
    mysql_exec(mysql_url, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))",
               "INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    c = mysql_admin()
    with c.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cur.execute(f"GRANT SELECT ON `{db}`.* TO '{user}'@'%'")
    try:
        yield db, user, password
    finally:
        with c.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        c.close()


def _failure_line(log: str, dag_id: str) -> str:
    """The one line the failed snapshot task of ``dag_id`` reported."""
    lines = [ln for ln in log.splitlines() if "AirflowFailException: lakepkg: " in ln or "AirflowException: lakepkg: " in ln]
    lines = [ln.split("Exception: ", 1)[1] for ln in lines]
    assert lines, f"no lakepkg failure line for {dag_id}"
    return lines


def test_bad_input_fails_with_one_line_publishes_nothing_leaks_nothing(airflow, maria_user, tmp_path):
    db, user, password = maria_user
    reg_path = str(tmp_path / "registry")
    airflow.add_connection("lakepkg_default", conn_type="lakepkg", host=reg_path)
    airflow.add_connection("lakepkg_down", conn_type="lakepkg", host="s3://nobucket/registry",
                           extra={"endpoint_url": f"http://127.0.0.1:{free_port()}", "aws_access_key_id": "k",
                                  "aws_secret_access_key": "s"})
    common = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": user, "schema": db}
    airflow.add_connection("maria_ok", password=password, **common)
    airflow.add_connection("maria_wrong", password=password[::-1], **common)
    airflow.env.update({"LP_NS": "bad", "LP_MYSQL_TABLE": f"{db}.items"})
    airflow.add_dag(os.path.join(DAGS, "bad_dags.py"))
    dag_ids = ["lp_good_password", "lp_bad_conn", "lp_bad_password", "lp_bad_registry", "lp_check_raises",
               "lp_missing_table", "lp_sql_check_fails"]
    results = {r["dag_id"]: r for r in airflow.run([{"op": "test", "dag": d} for d in dag_ids])}

    good = results["lp_good_password"]
    assert good["state"] == "success" and good["xcom"]["snapshot"]["tables"]["items"]["rows"] == 3
    for d in dag_ids[1:]:
        assert results[d]["state"] == "failed" and results[d]["tasks"]["snapshot"]["state"] == "failed", d
        assert results[d]["tasks"]["snapshot"]["try_number"] == 1 and "snapshot" not in results[d]["xcom"]

    log = airflow.all_logs()
    lines = "\n".join(_failure_line(log, "any"))
    print("failure lines:\n" + lines)
    assert "lakepkg: Airflow connection 'no_such_conn' is not defined; add it" in lines
    assert re.search(r"lakepkg: .*[Aa]ccess denied for user .*" + user, lines)
    assert re.search(r"lakepkg: .*(nobucket|127\.0\.0\.1).*", lines)
    assert "lakepkg: check boom raised ValueError: the audit query exploded; prod not set, nothing published" in lines
    assert re.search(r"lakepkg: .*items_missing", lines)
    assert "lakepkg: check three items is wrong failed: got 3, expected 999; prod not set, nothing published" in lines
    for ln in _failure_line(log, "any"):
        assert "\n" not in ln and len(ln) < 600

    # nothing published or tagged but the good run's version
    reg = open_registry(reg_path)
    assert reg.list_packages() == ["bad/lp-good-password"]
    assert set(reg.tags("bad/lp-good-password")) == {"latest"}

    # the password: not in the task log, the XCom, any registry file (records, tags, manifests), lineage
    assert password not in log and password[::-1] not in log
    assert password not in json.dumps(results) and password[::-1] not in json.dumps(results)
    for root, _dirs, files in os.walk(reg_path):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                data = f.read()
            assert password.encode() not in data and password[::-1].encode() not in data, fn
    rec = reg.resolve("bad/lp-good-password")
    assert password not in json.dumps(rec.to_json())
    events = airflow.lineage_events()
    assert events and password not in json.dumps(events) and password[::-1] not in json.dumps(events)
    ok = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] == "lp_good_password.snapshot"]
    assert ok and ok[0]["inputs"][0]["namespace"] == "mysql://127.0.0.1:3306"
    assert ok[0]["inputs"][0]["name"] == f"{db}.items"
    failed = {e["job"]["name"] for e in events if e["eventType"] == "FAIL"}
    assert {"lp_bad_password.snapshot", "lp_check_raises.snapshot"} <= failed
