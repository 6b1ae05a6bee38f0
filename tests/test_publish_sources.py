"""One publish, several sources: a PostgreSQL table, a local folder and an Iceberg table (SQLite
catalog) published as ONE version under one top hash — from Python and from a spec file; and
what every publish records (author, run context, inputs, derived_from)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg import Source
from lakepkg.errors import ConfigError


def _pg_orders(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2))")
        c.execute("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 50) g")


def _folder(tmp_path) -> str:
    root = tmp_path / "events"
    for day in (1, 2):
        (root / f"ds={day}").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"e": [day * 10, day * 10 + 1]}), root / f"ds={day}" / "part-0.parquet")
    return str(root)


def _iceberg(tmp_path) -> dict[str, str]:
    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": f"sqlite:///{tmp_path}/catalog.db", "warehouse": f"file://{tmp_path}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    t = cat.create_table("sales.customers", schema=pa.schema([("cid", pa.int64()), ("name", pa.string())]))
    t.append(pa.table({"cid": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}))
    return props


@pytest.fixture()
def three_sources(pg_url, tmp_path):
    _pg_orders(pg_url)
    return [Source("sql", {"url": pg_url, "tables": {"orders": "public.orders"}}),
            Source("files", {"tables": {"events": _folder(tmp_path)}}),
            ("iceberg", {"catalog": _iceberg(tmp_path), "catalog_name": "lake", "tables": ["sales.customers"]})]


def test_three_sources_publish_one_version(three_sources, registry, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "nightly")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_OWNER", "etl-team")
    monkeypatch.delenv("LAKEPKG_AUTHOR", raising=False)
    res = lakepkg.snapshot(three_sources, to="etl/nightly", registry=registry, inputs=["raw/x@0123456789"])
    assert isinstance(res, lakepkg.PublishResult) and res.created
    assert len(registry.history("etl/nightly")) == 1  # one version for the three sources
    pkg = lakepkg.load(res.ref, registry)
    assert pkg.tables == ["customers", "events", "orders"] and pkg.top_hash == res.top_hash
    assert pkg["orders"].rows == 50 and pkg["events"].rows == 4 and pkg["customers"].rows == 3
    assert pkg["orders"].provenance["connector"] == "sql" and pkg["events"].provenance["source"] == "local"
    assert pkg["customers"].provenance["source"] == "iceberg"
    # per-table facts travel with the snapshots: each connector's, plus rows/fragments/bytes
    assert res.tables["orders"]["connector"] == "sql" and res.tables["orders"]["key"] == ["id"]
    assert res.tables["events"]["files_read"] == 2 and res.tables["customers"]["connector"] == "iceberg"
    assert all(t["fragments"] >= 1 and t["bytes"] > 0 for t in res.tables.values())
    rec = res.record
    assert rec.author == "etl-team" and rec.run["dag_id"] == "nightly" and rec.run["inputs"] == ["raw/x@0123456789"]
    assert rec.message == "snapshot via sql, files, iceberg"
    out = res.to_json()
    assert out["ref"] == res.ref == f"etl/nightly@{res.top_hash[:10]}" and out["created"] is True
    assert out["top_hash"] == res.top_hash and set(out["tables"]) == {"orders", "events", "customers"}
    # a retried run: same sources, same top hash, nothing new
    again = lakepkg.snapshot(three_sources, to="etl/nightly", registry=registry)
    assert again.top_hash == res.top_hash and not again.created and "unchanged" in again.headline()
    assert again.tables["events"]["files_reused"] == 2
    assert len(registry.history("etl/nightly")) == 1


def test_colliding_table_names_publish_nothing(pg_url, tmp_path, registry):
    _pg_orders(pg_url)
    with pytest.raises(ConfigError, match="table 'orders' comes from source 1 \\(sql\\) and source 2 \\(files\\)"):
        lakepkg.snapshot([Source("sql", {"url": pg_url, "tables": "public.orders"}),
                          Source("files", {"tables": {"orders": _folder(tmp_path)}})], to="etl/x", registry=registry)
    with pytest.raises(ConfigError, match="inside each Source"):
        lakepkg.snapshot([Source("files", {"tables": {"a": _folder(tmp_path)}})], to="etl/x", registry=registry,
                         tables={"b": "/x"})
    assert registry.list_packages() == []


def _cli(args, home, **env):
    e = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1", **env}
    e.pop("LAKEPKG_REGISTRY", None)
    return subprocess.run([sys.executable, "-m", "lakepkg.cli", *args], capture_output=True, text=True, env=e,
                          timeout=300)


def test_spec_file_publishes_the_same_version_as_python(three_sources, tmp_path, home, registry):
    import yaml

    doc = {"to": "etl/spec", "message": "from a spec", "tags": ["prod"], "inputs": ["raw/in@abcdef0123"],
           "sources": [{"connector": s.connector, "options": s.options} if isinstance(s, Source)
                       else {"connector": s[0], "options": s[1]} for s in three_sources]}
    spec = tmp_path / "tables.yaml"
    spec.write_text(yaml.safe_dump(doc))
    p = _cli(["snapshot", "--spec", str(spec), "--input", "raw/cli@fedcba9876", "--print", "ref"], home)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    rec = registry.resolve("etl/spec:prod")
    assert lines[-1] == f"etl/spec@{rec.top_hash[:10]}"  # the ref alone, last: an Airflow XCom
    assert lines[0].startswith(f"etl/spec@{rec.top_hash[:10]} published")
    assert any(l.strip().startswith("orders: 50 rows, key id (primary key)") for l in lines)
    assert rec.message == "from a spec" and rec.run["inputs"] == ["raw/in@abcdef0123", "raw/cli@fedcba9876"]
    py = lakepkg.snapshot(three_sources, to="etl/py", registry=registry)
    assert py.top_hash == rec.top_hash  # the same sources give the same content, whichever entry point
    j = _cli(["snapshot", "--spec", str(spec), "--json"], home)
    assert j.returncode == 0, j.stderr
    out = json.loads(j.stdout)
    assert out["created"] is False and out["top_hash"] == rec.top_hash and out["ref"] == lines[-1]
    assert out["tables"]["customers"]["rows"] == 3
    top = _cli(["snapshot", "--spec", str(spec), "--print", "top_hash"], home)
    assert top.stdout.strip().splitlines()[-1] == rec.top_hash


@pytest.mark.parametrize("content, message", [
    ("to: a/b\n", "no `sources:` list"),
    ("sources: [{connector: files, options: {tables: {t: /nonexistent}}}]\n", "names no package"),
    ("to: a/b\nsources: [{connector: nosuch}]\n", "no connector named 'nosuch'"),
    ("to: a/b\nsources: [{connector: files, extra: 1}]\n", "a source is {connector: NAME"),
    ("to: a/b\nfrom: x\nsources: []\n", "unknown key(s) from"),
    ("[not, a, mapping]\n", "must be a mapping"),
])
def test_bad_spec_files_are_one_line_errors(tmp_path, home, content, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(content)
    p = _cli(["snapshot", "--spec", str(spec)], home)
    assert p.returncode != 0 and p.stderr.startswith("lakepkg: error:") and p.stderr.count("\n") == 1, p.stderr
    assert message in p.stderr
    assert not (home / "registry" / "packages").exists()


def test_every_entry_point_records_the_run(registry, tmp_path, monkeypatch):
    """PackageBuilder.publish, lakepkg.build and a derived sub-package all go through the one publish:
    author from the orchestrator, Airflow run context, inputs, derived_from."""
    import pandas as pd

    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "d1")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "r1")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_OWNER", "owner-1")
    monkeypatch.setenv("LAKEPKG_CODE_COMMIT", "c0ffee")
    monkeypatch.delenv("LAKEPKG_AUTHOR", raising=False)
    b = lakepkg.PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"ds": ["x", "y"], "v": [1, 2]}), partition_cols=["ds"])
    res = b.publish("e/builder", inputs=["raw/a@0000000001"])
    assert res.created and res.tables["t"] == {**res.tables["t"], "rows": 2, "fragments": 2}
    run = res.record.run
    assert run["dag_id"] == "d1" and run["run_id"] == "r1" and run["orchestrator"] == "airflow"
    assert run["code_commit"] == "c0ffee" and run["inputs"] == ["raw/a@0000000001"]
    assert res.record.author == "owner-1"
    built = lakepkg.build("e/api", tables={"t": pd.DataFrame({"v": [1]})}, files={"README.md": b"# x\n"},
                          registry=registry, message="api")
    assert built.record.run["dag_id"] == "d1" and built.record.author == "owner-1" and built.tables["t"]["rows"] == 1
    sub = lakepkg.load("e/builder", registry).filter(partitions=[("ds", "==", "x")])
    derived = sub.publish("e/derived")
    assert isinstance(derived, lakepkg.PublishResult) and derived.tables["t"]["rows"] == 1
    assert derived.record.derived_from == f"e/builder@{res.top_hash}" and derived.record.run["dag_id"] == "d1"
    monkeypatch.setenv("LAKEPKG_AUTHOR", "configured")  # a configured author wins over the orchestrator's owner
    assert lakepkg.build("e/api", tables={"t": pd.DataFrame({"v": [2]})}, registry=registry).record.author == "configured"
