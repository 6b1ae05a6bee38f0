"""Spark readers and restore apply deletion vectors: the data source (with pushed filters),
``to_spark`` (falls back from the native Parquet view), ``spark materialise`` and Hive ``restore``."""
from __future__ import annotations

import uuid

import pyarrow.parquet as pq

import lakepkg
from tests.fixtures.databases import pg_exec
from tests.test_deltas_sql import _pg_day, _pg_load, _snap


def _delta_version(pg_url, registry):
    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    t = lakepkg.load(f"air/flights@{rec.top_hash}", registry)["flights"]
    assert t.has_deletes()
    ids = [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]
    return rec, t, ids


def test_spark_readers_apply_vectors(spark, pg_url, registry, tmp_path):
    from lakepkg_spark_jobs.materialise import materialise_table

    rec, t, ids = _delta_version(pg_url, registry)
    ref = f"air/flights@{rec.top_hash}/flights"
    df = lakepkg.spark.read(spark, ref, registry=registry.location)
    assert sorted(r.id for r in df.select("id").collect()) == ids
    low = [i for i in ids if i < 500]
    assert sorted(r.id for r in df.filter("id < 500").select("id").collect()) == low
    assert df.filter("dest = 'NEW'").count() == pg_exec(pg_url, "SELECT count(*) FROM flights WHERE dest = 'NEW'")[0][0]
    native = t.to_spark(spark)  # a table with vectors is read through the data source
    assert sorted(r.id for r in native.select("id").collect()) == ids
    assert native.select("carrier").distinct().count() == len({r[0] for r in pg_exec(pg_url, "SELECT DISTINCT carrier FROM flights")})
    out = tmp_path / "mat"
    materialise_table(spark, ref, location=str(out), registry=registry)
    assert sorted(pq.read_table(str(out)).column("id").to_pylist()) == ids


def test_restore_writes_live_rows_only(metastore, pg_url, registry, tmp_path):
    from lakepkg.metastore.restore import restore_table

    rec, t, ids = _delta_version(pg_url, registry)
    db = "d" + uuid.uuid4().hex[:10]
    from hmsclient.genthrift.hive_metastore.ttypes import Database
    from lakepkg_connectors.hive import connect

    with connect(metastore) as c:
        c.create_database(Database(name=db, description="", locationUri=None, parameters={}))
    res = restore_table(f"air/flights@{rec.top_hash[:12]}", table="flights", into=f"{db}.flights",
                        location=str(tmp_path / "restored"), metastore=metastore, registry=registry)
    assert res.rows == len(ids)
    assert sorted(pq.read_table(str(tmp_path / "restored")).column("id").to_pylist()) == ids
