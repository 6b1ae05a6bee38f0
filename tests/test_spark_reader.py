"""``spark.read.format("pkg")``, ``Table.to_spark`` and ``lakepkg.spark.read`` against a real local[2]
Spark: same rows as the package, partition columns present, fragments pruned by partition values and
min/max statistics, column subsets, S3 registries without Hadoop S3 jars, and one-line errors."""
from __future__ import annotations

import datetime as dt
import decimal
import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

import lakepkg
import lakepkg.spark
from lakepkg.write.build import PackageBuilder
from lakepkg.errors import ConfigError, NotFoundError, SchemaMismatchError
from lakepkg.registry import open_registry

UTC = dt.timezone.utc


def _orders() -> pa.Table:
    n = 60
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "qty": pa.array([i % 7 for i in range(n)], pa.uint32()),
        "big": pa.array([2**64 - 1 - i for i in range(n)], pa.uint64()),
        "amount": pa.array([decimal.Decimal(f"{i}.{i % 100:02d}") for i in range(n)], pa.decimal128(10, 2)),
        "name": pa.array([None if i % 11 == 0 else f"n{i}" for i in range(n)], pa.large_string()),
        "ts": pa.array([dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(hours=i) for i in range(n)],
                       pa.timestamp("us", tz="UTC")),
        "day": pa.array([dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(n)], pa.date32()),
        "tags": pa.array([[f"t{i}", "x"] if i % 5 else None for i in range(n)], pa.list_(pa.string())),
        "attrs": pa.array([{"a": i, "b": f"s{i}"} for i in range(n)], pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "raw": pa.array([bytes([i]) * 3 for i in range(n)], pa.binary()),
        "ok": pa.array([i % 2 == 0 for i in range(n)], pa.bool_()),
        "ds": pa.array([f"2026-11-0{i % 3 + 1}" for i in range(n)], pa.string()),
    })


@pytest.fixture(scope="module")
def pkg_home(tmp_path_factory):
    """A registry with ``shop/orders``: 3 partitions x 4 fragments of 5 rows each."""
    loc = str(tmp_path_factory.mktemp("spark-reader") / "registry")
    b = PackageBuilder(open_registry(loc))
    b.add_table("orders", _orders(), partition_cols=["ds"], rows_per_fragment=5)
    b.add_table("other", pa.table({"x": [1, 2, 3]}))
    b.add_file("README.md", b"# orders\n")
    rec = b.publish("shop/orders", message="test")
    return loc, rec.top_hash


def _canon(v):
    if hasattr(v, "asDict"):
        v = v.asDict(recursive=True)
    if isinstance(v, dict):
        return tuple(sorted((k, _canon(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_canon(x) for x in v)
    if isinstance(v, bytearray):
        return bytes(v)
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(v, decimal.Decimal):  # uint64 reads as decimal(20,0) in Spark
        return int(v) if v == v.to_integral_value() else str(v.normalize())
    return v


def _rows(records, cols):
    return sorted((tuple(_canon(r[c]) for c in cols) for r in records), key=repr)


def test_format_pkg_reads_the_same_rows_as_the_package(spark, pkg_home):
    loc, top = pkg_home
    t = lakepkg.load(f"shop/orders@{top[:8]}", loc)["orders"]
    df = spark.read.format("pkg").option("registry", loc).load(f"shop/orders@{top[:8]}/orders")
    assert df.columns == t.schema.names  # partition column present, in the package's order
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    assert types["qty"] == "bigint" and types["big"] == "decimal(20,0)" and types["amount"] == "decimal(10,2)"
    assert types["ts"] == "timestamp" and types["day"] == "date" and types["ds"] == "string"
    cols = t.schema.names
    assert _rows(df.collect(), cols) == _rows(t.to_arrow().to_pylist(), cols)
    assert df.count() == 60


def test_fragments_become_spark_partitions_and_filters_prune_them(spark, pkg_home):
    loc, top = pkg_home
    t = lakepkg.load(f"shop/orders@{top}", loc)["orders"]
    base = spark.read.format("pkg").option("registry", loc).option("maxPartitionBytes", "1")
    df = base.load(f"shop/orders@{top}/orders")
    assert df.rdd.getNumPartitions() == len(t.fragments()) == 12  # one fragment per partition here
    one_day = df.filter("ds = '2026-11-02'")
    assert one_day.rdd.getNumPartitions() == 4  # partition pruning: only that day's fragments are planned
    assert one_day.count() == 20
    top_ids = df.filter("id >= 58")
    assert top_ids.rdd.getNumPartitions() == 2  # min/max pruning: ids 58, 59 live in two fragments
    assert sorted(r.id for r in top_ids.collect()) == [58, 59]
    assert df.filter("ds IN ('2026-11-01', '2026-11-03') AND id < 10").count() == 7
    # the default groups small fragments together
    assert spark.read.format("pkg").option("registry", loc).load(f"shop/orders@{top}/orders").rdd.getNumPartitions() == 1


def test_reading_without_filter_pushdown_still_works(spark, pkg_home):
    loc, top = pkg_home
    spark.conf.set("spark.sql.python.filterPushdown.enabled", "false")
    try:
        df = spark.read.format("pkg").option("registry", loc).option("maxPartitionBytes", "1").load(f"shop/orders@{top}/orders")
        f = df.filter("ds = '2026-11-02'")
        assert f.count() == 20 and f.rdd.getNumPartitions() == 12  # right answer, nothing pruned
    finally:
        spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")


def test_to_spark_native_view_and_data_source_agree(spark, pkg_home):
    """On a local registry to_spark scans a symlink view with Spark's own Parquet reader: the same
    rows and types as the pkg data source, partitions pruned from folder names."""
    loc, top = pkg_home
    t = lakepkg.load(f"shop/orders@{top}", loc)["orders"]
    native, via_source = t.to_spark(spark, native=True), t.to_spark(spark, native=False)
    assert native.schema == via_source.schema and native.columns == t.schema.names
    cols = t.schema.names
    assert _rows(native.collect(), cols) == _rows(via_source.collect(), cols) == _rows(t.to_arrow().to_pylist(), cols)
    plan = native.filter("ds = '2026-11-03'")._jdf.queryExecution().executedPlan().toString()
    assert "PartitionFilters: [isnotnull(ds" in plan and "= 2026-11-03)" in plan  # pruned by Spark itself
    assert native.filter("ds = '2026-11-03' AND id < 6").count() == 2


def test_types_spark_parquet_cannot_read_fall_back_to_the_data_source(spark, tmp_path):
    loc = str(tmp_path / "reg")
    b = PackageBuilder(open_registry(loc))
    ns = pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns"))
    b.add_table("t", pa.table({"id": [1, 2], "ts": ns, "u8": pa.array([255, 0], pa.uint8())}))
    b.publish("shop/nanos")
    t = lakepkg.load("shop/nanos", loc)["t"]
    with pytest.raises(ConfigError, match="cannot be read natively"):
        t.to_spark(spark, native=True)
    rows = sorted(t.to_spark(spark).collect(), key=lambda r: r.id)  # default: falls back by itself
    assert rows[0].u8 == 255 and rows[0].ts == dt.datetime(2023, 11, 14, 22, 13, 20, 123456)  # microseconds
    assert rows[1].ts is None


def test_to_spark_and_column_subsets(spark, pkg_home):
    loc, top = pkg_home
    t = lakepkg.load(f"shop/orders@{top}", loc)["orders"]
    df = t.to_spark(spark, columns=["id", "ds"])
    assert df.columns == ["id", "ds"]
    assert sorted((r.id, r.ds) for r in df.collect()) == sorted(zip(t.to_pandas()["id"], t.to_pandas()["ds"]))
    user = spark.read.format("pkg").option("registry", loc).schema("name string, amount decimal(10,2)").load(f"shop/orders@{top}/orders")
    assert user.columns == ["name", "amount"] and user.filter("name IS NULL").count() == 6
    # a leaf still reads as pandas
    assert len(t.fragments()[0].to_pandas()) == 5


def test_the_version_is_pinned_when_the_dataframe_is_made(spark, pkg_home, tmp_path):
    loc, top = pkg_home
    reg = open_registry(loc)
    b = PackageBuilder(reg)
    b.add_table("orders", pa.table({"id": [1]}))
    rec1 = b.publish("shop/pinned")
    df = lakepkg.spark.read(spark, "shop/pinned:latest/orders", registry=loc)
    b2 = PackageBuilder(reg)
    b2.add_table("orders", pa.table({"id": [1, 2, 3]}))
    rec2 = b2.publish("shop/pinned")
    assert rec2.top_hash != rec1.top_hash
    assert df.count() == 1  # still the version current when the DataFrame was made
    assert lakepkg.spark.read(spark, "shop/pinned:latest/orders", registry=loc).count() == 3


def test_s3_registry_reads_without_hadoop_s3_jars(spark, s3_bucket_url, s3_endpoint, tmp_path):
    url = s3_bucket_url.rstrip("/") + "/spark-reader"
    reg = open_registry(url, endpoint_url=s3_endpoint)
    b = PackageBuilder(reg)
    b.add_table("orders", _orders(), partition_cols=["ds"], rows_per_fragment=20)
    rec = b.publish("shop/s3orders")
    t = lakepkg.load(f"shop/s3orders@{rec.top_hash}", reg)["orders"]
    df = t.to_spark(spark)
    assert df.count() == 60 and df.filter("ds = '2026-11-03'").count() == 20
    via_format = (spark.read.format("pkg").option("registry", url).option("endpoint_url", s3_endpoint)
                  .load(f"shop/s3orders@{rec.top_hash[:10]}/orders"))
    cols = ["id", "amount", "ds"]
    assert _rows(via_format.collect(), cols) == _rows(t.to_arrow().to_pylist(), cols)


def test_bad_references_are_one_line_lakepkg_errors(spark, pkg_home):
    from pyspark.errors import AnalysisException

    loc, top = pkg_home
    with pytest.raises(NotFoundError, match="package shop/nothing not found"):
        lakepkg.spark.read(spark, "shop/nothing:latest/orders", registry=loc)
    with pytest.raises(NotFoundError, match="no table or file 'nope'"):
        lakepkg.spark.read(spark, f"shop/orders@{top}/nope", registry=loc)
    with pytest.raises(NotFoundError, match="no version of shop/orders has a top hash starting"):
        lakepkg.spark.read(spark, "shop/orders@abcdef12/orders", registry=loc)
    with pytest.raises(ConfigError, match="not a table"):
        lakepkg.spark.read(spark, f"shop/orders@{top}/README.md", registry=loc)
    with pytest.raises(ConfigError, match="has 2 tables"):
        lakepkg.spark.read(spark, f"shop/orders@{top}", registry=loc)
    with pytest.raises(ConfigError, match="no column"):
        lakepkg.spark.read(spark, f"shop/orders@{top}/orders", registry=loc, columns=["id", "nope"])
    # ns/name/table without a version reads latest, as `lakepkg cat` does (issue 23, small items)
    assert lakepkg.spark.read(spark, "shop/orders/orders", registry=loc).count() == \
        lakepkg.spark.read(spark, "shop/orders:latest/orders", registry=loc).count()
    # through Spark itself: Spark's error carries lakepkg's one line, with no lakepkg traceback above it
    with pytest.raises(AnalysisException) as ei:
        spark.read.format("pkg").option("registry", loc).load("shop/nothing:latest/orders")
    msg = str(ei.value)
    assert "lakepkg: package shop/nothing not found" in msg and "_pin" not in msg


def test_a_schema_spark_cannot_hold_is_refused_naming_the_column(spark, tmp_path):
    loc = str(tmp_path / "reg")
    b = PackageBuilder(open_registry(loc))
    wide = pa.array([decimal.Decimal("1" * 45 + ".25")], pa.decimal256(50, 2))
    b.add_table("wide", pa.table({"id": [1], "huge": wide}))
    b.publish("shop/wide")
    with pytest.raises(SchemaMismatchError, match="column 'huge'.*at most 38 digits"):
        lakepkg.spark.read(spark, "shop/wide:latest/wide", registry=loc)
    # the other columns still read, by leaving that one out
    assert lakepkg.spark.read(spark, "shop/wide:latest/wide", registry=loc, columns=["id"]).collect()[0].id == 1


def test_an_unreachable_s3_registry_fails_with_what_lakepkg_needs(spark, tmp_path):
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException) as ei:
        (spark.read.format("pkg").option("registry", "s3://nowhere-bucket/p")
         .option("endpoint_url", "http://127.0.0.1:9").load("shop/x:latest/t"))
    assert "cannot reach S3 endpoint http://127.0.0.1:9" in str(ei.value)


def test_an_installed_wheel_registers_pkg_by_itself(pkg_home, tmp_path):
    """A fresh Spark with lakepkg installed from its wheel finds ``pkg`` with no register() call."""
    loc, top = pkg_home
    import shutil

    site = tmp_path / "site"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = tmp_path / "src"  # a clean copy: setuptools' build/ folder in the checkout may hold stale modules
    shutil.copytree(repo, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "data",
                                                             "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                    "--target", str(site), str(src)], check=True, capture_output=True, timeout=600)
    assert (site / "pyspark_lakepkg" / "__init__.py").is_file()
    script = textwrap.dedent(f"""
        import sys
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
                 .config("spark.sql.python.filterPushdown.enabled", "true").getOrCreate())
        import lakepkg
        assert lakepkg.__file__.startswith({str(site)!r}), lakepkg.__file__
        df = spark.read.format("pkg").option("registry", {loc!r}).load("shop/orders@{top}/orders")
        print("ROWS", df.filter("ds = '2026-11-01'").count())
        spark.stop()
    """)
    env = {**os.environ, "PYTHONPATH": str(site), "PYSPARK_PYTHON": sys.executable}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600,
                         cwd=str(tmp_path))
    assert "ROWS 20" in out.stdout, out.stderr[-3000:]


def test_views_are_built_once_and_gc_removes_only_unreferenced_ones(tmp_path, home):
    # ``home``: this user's caches are the test's own (gc also prunes the row-hash cache, which is per user)
    from lakepkg.maintain.gc import collect_garbage
    from lakepkg.spark.local_view import VIEW_MARKER, table_view

    reg = open_registry(str(tmp_path / "reg"))
    b = PackageBuilder(reg)
    b.add_table("orders", _orders(), partition_cols=["ds"], rows_per_fragment=30)
    rec = b.publish("shop/views")
    t = lakepkg.load(f"shop/views@{rec.top_hash}", reg)["orders"]
    view = table_view(reg.store, t)
    links = sorted(os.path.relpath(os.path.join(d, f), view) for d, _, fs in os.walk(view) for f in fs if f != VIEW_MARKER)
    assert [p.split("/")[0] for p in links] == ["ds=2026-11-01"] * 1 + ["ds=2026-11-02"] * 1 + ["ds=2026-11-03"] * 1
    assert all(os.path.realpath(os.path.join(view, p)).startswith(os.path.join(reg.store.root, "objects")) for p in links)
    assert table_view(reg.store, t) == view  # reused, not rebuilt
    stale = os.path.join(reg.store.root, "views", "0" * 64)
    os.makedirs(stale)
    rep = collect_garbage(reg, grace_seconds=0)
    assert rep.views_removed == 1 and not os.path.exists(stale) and os.path.exists(os.path.join(view, VIEW_MARKER))
