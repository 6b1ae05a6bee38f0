"""Tables created and filled by Spark SQL (the session fixture ``spark``) against the real metastore:
snapshot them, compare with what Spark reads, restore them and read the restored tables with Spark."""
from __future__ import annotations

import datetime as dt
import decimal
import uuid

import pytest

import lakepkg
from lakepkg_connectors.hive import snapshot_hive
from lakepkg.metastore.restore import restore_table


def canon(v):
    """A value as Spark's collect() and Arrow's to_pylist() both reduce to."""
    if hasattr(v, "asDict"):
        v = v.asDict(recursive=True)
    if isinstance(v, dict):
        return tuple(sorted((str(k), canon(x)) for k, x in v.items()))
    if isinstance(v, list) and v and all(isinstance(x, tuple) and len(x) == 2 for x in v):
        return tuple(sorted((str(k), canon(x)) for k, x in v))  # Arrow map
    if isinstance(v, (list, tuple)):
        return tuple(canon(x) for x in v)
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


def spark_rows(spark, qn, cols):
    return sorted(tuple(canon(r[c]) for c in cols) for r in spark.table(qn).collect())


def pkg_rows(table, cols):
    return sorted(tuple(canon(r[c]) for c in cols) for r in table.to_arrow().to_pylist())


@pytest.fixture(scope="module")
def spark_db(spark, tmp_path_factory):
    db = "s" + uuid.uuid4().hex[:8]
    ext = tmp_path_factory.mktemp("ext")
    q = spark.sql
    q(f"CREATE DATABASE {db}")
    q(f"CREATE TABLE {db}.ds_part (id INT, amt DECIMAL(10,2), name STRING, ds STRING) USING parquet PARTITIONED BY (ds)")
    q(f"INSERT INTO {db}.ds_part VALUES (1, 1.50, 'a', '2026-11-01'), (2, 2.25, NULL, '2026-11-02'), (3, -3.00, 'c', '2026-11-02')")
    q(f"CREATE TABLE {db}.hive_pq (id INT, v VARCHAR(10), c CHAR(3), ts TIMESTAMP, d DATE, arr ARRAY<INT>, "
      f"m MAP<STRING,INT>, s STRUCT<a:INT,b:STRING>) PARTITIONED BY (ds STRING) STORED AS PARQUET")
    q(f"INSERT INTO {db}.hive_pq PARTITION (ds='2026-11-01') SELECT 1, 'x', 'ab', TIMESTAMP'2026-01-01 10:00:00.123456', "
      f"DATE'2026-01-01', array(1,2), map('k',1), named_struct('a',1,'b','z')")
    q(f"INSERT INTO {db}.hive_pq PARTITION (ds='2026-11-02') SELECT 2, NULL, 'xyz', NULL, NULL, NULL, NULL, NULL")
    q(f"CREATE TABLE {db}.hive_orc (id BIGINT, name STRING, price DOUBLE, ts TIMESTAMP) STORED AS ORC")
    q(f"INSERT INTO {db}.hive_orc VALUES (1, 'a', 1.5, TIMESTAMP'2026-02-03 04:05:06'), (2, NULL, NULL, NULL)")
    q(f"CREATE TABLE {db}.hive_txt (id INT, name STRING, tags ARRAY<STRING>, amt DECIMAL(8,3)) "
      f"PARTITIONED BY (p INT) STORED AS TEXTFILE")
    q(f"INSERT INTO {db}.hive_txt PARTITION (p=7) VALUES (1, 'a', array('x','y'), 1.125), (2, NULL, NULL, NULL)")
    q(f"CREATE TABLE {db}.ext (id BIGINT, name STRING) USING parquet LOCATION '{ext}/ext'")
    q(f"INSERT INTO {db}.ext VALUES (5, 'e')")
    q(f"CREATE VIEW {db}.v AS SELECT id FROM {db}.ext")
    return db


TABLES = {
    "ds_part": ["id", "amt", "name", "ds"],
    "hive_pq": ["id", "v", "c", "ts", "d", "arr", "m", "s", "ds"],
    "hive_orc": ["id", "name", "price", "ts"],
    "hive_txt": ["id", "name", "tags", "amt", "p"],
    "ext": ["id", "name"],
}


def test_spark_tables_snapshot_to_the_rows_spark_reads(spark, spark_db, metastore, registry):
    db = spark_db
    res = snapshot_hive([f"{db}.ds_part", f"{db}.hive_*", f"{db}.ext"], metastore=metastore, to="spark/tables",
                        registry=registry)
    assert sorted(res.tables) == sorted(TABLES)
    pkg = lakepkg.load("spark/tables", registry)
    for name, cols in TABLES.items():
        t = pkg[name]
        assert t.schema.names == cols, name
        assert pkg_rows(t, cols) == spark_rows(spark, f"{db}.{name}", cols), name
    import pyarrow as pa

    assert pkg["ds_part"].schema.field("amt").type == pa.decimal128(10, 2)
    assert pkg["ds_part"].provenance["spark_provider"] == "parquet"
    assert pkg["ext"].provenance["table_type"] == "EXTERNAL_TABLE"
    assert pkg["hive_txt"].partition_columns == ["p"] and pkg["hive_txt"].schema.field("p").type == pa.int32()
    assert pkg["hive_pq"].schema.field("c").metadata == {b"hive_type": b"char(3)"}
    assert pkg["hive_orc"].provenance["format"] == "orc"
    # the datasource table's Parquet files were stored as they are
    assert res.tables["ds_part"]["objects_written"] == res.tables["ds_part"]["files_read"] == 2
    from lakepkg.errors import SourceError

    with pytest.raises(SourceError, match=f"{db}.v is a view"):
        snapshot_hive([f"{db}.v"], metastore=metastore, to="spark/view", registry=registry)


@pytest.mark.parametrize("name", ["ds_part", "hive_pq", "hive_orc"])
def test_restore_reads_back_in_spark_with_equal_rows(spark, spark_db, metastore, registry, tmp_path, name):
    db = spark_db
    rec = snapshot_hive([f"{db}.{name}"], metastore=metastore, to=f"spark/{name.replace('_', '-')}",
                        registry=registry).record
    ref = f"spark/{name.replace('_', '-')}@{rec.top_hash[:12]}"
    restore_table(ref, table=name, into=f"{db}.{name}_restored", location=str(tmp_path / name),
                  metastore=metastore, registry=registry)
    cols = TABLES[name]
    assert spark_rows(spark, f"{db}.{name}_restored", cols) == spark_rows(spark, f"{db}.{name}", cols)
    if name != "hive_orc":
        parts = sorted(r[0] for r in spark.sql(f"SHOW PARTITIONS {db}.{name}_restored").collect())
        assert parts == sorted(r[0] for r in spark.sql(f"SHOW PARTITIONS {db}.{name}").collect())
