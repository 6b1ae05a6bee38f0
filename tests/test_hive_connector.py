"""Hive connector against the real Thrift metastore (tables registered over Thrift, files written by pyarrow).

Spark-created tables and restore read back by Spark are in test_hive_spark.py.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import uuid

import pyarrow as pa
import pyarrow.orc as po
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import ConfigError, LakepkgError, NotFoundError, SourceError
from lakepkg_connectors.hive import connector, snapshot_hive
from tests.fixtures.metastore import hms_add_partitions, hms_drop_partition, hms_register_table


@pytest.fixture()
def hdb(metastore):
    """A fresh database name for one test (the metastore is shared by the session)."""
    return "t" + uuid.uuid4().hex[:10]


def _write_partitioned(root, days, rows_per_day=20, extra=0):
    parts = []
    for i, ds in enumerate(days):
        d = os.path.join(root, f"ds={ds}")
        os.makedirs(d, exist_ok=True)
        t = pa.table({"id": pa.array(range(i * 1000, i * 1000 + rows_per_day + extra), pa.int64()),
                      "amt": pa.array([decimal.Decimal(f"{k}.25") for k in range(rows_per_day + extra)], pa.decimal128(10, 2)),
                      "name": pa.array([f"n{k}" for k in range(rows_per_day + extra)])})
        pq.write_table(t, os.path.join(d, "part-00000.parquet"))
        parts.append(([ds], "file:" + d))
    return parts


COLS = [("id", "bigint"), ("amt", "decimal(10,2)"), ("name", "string")]


def _orders(metastore, hdb, tmp_path, n=6):
    root = str(tmp_path / "orders")
    days = [f"2026-11-{d:02d}" for d in range(1, n + 1)]
    parts = _write_partitioned(root, days)
    hms_register_table(metastore, hdb, "orders", COLS, "file:" + root, [("ds", "string")], partitions=parts)
    return root, days


def test_partitioned_parquet_snapshot_schema_rows_provenance_and_determinism(metastore, hdb, tmp_path, registry):
    root, days = _orders(metastore, hdb, tmp_path)
    res = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry)
    assert res.created and res.tables["orders"]["files_read"] == len(days)
    pkg = lakepkg.load("sales/orders", registry)
    t = pkg["orders"]
    assert t.schema.names == ["id", "amt", "name", "ds"]
    assert t.schema.field("amt").type == pa.decimal128(10, 2) and t.partition_columns == ["ds"]
    df = t.to_pandas().sort_values("id")
    assert len(df) == 20 * len(days) and sorted(df["ds"].unique()) == days
    # Parquet stored byte-for-byte: the fragment object is the source file's hash
    import hashlib

    f0 = sorted(t.fragments(), key=lambda f: f.key)[0]
    assert f0.key == f"ds={days[0]}/part-00000.parquet"
    src = os.path.join(root, f"ds={days[0]}", "part-00000.parquet")
    assert f0.object == hashlib.sha256(open(src, "rb").read()).hexdigest()
    prov = t.provenance
    assert prov["qualified_name"] == f"{hdb}.orders" and prov["database"] == hdb and prov["table"] == "orders"
    assert prov["metastore"] == metastore and prov["owner"] == "tester" and prov["table_type"] == "EXTERNAL_TABLE"
    assert prov["location"] == "file:" + root and "Parquet" in prov["input_format"]
    assert prov["partition_keys"] == [{"name": "ds", "type": "string"}]
    assert [p["values"] for p in prov["partitions"]] == [{"ds": d} for d in days]
    assert prov["partitions"][0]["location"] == "file:" + os.path.join(root, f"ds={days[0]}")
    pp = prov["partitions"][0]["parameters"]
    assert pp["numFiles"] == "1" and pp["totalSize"] == str(os.path.getsize(src))
    # DDL timestamps are not hashed (DESIGN invariant 5): they are in the version record
    assert "transient_lastDdlTime" not in pp and "transient_lastDdlTime" not in prov["parameters"]
    vol = res.record.sources["orders"]["volatile"]
    assert vol["partition_parameters"][f"ds={days[0]}"] == {"transient_lastDdlTime": "1"}
    # same source state -> same top hash, nothing new published
    again = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry)
    assert not again.created and again.record.top_hash == res.record.top_hash
    full = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry, incremental=False)
    assert full.record.top_hash == res.record.top_hash and full.tables["orders"]["files_read"] == len(days)


def test_where_is_pushed_to_the_metastore_and_bad_filters_fail(metastore, hdb, tmp_path, registry):
    _orders(metastore, hdb, tmp_path)
    res = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/recent", registry=registry,
                        where="ds >= '2026-11-05'")
    t = lakepkg.load("sales/recent", registry)["orders"]
    assert sorted(p["ds"] for p in t.partitions) == ["2026-11-05", "2026-11-06"]
    assert res.tables["orders"]["files_read"] == 2
    assert t.provenance["partition_filter"] == "ds >= '2026-11-05'"
    with pytest.raises(SourceError, match="partition filter") as ei:
        snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/bad", registry=registry,
                      where="no_such_column = 3")
    assert "\n" not in str(ei.value)
    with pytest.raises(NotFoundError):
        registry.resolve("sales/bad")


def test_patterns_pick_several_tables_into_one_package(metastore, hdb, tmp_path, registry):
    _orders(metastore, hdb, tmp_path, n=2)
    p = tmp_path / "customers"
    p.mkdir()
    pq.write_table(pa.table({"cid": pa.array([1, 2], pa.int32())}), str(p / "c.parquet"))
    hms_register_table(metastore, hdb, "customers", [("cid", "int")], "file:" + str(p))
    hms_register_table(metastore, hdb, "other", [("cid", "int")], "file:" + str(p))
    res = snapshot_hive([f"{hdb}.*"], metastore=metastore, to="sales/all", registry=registry)
    assert list(res.tables) == ["customers", "orders", "other"]
    res2 = snapshot_hive([f"{hdb}.cust*", f"{hdb}.orders"], metastore=metastore, to="sales/two", registry=registry)
    assert sorted(lakepkg.load("sales/two", registry).tables) == ["customers", "orders"]
    assert lakepkg.load("sales/two", registry)["customers"].to_pandas()["cid"].tolist() == [1, 2]


def test_incremental_resnapshot_reads_only_the_changed_partition_and_diff_shows_partitions(
        metastore, hdb, tmp_path, registry):
    root = str(tmp_path / "events")
    days = [f"2026-{m:02d}-{d:02d}" for m in (1, 2) for d in range(1, 21)]  # 40 partitions
    parts = _write_partitioned(root, days, rows_per_day=5)
    hms_register_table(metastore, hdb, "events", COLS, "file:" + root, [("ds", "string")], partitions=parts)
    first = snapshot_hive([f"{hdb}.events"], metastore=metastore, to="ops/events", registry=registry)
    assert first.tables["events"]["files_read"] == 40
    # change one partition's file, drop one partition, add one partition
    _write_partitioned(root, [days[7]], rows_per_day=5, extra=3)
    hms_drop_partition(metastore, hdb, "events", [days[0]])
    new = _write_partitioned(root, ["2026-03-01"], rows_per_day=5)
    hms_add_partitions(metastore, hdb, "events", new)
    second = snapshot_hive([f"{hdb}.events"], metastore=metastore, to="ops/events", registry=registry)
    s = second.tables["events"]
    assert second.created
    assert s["files_read"] == 2 and s["files_reused"] == 38  # the changed and the added partition only
    from lakepkg.read.package import diff_refs

    d = diff_refs(f"ops/events@{first.record.top_hash}", f"ops/events@{second.record.top_hash}", registry)
    (td,) = d.tables
    assert td.partitions_added == ["ds=2026-03-01"]
    assert td.partitions_removed == [f"ds={days[0]}"]
    assert td.partitions_changed == [f"ds={days[7]}"]
    t = lakepkg.load("ops/events", registry)["events"]
    assert len(t.to_pandas()) == 40 * 5 + 3


def test_orc_and_text_tables_are_converted_with_hive_types(metastore, hdb, tmp_path, registry):
    od = tmp_path / "orc"
    od.mkdir()
    po.write_table(pa.table({"id": pa.array([1, 2], pa.int32()), "v": ["a", None],
                             "ts": pa.array([dt.datetime(2026, 1, 1, 10), None], pa.timestamp("ns"))}),
                   str(od / "000000_0"))
    hms_register_table(metastore, hdb, "o", [("id", "int"), ("v", "varchar(5)"), ("ts", "timestamp")],
                       "file:" + str(od), fmt="orc")
    td = tmp_path / "txt" / "ds=2026-01-01"
    td.mkdir(parents=True)
    (td / "000000_0").write_text("1\x01x\x031\x02y\x032\n2\x01\\N\n")
    (td / "_SUCCESS").write_text("")
    (td / ".000000_0.crc").write_text("junk")
    hms_register_table(metastore, hdb, "t", [("id", "smallint"), ("m", "map<string,int>")],
                       "file:" + str(tmp_path / "txt"), [("ds", "date")], fmt="text",
                       partitions=[(["2026-01-01"], "file:" + str(td))])
    res = snapshot_hive([f"{hdb}.o", f"{hdb}.t"], metastore=metastore, to="conv/tables", registry=registry)
    pkg = lakepkg.load("conv/tables", registry)
    o = pkg["o"]
    assert o.schema.field("ts").type == pa.timestamp("ns") and o.schema.field("v").metadata == {b"hive_type": b"varchar(5)"}
    assert o.to_arrow().to_pylist() == [{"id": 1, "v": "a", "ts": dt.datetime(2026, 1, 1, 10)},
                                        {"id": 2, "v": None, "ts": None}]
    t = pkg["t"]
    assert t.schema.field("ds").type == pa.date32() and t.schema.field("id").type == pa.int16()
    assert [f.key for f in t.fragments()] == ["ds=2026-01-01/000000_0.parquet"]
    rows = sorted(t.to_arrow().to_pylist(), key=lambda r: r["id"])
    assert rows == [{"id": 1, "m": [("x", 1), ("y", 2)], "ds": dt.date(2026, 1, 1)},
                    {"id": 2, "m": None, "ds": dt.date(2026, 1, 1)}]
    assert res.tables["t"]["files_read"] == 1  # _SUCCESS and .crc skipped


def test_parquet_file_with_older_schema_is_converted_to_the_table_schema(metastore, hdb, tmp_path, registry):
    d = tmp_path / "evolved"
    d.mkdir()
    pq.write_table(pa.table({"ID": pa.array([1], pa.int32())}), str(d / "old.parquet"))       # before ADD COLUMNS
    pq.write_table(pa.table({"id": pa.array([2], pa.int32()), "note": ["n"]}), str(d / "new.parquet"))
    hms_register_table(metastore, hdb, "evolved", [("id", "int"), ("note", "string")], "file:" + str(d))
    snapshot_hive([f"{hdb}.evolved"], metastore=metastore, to="x/evolved", registry=registry)
    t = lakepkg.load("x/evolved", registry)["evolved"]
    assert sorted(t.to_arrow().to_pylist(), key=lambda r: r["id"]) == [{"id": 1, "note": None}, {"id": 2, "note": "n"}]


@pytest.mark.parametrize("kind,params,table_type,match", [
    ("view", {}, "VIRTUAL_VIEW", "is a view"),
    ("acid", {"transactional": "true"}, "MANAGED_TABLE", "ACID"),
    ("iceberg", {"table_type": "ICEBERG"}, "EXTERNAL_TABLE", "Iceberg table"),
])
def test_unreadable_table_types_fail_naming_the_table(metastore, hdb, tmp_path, registry, kind, params, table_type, match):
    hms_register_table(metastore, hdb, kind, [("id", "int")], "file:" + str(tmp_path), params=params,
                       table_type=table_type, fmt="orc" if kind == "acid" else "parquet",
                       buckets=2 if kind == "acid" else 0)
    with pytest.raises(SourceError, match=match) as ei:
        snapshot_hive([f"{hdb}.{kind}"], metastore=metastore, to="x/bad", registry=registry)
    assert f"{hdb}.{kind}" in str(ei.value)
    assert registry.list_packages("") == []


def test_bad_input_one_line_errors_and_nothing_published(metastore, hdb, tmp_path, registry):
    from lakepkg.metastore.metastore_server import free_port

    root, days = _orders(metastore, hdb, tmp_path, n=3)
    with pytest.raises(SourceError, match="cannot reach the Hive metastore") as ei:
        snapshot_hive([f"{hdb}.orders"], metastore=f"thrift://127.0.0.1:{free_port()}", to="x/a", registry=registry)
    assert "\n" not in str(ei.value)
    with pytest.raises(NotFoundError, match="nodb"):
        snapshot_hive(["nodb.orders"], metastore=metastore, to="x/a", registry=registry)
    with pytest.raises(NotFoundError, match="missing"):
        snapshot_hive([f"{hdb}.missing"], metastore=metastore, to="x/a", registry=registry)
    with pytest.raises(NotFoundError, match="no table matches"):
        snapshot_hive([f"{hdb}.zz*"], metastore=metastore, to="x/a", registry=registry)
    # a partition whose location is gone
    import shutil

    shutil.rmtree(os.path.join(root, f"ds={days[1]}"))
    with pytest.raises(SourceError, match=f"partition ds={days[1]} of {hdb}.orders.*does not exist"):
        snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="x/a", registry=registry)
    assert registry.list_packages("") == []


def test_files_deleted_during_the_snapshot_publish_nothing(metastore, hdb, tmp_path, registry):
    from lakepkg.write.build import PackageBuilder
    from lakepkg.write.snapshotting import previous_version

    root, days = _orders(metastore, hdb, tmp_path, n=3)
    # a file read during the snapshot disappears after listing
    (snap,) = connector.snapshot_tables(metastore=metastore, tables=[f"{hdb}.orders"])
    os.remove(os.path.join(root, f"ds={days[2]}", "part-00000.parquet"))
    with pytest.raises(SourceError, match="disappeared|deleted"):
        PackageBuilder(registry).add_snapshot(snap)
    assert registry.list_packages("") == []
    # a file reused from the previous version disappears after listing: caught by the final check
    _write_partitioned(root, [days[2]])
    first = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="x/o", registry=registry)
    (snap,) = connector.snapshot_tables(metastore=metastore, tables=[f"{hdb}.orders"])
    os.remove(os.path.join(root, f"ds={days[0]}", "part-00000.parquet"))
    with pytest.raises(SourceError, match="deleted during the snapshot"):
        PackageBuilder(registry).add_snapshot(snap, previous=previous_version(registry, "x/o"))
    assert [r.top_hash for r in registry.history("x/o")] == [first.record.top_hash]


def test_s3_table_location(metastore, hdb, tmp_path, s3_bucket_url, s3_endpoint, registry):
    """Files listed and read from S3 (moto over HTTP). The test metastore has no hadoop-aws jar, so it cannot
    register s3a:// locations itself: the table is registered locally and its locations pointed at S3."""
    from lakepkg.write.build import PackageBuilder
    from lakepkg.source.filesystems import filesystem_for
    from lakepkg_connectors.hive import _table_snapshot, describe_tables
    from lakepkg.write.publish import publish

    _orders(metastore, hdb, tmp_path, n=3)   # ds=2026-11-03 has no objects on S3: an empty partition
    loc = s3_bucket_url.rstrip("/") + "/sales/orders"
    opts = {"endpoint_url": s3_endpoint}
    fs, path = filesystem_for(loc, opts)
    for i, ds in enumerate(["2026-11-01", "2026-11-02"]):
        with fs.open_output_stream(f"{path}/ds={ds}/part-0.parquet") as out:
            pq.write_table(pa.table({"id": pa.array([i], pa.int64()), "amt": pa.array([decimal.Decimal("1.00")], pa.decimal128(10, 2)),
                                     "name": ["x"]}), out)
        with fs.open_output_stream(f"{path}/ds={ds}/_SUCCESS") as out:
            out.write(b"")

    def build(prev=None):
        (info,) = describe_tables(metastore, [f"{hdb}.orders"])
        info.location = loc.replace("s3://", "s3a://")
        for p in info.partitions:
            p.location = f"{info.location}/{p.path}"
        snap = _table_snapshot(info, "orders", metastore, None, opts)
        b = PackageBuilder(registry)
        b.add_snapshot(snap, previous=prev)
        built = b.build()
        rec = publish(registry, "s3/orders", built, message="t", author="t").record
        return rec, built.tables["orders"], snap

    rec, stats, snap = build()
    assert stats["files_read"] == 2 and len(snap.provenance["partitions"]) == 3
    assert snap.provenance["partitions"][0]["location"].startswith("s3a://")
    t = lakepkg.load("s3/orders", registry)["orders"]
    assert sorted(t.to_pandas()["id"].tolist()) == [0, 1]
    from lakepkg.write.snapshotting import previous_version

    rec2, stats2, _ = build(previous_version(registry, "s3/orders"))
    assert rec2.top_hash == rec.top_hash and stats2["files_reused"] == 2 and stats2["files_read"] == 0
    assert "secret" not in json.dumps(t.provenance).lower()


def test_cli_snapshot_json_stats_and_errors(metastore, hdb, tmp_path, home):
    _orders(metastore, hdb, tmp_path, n=3)
    env = {**os.environ, "LAKEPKG_HOME": str(home)}
    cmd = [sys.executable, "-m", "lakepkg.cli", "snapshot", "hive", f"{hdb}.orders", "--metastore", metastore,
           "--to", "cli/orders", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["created"] and d["tables"]["orders"]["files_read"] == 3 and d["tables"]["orders"]["files_reused"] == 0
    out2 = subprocess.run(cmd, capture_output=True, text=True, env=env)
    d2 = json.loads(out2.stdout)
    assert not d2["created"] and d2["tables"]["orders"]["files_reused"] == 3 and d2["top_hash"] == d["top_hash"]
    bad = subprocess.run(cmd[:5] + [f"{hdb}.nope"] + cmd[6:], capture_output=True, text=True, env=env)
    # under --json an error is one JSON object on stderr (issue 10); the text form is checked without --json
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and json.loads(bad.stderr)["error"]["type"] == "NotFoundError"
    bad_text = subprocess.run(cmd[:5] + [f"{hdb}.nope"] + cmd[6:-1], capture_output=True, text=True, env=env)
    assert bad_text.returncode == 1 and bad_text.stderr.count("\n") == 1 and bad_text.stderr.startswith("lakepkg: error:")


def test_metastore_ddl_time_change_with_same_data_keeps_the_top_hash(metastore, hdb, tmp_path, registry):
    """Re-adding a partition (same location, same files) only moves its transient_lastDdlTime: the same
    source state must give the same top hash (the new DDL time is a volatile fact)."""
    root, days = _orders(metastore, hdb, tmp_path, n=3)
    first = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry)
    hms_drop_partition(metastore, hdb, "orders", [days[1]])
    hms_add_partitions(metastore, hdb, "orders", [([days[1]], "file:" + os.path.join(root, f"ds={days[1]}"))])
    (snap,) = connector.snapshot_tables(metastore=metastore, tables=[f"{hdb}.orders"])
    assert snap.volatile["partition_parameters"][f"ds={days[1]}"] == {"transient_lastDdlTime": "2"}
    again = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry,
                          incremental=False)
    assert again.record.top_hash == first.record.top_hash and not again.created


def test_where_filter_runs_in_the_metastore_not_after_listing(metastore, hdb, tmp_path, registry, monkeypatch):
    """The filter goes to get_partitions_by_filter: partitions it excludes are never fetched nor listed
    (a missing location there does not matter), and a filter the metastore rejects fails with the
    metastore's own message."""
    import shutil

    from hmsclient.hmsclient import HMSClient

    root, days = _orders(metastore, hdb, tmp_path)
    shutil.rmtree(os.path.join(root, f"ds={days[0]}"))  # excluded by the filter: must not be listed
    calls = []
    for meth in ("get_partitions_by_filter", "get_partition_names", "get_partitions", "get_partitions_by_names"):
        orig = getattr(HMSClient, meth)

        def spy(self, *a, _orig=orig, _m=meth):
            calls.append((_m, a))
            return _orig(self, *a)

        monkeypatch.setattr(HMSClient, meth, spy)
    res = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/recent", registry=registry,
                        where="ds >= '2026-11-05'")
    assert [c[0] for c in calls] == ["get_partitions_by_filter"]
    assert calls[0][1] == (hdb, "orders", "ds >= '2026-11-05'", -1)
    assert res.tables["orders"]["files_read"] == 2
    assert len(lakepkg.load("sales/recent", registry)["orders"].provenance["partitions"]) == 2
    with pytest.raises(SourceError, match="is not a partitioning key") as ei:  # the metastore's words
        snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/bad", registry=registry, where="id = 3")
    assert "\n" not in str(ei.value) and f"{hdb}.orders" in str(ei.value)
    with pytest.raises(SourceError, match="Error parsing partition filter"):
        snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/bad", registry=registry, where="ds >>= 1")
    with pytest.raises(NotFoundError):
        registry.resolve("sales/bad")


@pytest.mark.parametrize("inputformat,match", [
    ("org.apache.hudi.hadoop.HoodieParquetInputFormat", "is a Hudi table"),
    ("org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat", "symlink-manifest table"),
])
def test_hudi_and_manifest_tables_are_refused(metastore, hdb, tmp_path, registry, monkeypatch, inputformat, match):
    """Their folders hold old file versions / are not the data: reading every Parquet file would give wrong rows."""
    import tests.fixtures.metastore as fx

    _, out, serde = fx.PARQUET
    monkeypatch.setitem(fx.FORMATS, "odd", (inputformat, out, serde))
    pq.write_table(pa.table({"id": [1]}), str(tmp_path / "f.parquet"))
    hms_register_table(metastore, hdb, "odd", [("id", "bigint")], "file:" + str(tmp_path), fmt="odd")
    with pytest.raises(SourceError, match=match) as ei:
        snapshot_hive([f"{hdb}.odd"], metastore=metastore, to="x/odd", registry=registry)
    assert f"{hdb}.odd" in str(ei.value) and "\n" not in str(ei.value)
    assert registry.list_packages("") == []


def test_partition_location_on_an_unreadable_file_system_names_the_partition(metastore, hdb, tmp_path):
    """A location lakepkg cannot open (the test metastore cannot itself register such locations, so the
    description is edited as in test_s3_table_location)."""
    from lakepkg_connectors.hive import _table_snapshot, describe_tables

    _orders(metastore, hdb, tmp_path, n=2)
    (info,) = describe_tables(metastore, [f"{hdb}.orders"])
    info.partitions[1].location = "wasb://container@acct/orders/ds=2026-11-02"
    with pytest.raises(SourceError, match=f"partition ds=2026-11-02 of {hdb}.orders: cannot open location") as ei:
        _table_snapshot(info, "orders", metastore, None, None)
    assert "\n" not in str(ei.value)
