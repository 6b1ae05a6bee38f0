"""Iceberg connector against real pyiceberg SQL catalogs (SQLite, and PostgreSQL on this machine)."""
from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

import lakepkg
from lakepkg.errors import NotFoundError, SourceError
from lakepkg.write.snapshotting import snapshot


def _catalog(tmp_path, uri=None):
    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": uri or f"sqlite:///{tmp_path}/catalog.db", "warehouse": f"file://{tmp_path}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    return cat, props


def _orders(lo, hi):
    return pa.table({"id": pa.array(range(lo, hi), pa.int64()), "amount": pa.array([i * 1.5 for i in range(lo, hi)])})


def test_iceberg_snapshot_dedup_and_time_travel(registry, tmp_path):
    cat, props = _catalog(tmp_path)
    tbl = cat.create_table("sales.orders", schema=_orders(0, 1).schema)
    tbl.append(_orders(0, 100))
    first_snapshot = tbl.current_snapshot().snapshot_id
    _res = snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    rec1, created = _res.record, _res.created
    assert created
    t = lakepkg.load("lake/orders", registry)["orders"]
    assert t.rows == 100 and t.provenance["qualified_name"] == "sales.orders"
    assert t.provenance["snapshot_id"] == first_snapshot
    # unchanged source -> same top hash, no new version (a retried task)
    _res = snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    rec_again, created_again = _res.record, _res.created
    assert not created_again and rec_again.top_hash == rec1.top_hash
    # append: the old data file is shared, one new fragment
    tbl.append(_orders(100, 150))
    _res = snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    rec2, _ = _res.record, _res.created
    old = {f.object for f in lakepkg.load(f"lake/orders@{rec1.top_hash}", registry)["orders"].fragments()}
    new = {f.object for f in lakepkg.load(f"lake/orders@{rec2.top_hash}", registry)["orders"].fragments()}
    assert old < new and len(new - old) == 1
    assert sorted(lakepkg.load("lake/orders", registry)["orders"].to_pandas()["id"]) == list(range(150))
    # the Iceberg snapshot id selects an older state
    _res = snapshot("iceberg", "lake/orders-v1", registry=registry, catalog=props, catalog_name="lake",
                       tables=["sales.orders"], snapshot_id=first_snapshot)
    rec3, _ = _res.record, _res.created
    assert lakepkg.load("lake/orders-v1", registry)["orders"].hash == lakepkg.load(f"lake/orders@{rec1.top_hash}", registry)["orders"].hash


def test_iceberg_errors_publish_nothing(registry, tmp_path):
    cat, props = _catalog(tmp_path)
    with pytest.raises(NotFoundError, match="sales.missing does not exist"):
        snapshot("iceberg", "lake/x", registry=registry, catalog=props, catalog_name="lake", tables=["sales.missing"])
    with pytest.raises(SourceError, match="cannot") as e:
        snapshot("iceberg", "lake/x", registry=registry, catalog={"uri": "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x", "warehouse": "file:///tmp"},
                 catalog_name="lake", tables=["sales.orders"])
    assert "hunter2" not in str(e.value) and "\n" not in str(e.value)
    assert registry.list_packages() == []


def test_iceberg_sql_catalog_on_postgres(registry, tmp_path):
    import psycopg

    db = "lakepkg_ice_" + uuid.uuid4().hex[:8]
    try:
        conn = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 (tests/run.sh starts it): {exc}")
    conn.execute(f"CREATE DATABASE {db}")
    try:
        cat, props = _catalog(tmp_path, uri=f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}")
        tbl = cat.create_table("sales.customers", schema=pa.schema([("id", pa.int64()), ("name", pa.string())]))
        tbl.append(pa.table({"id": [1, 2], "name": ["a", "b"]}))
        _res = snapshot("iceberg", "lake/customers", registry=registry, catalog=props, catalog_name="lake", tables=["sales.*"])
        rec, _ = _res.record, _res.created
        pkg = lakepkg.load("lake/customers", registry)
        assert pkg.tables == ["customers"] and sorted(pkg["customers"].to_pandas()["name"]) == ["a", "b"]
        assert pkg["customers"].provenance["catalog_properties"]["uri"] == f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.close()


def test_position_deletes_become_deletion_vectors(registry, tmp_path):
    """Iceberg merge-on-read position deletes map onto lakepkg deletion vectors: the data file they
    apply to is kept byte for byte (the same object as before the delete) with a vector, and every
    reader returns exactly pyiceberg's own merge-on-read rows."""
    from lakepkg.maintain.transfer import install
    from lakepkg.maintain.verify import verify_registry
    from lakepkg.read.package import Package
    from tests.fixtures.iceberg_deletes import add_position_deletes

    cat, props = _catalog(tmp_path)
    tbl = cat.create_table("sales.orders", schema=_orders(0, 1).schema, properties={"format-version": "2"})
    tbl.append(_orders(0, 1000))
    tbl.append(_orders(1000, 1500))
    kw = dict(registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    first = snapshot("iceberg", "lake/orders", **kw).record
    before = {e["key"]: e for e in Package(registry, first.top_hash)["orders"].iter_entries()}
    stored = {o.digest if hasattr(o, "digest") else o[0] for o in registry.store.iter_objects()}
    big = next(task.file.file_path for task in tbl.scan().plan_files() if task.file.record_count == 1000)
    gone = [0, 3, 500, 998, 999]
    add_position_deletes(tbl, {big: gone})
    want = tbl.scan().to_arrow().sort_by("id")  # pyiceberg's merge-on-read answer
    assert want.num_rows == 1495

    res = snapshot("iceberg", "lake/orders", **kw)
    t = Package(registry, res.record.top_hash)["orders"]
    assert t.provenance["read_mode"].startswith("data files byte for byte; position deletes")
    after = {e["key"]: e for e in t.iter_entries()}
    assert after.keys() == before.keys()  # the same data files, none rewritten
    with_vec = [k for k, e in after.items() if e.get("deletes")]
    assert len(with_vec) == 1 and after[with_vec[0]]["object"] == before[with_vec[0]]["object"]
    assert after[with_vec[0]]["deletes"]["count"] == len(gone) and after[with_vec[0]]["rows"] == 995
    new_objects = {o.digest if hasattr(o, "digest") else o[0] for o in registry.store.iter_objects()} - stored
    assert after[with_vec[0]]["deletes"]["object"] in new_objects
    assert not new_objects & {e["object"] for e in after.values()}  # no data file stored again
    # every reader: the plan, pandas, a leaf alone, a filtered read, install --dest
    assert t.to_arrow().sort_by("id").equals(want)
    assert sorted(t.to_pandas()["id"]) == want.column("id").to_pylist()
    leaf = next(f for f in t.fragments() if f.entry.deletes)
    assert sorted(leaf.to_pandas()["id"]) == sorted(set(range(1000)) - set(gone))
    assert t.to_arrow(filters=[("id", "<", 10)]).column("id").to_pylist() == [1, 2, 4, 5, 6, 7, 8, 9]
    install(f"lake/orders@{res.record.top_hash}", registry=registry, dest=str(tmp_path / "plain"))
    import pyarrow.parquet as pq

    assert pq.read_table(str(tmp_path / "plain" / "orders")).num_rows == 1495
    assert verify_registry(registry).ok
    # a retry mints nothing; deleting every row of a file drops it
    again = snapshot("iceberg", "lake/orders", **kw)
    assert not again.created and again.record.top_hash == res.record.top_hash
    small = next(task.file.file_path for task in tbl.scan().plan_files() if task.file.record_count == 500)
    add_position_deletes(tbl, {small: list(range(500))})
    third = Package(registry, snapshot("iceberg", "lake/orders", **kw).record.top_hash)["orders"]
    assert third.rows == 995 == tbl.scan().to_arrow().num_rows
    assert len(list(third.iter_entries())) == 1


def test_position_delete_past_the_file_publishes_nothing(registry, tmp_path):
    from tests.fixtures.iceberg_deletes import add_position_deletes

    cat, props = _catalog(tmp_path)
    tbl = cat.create_table("sales.orders", schema=_orders(0, 1).schema, properties={"format-version": "2"})
    tbl.append(_orders(0, 10))
    path = next(task.file.file_path for task in tbl.scan().plan_files())
    add_position_deletes(tbl, {path: [2, 10]})  # the file has rows 0..9
    with pytest.raises(SourceError, match=r"has 10 rows but its deletes name position 10"):
        snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    assert registry.list_packages() == []


def test_row_diff_uses_the_iceberg_identifier_fields_and_the_vectors(registry, tmp_path):
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, LongType, NestedField

    from tests.fixtures.iceberg_deletes import add_position_deletes

    cat, props = _catalog(tmp_path)
    schema = Schema(NestedField(1, "id", LongType(), required=True), NestedField(2, "amount", DoubleType()),
                    identifier_field_ids=[1])
    tbl = cat.create_table("sales.orders", schema=schema, properties={"format-version": "2"})
    arrow = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("amount", pa.float64())])
    tbl.append(pa.table({"id": list(range(100)), "amount": [float(i) for i in range(100)]}, schema=arrow))
    kw = dict(registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    a = snapshot("iceberg", "lake/orders", **kw).record
    path = next(task.file.file_path for task in tbl.scan().plan_files())
    add_position_deletes(tbl, {path: [10, 20]})
    b = snapshot("iceberg", "lake/orders", **kw).record
    d = lakepkg.diff(f"lake/orders@{a.top_hash}", f"lake/orders@{b.top_hash}", registry=registry, rows=True)
    t = d.tables["orders"]
    assert t.key == ["id"]
    assert sorted(t.removed.column("id").to_pylist()) == [10, 20]
    assert t.added.num_rows == 0 and t.changed.num_rows == 0
