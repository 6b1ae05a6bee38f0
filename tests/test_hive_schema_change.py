"""A re-snapshot after the table's schema changed (ADD COLUMNS) must not reuse entries stored under
the old schema: every fragment of a version has the version's table schema."""
from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq

import lakepkg
from lakepkg_connectors.hive import connect, snapshot_hive
from tests.fixtures.metastore import hms_register_table


def test_resnapshot_after_add_columns_converts_old_files(metastore, tmp_path, registry):
    db = "c" + uuid.uuid4().hex[:10]
    d = tmp_path / "t"
    d.mkdir()
    pq.write_table(pa.table({"id": pa.array([1, 2], pa.int32())}), str(d / "a.parquet"))
    hms_register_table(metastore, db, "t", [("id", "int")], "file:" + str(d))
    first = snapshot_hive([f"{db}.t"], metastore=metastore, to="x/t", registry=registry)
    assert first.tables["t"]["files_read"] == 1
    # ALTER TABLE ADD COLUMNS (note string): an external table re-declared over the same files
    with connect(metastore) as c:
        c.drop_table(db, "t", False)
    hms_register_table(metastore, db, "t", [("id", "int"), ("note", "string")], "file:" + str(d))
    second = snapshot_hive([f"{db}.t"], metastore=metastore, to="x/t", registry=registry)
    t = lakepkg.load("x/t", registry)["t"]
    assert t.schema.names == ["id", "note"]
    assert second.tables["t"]["files_reused"] == 0
    for f in t.fragments():
        assert f.to_arrow().schema.names == ["id", "note"]
    assert sorted(t.to_arrow().to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "note": None}, {"id": 2, "note": None}]


def test_generic_snapshot_path_also_rereads_after_a_schema_change(metastore, tmp_path, registry):
    """The check lives in the builder, so every connector gets it: here through snapshot("hive", ...)."""
    from lakepkg.write.snapshotting import snapshot

    db = "g" + uuid.uuid4().hex[:10]
    d = tmp_path / "t"
    d.mkdir()
    pq.write_table(pa.table({"id": pa.array([1], pa.int32())}), str(d / "a.parquet"))
    hms_register_table(metastore, db, "t", [("id", "int")], "file:" + str(d))
    snapshot("hive", to="x/g", registry=registry, metastore=metastore, tables=[f"{db}.t"])
    with connect(metastore) as c:
        c.drop_table(db, "t", False)
    hms_register_table(metastore, db, "t", [("id", "int"), ("note", "string")], "file:" + str(d))
    snapshot("hive", to="x/g", registry=registry, metastore=metastore, tables=[f"{db}.t"])
    t = lakepkg.load("x/g", registry)["t"]
    assert [f.to_arrow().schema.names for f in t.fragments()] == [["id", "note"]]
