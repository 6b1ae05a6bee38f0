"""Distributed snapshot jobs and materialising back, run as REAL ``spark-submit --master local[2]`` jobs.

Five spark-submit runs in all (each costs a JVM start): the same query snapshotted twice (once
through ``lakepkg spark snapshot-query``, in another session time zone) and once more after an
append; the metastore tables snapshotted by executors into an S3 registry; a package table
materialised and registered. Bad input is checked in-process on the session fixture, where it
costs no JVM start.
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
import pytest

import lakepkg
from lakepkg.errors import ConfigError, NotFoundError, SchemaMismatchError, SourceError, StoreUnavailableError

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]
CHUNKS = ["--chunk-mask-bits", "5", "--chunk-min-rows", "16", "--chunk-max-rows", "400"]


# -- helpers -----------------------------------------------------------------------------------

def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def job_env(home) -> dict:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_HOME": spark_home(), "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    return env


def spark_conf(tmp) -> list[str]:
    conf = {"spark.ui.enabled": "false", "spark.log.level": "WARN", "spark.sql.shuffle.partitions": "4",
            "spark.local.dir": str(tmp / "spark-local"), "spark.sql.warehouse.dir": str(tmp / "warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={tmp}"}
    return [a for k, v in conf.items() for a in ("--conf", f"{k}={v}")]


def result_of(p: subprocess.CompletedProcess) -> dict:
    """The job's JSON result (spark-submit merges the Python driver's stderr into stdout)."""
    assert p.returncode == 0, f"job failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    assert "Traceback" not in p.stdout
    docs = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert docs, p.stdout[-3000:]
    return json.loads(docs[-1])


def submit(job: str, args: list[str], home, tmp, conf: tuple[str, ...] = ()) -> dict:
    """``spark-submit --master local[2] spark_jobs/<job> ARGS --json``; returns the job's result."""
    import lakepkg_spark_jobs

    tmp.mkdir(parents=True, exist_ok=True)
    script = os.path.join(os.path.dirname(lakepkg_spark_jobs.__file__), job)
    cmd = [os.path.join(spark_home(), "bin", "spark-submit"), "--master", "local[2]", *spark_conf(tmp), *conf,
           script, *args, "--json"]
    return result_of(subprocess.run(cmd, capture_output=True, text=True, env=job_env(home), cwd=str(tmp),
                                    timeout=600))


def canon(v):
    """A value as Spark's collect() and Arrow's to_pylist() both reduce to."""
    if hasattr(v, "asDict"):
        v = v.asDict(recursive=True)
    if isinstance(v, dict):
        return tuple(sorted((str(k), canon(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(canon(x) for x in v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v


def spark_rows(df, cols):
    return sorted(tuple(canon(r[c]) for c in cols) for r in df.collect())


def pkg_rows(table, cols):
    return sorted(tuple(canon(r[c]) for c in cols) for r in table.to_arrow().to_pylist())


def objects(table) -> set[str]:
    return {f.object for f in table.fragments()}


EVENTS = ("SELECT id, concat('n', CAST(id % 50 AS STRING)) AS name, CAST(id % 1000 AS DECIMAL(10,2)) / 10 AS amount, "
          "TIMESTAMP'2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, 0, 0, id) AS ts, "
          "array(CAST(id % 3 AS STRING)) AS tags FROM range({lo}, {hi})")


@pytest.fixture(scope="module")
def spark_db(spark, tmp_path_factory):
    """Tables made by Spark SQL in the session's metastore: a big-ish query source, a partitioned
    Parquet datasource table and a Hive ORC table."""
    db = "sj" + uuid.uuid4().hex[:8]
    q = spark.sql
    q(f"CREATE DATABASE {db}")
    q(f"CREATE TABLE {db}.events (id BIGINT, name STRING, amount DECIMAL(12,3), ts TIMESTAMP, tags ARRAY<STRING>) "
      f"USING parquet")
    q(f"INSERT INTO {db}.events " + EVENTS.format(lo=0, hi=3000))
    q(f"CREATE TABLE {db}.sales (id INT, amt DECIMAL(10,2), name STRING, ds STRING) USING parquet PARTITIONED BY (ds)")
    q(f"INSERT INTO {db}.sales VALUES (1, 1.50, 'a', '2026-11-01'), (2, 2.25, NULL, '2026-11-02'), "
      f"(3, -3.00, 'c', '2026-11-02'), (4, 4.00, 'd', NULL)")
    q(f"CREATE TABLE {db}.legacy (id BIGINT, price DOUBLE, at TIMESTAMP) STORED AS ORC")
    q(f"INSERT INTO {db}.legacy VALUES (1, 1.5, TIMESTAMP'2026-02-03 04:05:06'), (2, NULL, NULL)")
    return db


# -- distributed snapshot of a query -----------------------------------------------------------

def test_query_snapshot_is_deterministic_and_an_append_reuses_fragments(spark, spark_db, metastore, home, registry,
                                                                         tmp_path):
    db = spark_db
    query = f"SELECT id, name, amount, ts, tags FROM {db}.events"
    cols = ["id", "name", "amount", "ts", "tags"]
    args = ["--to", "spark/events", "--query", query, "--table-name", "events", "--key", "id", "--buckets", "4",
            *CHUNKS, "--metastore", metastore]

    first = submit("query_snapshot.py", args, home, tmp_path / "run1")
    assert first["created"] is True
    h1 = first["top_hash"]
    t1 = lakepkg.load(f"spark/events@{h1}", registry)["events"]
    assert pkg_rows(t1, cols) == spark_rows(spark.sql(query), cols)
    assert t1.provenance["query"] == query and t1.provenance["key"] == ["id"] and t1.provenance["buckets"] == 4
    assert t1.provenance["key_source"] == "given" and t1.provenance["source"] == "spark-sql"
    w = t1.node.writer
    assert w["buckets"]["count"] == 4 and w["chunking"]["min_rows"] == 16 and w["key"] == ["id"]
    assert w["compression"] == "zstd"
    keys = [f.key for f in t1.fragments()]
    assert len(keys) >= 20 and {k.split("-")[1] for k in keys} == {"b00000", "b00001", "b00002", "b00003"}
    assert t1.schema.field("ts").type == pa.timestamp("us", tz="UTC")

    # the same query again, through the CLI, in another session time zone: same top hash, no new version
    env = job_env(home)
    (tmp_path / "run2").mkdir()
    p = subprocess.run(LAKEPKG + ["spark", "snapshot-query", "--to", "spark/events", "--query", query,
                                  "--table-name", "events", "--key", "id", "--buckets", "4", *CHUNKS,
                                  "--metastore", metastore, "--master", "local[2]",
                                  *spark_conf(tmp_path / "run2"), "--conf", "spark.sql.session.timeZone=Asia/Tokyo",
                                  "--json"], capture_output=True, text=True, env=env, cwd=str(tmp_path / "run2"),
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    second = json.loads(p.stdout)
    assert second["top_hash"] == h1 and second["created"] is False
    assert len(registry.history("spark/events")) == 1

    # append rows: only the fragments around the new rows (at the end of each bucket) are new.
    # This run is the Python function in the test's own Spark session (the third way in, and one
    # JVM start fewer): the fragments it reuses were cut by the spark-submit run above
    from lakepkg.write.chunking import ChunkingParams
    from lakepkg_spark_jobs.query_snapshot import snapshot_query

    spark.sql(f"INSERT INTO {db}.events " + EVENTS.format(lo=3000, hi=3100))
    res = snapshot_query(spark, query, to="spark/events", table="events", key=["id"], buckets=4,
                         chunking=ChunkingParams(mask_bits=5, min_rows=16, max_rows=400), registry=registry)
    assert res.created is True and res.record.top_hash != h1
    t3 = lakepkg.load(f"spark/events@{res.record.top_hash}", registry)["events"]
    assert t3.rows == 3100
    old, new = objects(t1), objects(t3)
    reused = len(new & old) / len(new)
    assert reused >= 0.75, f"only {reused:.0%} of {len(new)} fragments reused"
    assert len(new - old) <= 3 * 4  # a few per bucket
    assert pkg_rows(t3, cols) == spark_rows(spark.sql(query), cols)


# -- distributed snapshot of metastore tables ----------------------------------------------------

def test_table_snapshot_into_s3_gives_the_top_hash_of_snapshot_hive(spark, spark_db, metastore, s3_bucket_url,
                                                                     registry, home, tmp_path):
    from lakepkg.registry import open_registry
    from lakepkg_connectors.hive import snapshot_hive

    db = spark_db
    tables = [f"{db}.sales", f"{db}.legacy"]
    res = submit("table_snapshot.py", [*tables, "--to", "spark/tables", "--metastore", metastore,
                                       "--registry", s3_bucket_url], home, tmp_path / "run4")
    assert res["created"] is True
    assert res["tables"]["sales"]["files_read"] >= 3 and res["tables"]["legacy"]["rows"] == 2

    single = snapshot_hive(tables, metastore=metastore, to="spark/tables", registry=registry)
    assert res["top_hash"] == single.record.top_hash  # the same package format, to the last byte
    s3 = open_registry(s3_bucket_url)
    pkg = lakepkg.load("spark/tables", s3)
    assert pkg.top_hash == single.record.top_hash
    assert pkg_rows(pkg["sales"], ["id", "amt", "name", "ds"]) == spark_rows(spark.table(f"{db}.sales"),
                                                                              ["id", "amt", "name", "ds"])
    assert pkg["legacy"].provenance["format"] == "orc"
    for t in ("sales", "legacy"):
        assert all(s3.store.has(o) for o in objects(pkg[t]))
    # the version record of the distributed run has the same source listing as the single-machine one
    assert pkg.record.sources["sales"]["listing"] == single.record.sources["sales"]["listing"]


# -- materialise back ------------------------------------------------------------------------------

def test_materialise_writes_a_partitioned_parquet_table_and_registers_it(spark, spark_db, metastore, registry, home,
                                                                         tmp_path):
    from lakepkg_connectors.hive import snapshot_hive

    db = spark_db
    rec = snapshot_hive([f"{db}.sales"], metastore=metastore, to="spark/sales", registry=registry).record
    out = tmp_path / "lake" / "sales_back"
    res = submit("materialise.py", [f"spark/sales@{rec.top_hash[:10]}/sales", "--location", str(out),
                                    "--register", f"{db}.sales_back", "--metastore", metastore],
                 home, tmp_path / "run5")
    assert res["registered"] == f"{db}.sales_back" and res["rows"] == 4 and res["partition_columns"] == ["ds"]
    assert res["source"] == f"spark/sales@{rec.top_hash}/sales"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ds=2026-11-01", "ds=2026-11-02",
                                                                   "ds=__HIVE_DEFAULT_PARTITION__"]
    cols = ["id", "amt", "name", "ds"]
    back = spark.table(f"{db}.sales_back")
    assert back.columns == cols
    assert spark_rows(back, cols) == spark_rows(spark.table(f"{db}.sales"), cols)
    assert spark_rows(back, cols) == pkg_rows(lakepkg.load("spark/sales", registry)["sales"], cols)
    assert len(spark.sql(f"SHOW PARTITIONS {db}.sales_back").collect()) == 3
    props = {r[0]: r[1] for r in spark.sql(f"SHOW TBLPROPERTIES {db}.sales_back").collect()}
    assert props["lakepkg.source"] == res["source"]


# -- bad input: one-line lakepkg errors, in-process (no JVM start) -------------------------------------

def test_bad_references_and_types_are_one_line_errors(spark, registry, tmp_path):
    from lakepkg.write.build import PackageBuilder
    from lakepkg_spark_jobs.materialise import materialise_table
    from lakepkg_spark_jobs.query_snapshot import snapshot_query

    b = PackageBuilder(registry)
    b.add_table("wide", pa.table({"id": [1, 2], "big": pa.array([1, 2], pa.decimal256(40, 2))}))
    b.publish("bad/pkg")
    loc = str(tmp_path / "out")
    cases = [("nope/missing:latest/t", NotFoundError, "nope/missing not found"),
             ("bad/pkg@deadbeef/wide", NotFoundError, "deadbeef"),
             ("bad/pkg:latest/nope", NotFoundError, "nope"),
             ("bad/pkg:latest/wide", SchemaMismatchError, "'big'")]
    for ref, cls, needle in cases:
        with pytest.raises(cls) as e:
            materialise_table(spark, ref, location=loc, registry=registry)
        assert needle in str(e.value) and "\n" not in str(e.value), (ref, str(e.value))
    assert not os.path.exists(loc)

    with pytest.raises(SchemaMismatchError, match="column 'iv' has Spark type interval") as e:
        snapshot_query(spark, "SELECT id, make_interval(1, 2, 0, 0, 0, 0, 0) AS iv FROM range(3)", to="bad/q",
                       registry=registry)
    with pytest.raises(SourceError, match="nope") as e:
        snapshot_query(spark, "SELECT nope FROM range(3)", to="bad/q", registry=registry)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="key column"):
        snapshot_query(spark, "SELECT id FROM range(3)", to="bad/q", key=["missing"], registry=registry)
    assert registry.list_packages("bad/") == ["bad/pkg"]


def test_an_s3_registry_executors_cannot_use_is_a_one_line_error(spark, s3_bucket_url):
    """The driver reaches the S3 registry, the executors have no credentials for it."""
    from lakepkg.registry import open_registry
    from lakepkg_spark_jobs.query_snapshot import snapshot_query

    reg = open_registry(s3_bucket_url)
    env = spark.sparkContext.environment
    saved = dict(env)
    env.update({"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"})
    try:
        with pytest.raises(StoreUnavailableError) as e:
            snapshot_query(spark, "SELECT id FROM range(10)", to="s3/unreachable", registry=reg)
    finally:
        env.clear()
        env.update(saved)
    msg = str(e.value)
    assert msg.startswith("Spark executors cannot use the registry s3://") and "credentials" in msg
    assert "\n" not in msg and "Traceback" not in msg
    assert reg.list_packages() == []  # nothing published


def test_cli_prints_the_spark_submit_command_and_fails_fast_on_a_missing_package(home, tmp_path):
    env = job_env(home)
    p = subprocess.run(LAKEPKG + ["spark", "snapshot-table", "db.t", "--to", "x/y", "--metastore",
                                  "thrift://127.0.0.1:9083", "--master", "yarn", "--conf", "spark.executor.cores=2",
                                  "--print", "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    cmd = json.loads(p.stdout)["command"]
    assert cmd[0].endswith("spark-submit") and cmd[1:3] == ["--master", "yarn"]
    assert "spark.executor.cores=2" in cmd and any(c.endswith("table_snapshot.py") for c in cmd)
    assert cmd[-3:-1] == ["--registry", str(home / "registry")] and cmd[-1] == "--json"

    p = subprocess.run(LAKEPKG + ["spark", "materialise", "nope/missing:latest/t", "--location",
                                  str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 1 and len(lines) == 1 and lines[0].startswith("lakepkg: error: package nope/missing")


def test_task_errors_come_back_as_lakepkg_errors():
    from lakepkg_spark_jobs.executor_tasks import fragment_key, task_error
    from lakepkg_spark_jobs.job_errors import from_spark

    text = ("Job aborted due to stage failure: ... PythonException:\nTraceback (most recent call last):\n  ...\n"
            f"lakepkg_spark_jobs.executor_tasks.TaskError: {task_error(StoreUnavailableError('no way'), 'x')}\n")
    err = from_spark(RuntimeError(text), "snapshotting")
    assert isinstance(err, StoreUnavailableError) and str(err) == "no way"
    err = from_spark(RuntimeError("An error occurred while calling o1.x.\n: boom happened\n\tat a.b"), "doing it")
    assert isinstance(err, SourceError) and str(err) == "doing it: Spark failed: boom happened"
    err = from_spark(RuntimeError("ModuleNotFoundError: No module named 'lakepkg'"), "writing")
    assert isinstance(err, ConfigError) and "install the same lakepkg" in str(err)
    assert fragment_key(3, "ab" * 32, 0) == f"part-b00003-{'ab' * 12}.parquet"
    assert fragment_key(3, "ab" * 32, 2).endswith("-2.parquet")
