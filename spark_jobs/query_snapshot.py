"""Distributed snapshot of a Spark SQL query result (spark-submit entry point and Python function).

    spark-submit spark_jobs/query_snapshot.py --to sales/big \\
        --query "SELECT * FROM sales.orders WHERE ds >= '2026-11-01'" --key order_id --buckets 64 \\
        --metastore thrift://metastore:9083 --registry s3://lake/registry --json

    from lakepkg_spark_jobs.query_snapshot import snapshot_query
    res = snapshot_query(spark, "SELECT ...", to="sales/big", key=["order_id"], buckets=64)

Spark neither orders a result nor splits it the same way twice, so the rows
are put in a deterministic layout before anything is written:

1. each row goes to bucket ``pmod(xxhash64(key columns), buckets)`` — a fixed
   number of buckets, recorded in the table node's writer settings;
2. each bucket is sorted by the key (then by every other orderable column,
   maps by their sorted entries, so a non-unique key still gives one order);
3. executors cut each bucket into fragments at content-defined boundaries of
   the key (:func:`lakepkg.write.chunking.cut`, the SQL connector's rule) and store
   them with the fixed Parquet settings; a fragment's key is its bucket and
   the start of its content hash.

The same source state therefore gives the same top hash (and no new
version), and appending rows rewrites only the fragments around the new
rows in each bucket. Without ``key`` every flat column is the key, and the
provenance says so. Executors return only entry lines; the driver writes the
manifest and publishes.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable, Optional, Sequence

from lakepkg.write.chunking import ChunkingParams
from lakepkg.errors import ConfigError
from lakepkg.write.fragments import writer_settings
from lakepkg.format.manifest import EntrySorter, build_table_node
from lakepkg.format.names import validate_package_name, validate_table_name
from lakepkg.metastore.thrift import metastore_label
from lakepkg.registry import Registry, open_registry
from lakepkg.write.publish import PublishResult

from lakepkg_spark_jobs.driver_commit import CommittedTable, commit
from lakepkg_spark_jobs.executor_tasks import ENTRY_DDL, QueryFragmentWriter
from lakepkg_spark_jobs.job_errors import spark_call
from lakepkg_spark_jobs.job_runner import SnapshotStep, add_common_options, run_snapshot_job, split_columns
from lakepkg_spark_jobs.job_session import check_executors, registry_access
from lakepkg_spark_jobs.spark_schema import arrow_schema_for, key_columns_for, tie_breakers

DEFAULT_BUCKETS = 32
MAX_BUCKETS = 99_999
BUCKET_COLUMN = "__lakepkg_bucket"
BUCKET_FUNCTION = "pmod(xxhash64(key columns), count) in Spark SQL"


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _sort_value(df: Any, name: str) -> Any:
    """What a column sorts by: its value, or for a map its entries in key order (maps are not orderable)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import MapType

    if isinstance(df.schema[name].dataType, MapType):
        return F.array_sort(F.map_entries(_col(name)))
    return _col(name)


def bucketed_rows(df: Any, key: list[str], sort: list[str], buckets: int) -> Any:
    """``df`` with a bucket column, one shuffle partition per bucket, sorted by (bucket, sort columns)."""
    from pyspark.sql import functions as F

    bucket = F.pmod(F.xxhash64(*[_col(c) for c in key]), F.lit(buckets))
    order = [_sort_value(df, c).asc_nulls_first() for c in sort]
    return (df.withColumn(BUCKET_COLUMN, bucket)
              .repartition(buckets, F.col(BUCKET_COLUMN))
              .sortWithinPartitions(F.col(BUCKET_COLUMN).asc(), *order))


def snapshot_query(spark: Any, query: str, *, to: str, table: str = "result",
                   key: "Optional[Sequence[str] | str]" = None, buckets: int = DEFAULT_BUCKETS,
                   chunking: Optional[ChunkingParams] = None, registry: "Registry | str | None" = None,
                   message: str = "", tags: Iterable[str] = (), run: Optional[dict[str, Any]] = None,
                   inputs: Optional[list[str]] = None, catalog: Optional[str] = None) -> PublishResult:
    """Snapshot the result of Spark SQL ``query`` as table ``table`` of package ``to`` and publish it.

    ``key``: the columns that order and cut the rows (default: every flat column). ``buckets``: the
    fixed number of hash buckets (keep it fixed for a package: changing it moves every row).
    ``catalog``: a label of the catalog the query ran against, recorded in provenance (never secrets).
    Nothing is published on error; an unchanged result gives ``created=False``."""
    validate_package_name(to)
    validate_table_name(table)
    if not isinstance(buckets, int) or not 1 <= buckets <= MAX_BUCKETS:
        raise ConfigError(f"--buckets {buckets!r}: give a whole number from 1 to {MAX_BUCKETS}")
    query = (query or "").strip().rstrip(";").strip()
    if not query:
        raise ConfigError("the query is empty; give --query 'SELECT ...'")
    if isinstance(key, str):
        key = split_columns(key)
    reg = registry if isinstance(registry, Registry) else open_registry(registry)
    what = f"table {table!r}"
    df = spark_call(f"running the query for {what}", spark.sql, query)
    schema = arrow_schema_for(df.schema, what)
    key_cols, key_source = key_columns_for(df.schema, key, what)
    if BUCKET_COLUMN in df.columns:
        raise ConfigError(f"{what}: the query has a column named {BUCKET_COLUMN}, which lakepkg uses; rename it")
    sort_cols = key_cols + tie_breakers(df.schema, key_cols)
    params = chunking or ChunkingParams()
    check_executors(spark, reg)

    writer_fn = QueryFragmentWriter(registry_access(reg), schema, key_cols, params, BUCKET_COLUMN, what)
    out = bucketed_rows(df, key_cols, sort_cols, buckets).mapInArrow(writer_fn, ENTRY_DDL)
    rows = spark_call(f"snapshotting {what}", out.collect)
    sorter = EntrySorter(what)
    for r in rows:
        sorter.add_line(r["key"], bytes(r["line"]))

    provenance: dict[str, Any] = {"source": "spark-sql", "query": query, "key": key_cols, "key_source": key_source,
                                  "buckets": buckets}
    if catalog:
        provenance["catalog"] = catalog
    writer = {**writer_settings(), "chunking": params.to_json(), "key": key_cols,
              "buckets": {"count": buckets, "function": BUCKET_FUNCTION}, "sort": sort_cols}
    node_hash, node = build_table_node(reg.store, table, schema, sorter, [], provenance, {}, writer)
    volatile = {"spark_version": spark.version, "application_id": spark.sparkContext.applicationId,
                "rows": node.rows}
    facts = {"key": key_cols, "key_source": key_source, "buckets": buckets}
    return commit(reg, to, [CommittedTable(node_hash, node, {"volatile": volatile}, facts)],
                  message=message or "snapshot via spark (query)", tags=tags, run=run, inputs=inputs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spark-submit spark_jobs/query_snapshot.py",
                                description="Snapshot a Spark SQL query result into a package version "
                                            "(executors write fragments, the driver commits).")
    p.add_argument("--to", required=True, help="package name to publish, namespace/name")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--query", help="Spark SQL query text")
    src.add_argument("--query-file", help="file holding the Spark SQL query")
    p.add_argument("--table-name", default="result", help="name of the table in the package (default: result)")
    p.add_argument("--key", help="comma-separated key columns (default: every flat column)")
    p.add_argument("--buckets", type=int, default=DEFAULT_BUCKETS,
                   help=f"fixed number of hash buckets (default {DEFAULT_BUCKETS}); keep it fixed for a package")
    d = ChunkingParams()
    p.add_argument("--chunk-mask-bits", type=int, default=d.mask_bits, help="content-defined chunking: mask bits")
    p.add_argument("--chunk-min-rows", type=int, default=d.min_rows, help="content-defined chunking: minimum rows")
    p.add_argument("--chunk-max-rows", type=int, default=d.max_rows, help="content-defined chunking: maximum rows")
    add_common_options(p)
    return p


def _prepare(args: argparse.Namespace) -> SnapshotStep:
    if args.query_file:
        try:
            with open(args.query_file, encoding="utf-8") as f:
                query = f.read()
        except OSError as exc:
            raise ConfigError(f"cannot read --query-file {args.query_file}: {exc.strerror}") from None
    else:
        query = args.query
    try:
        params = ChunkingParams(args.chunk_mask_bits, args.chunk_min_rows, args.chunk_max_rows)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    catalog = metastore_label(args.metastore) if args.metastore else None
    return lambda spark, reg: snapshot_query(
        spark, query, to=args.to, table=args.table_name, key=split_columns(args.key), buckets=args.buckets,
        chunking=params, registry=reg, message=args.message, tags=args.tag, inputs=args.input or None,
        catalog=catalog)


def _table_line(name: str, t: dict[str, Any]) -> str:
    return (f"{name}: {t['rows']:,} rows in {t['fragments']} fragments, key {', '.join(t['key'])} "
            f"({t['key_source']}), {t['buckets']} buckets")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """spark-submit entry point."""
    run_snapshot_job(build_parser(), _prepare, _table_line, argv, hive_session=True)


if __name__ == "__main__":
    from lakepkg_spark_jobs.query_snapshot import main as _main  # the package's functions pickle by reference

    _main()
