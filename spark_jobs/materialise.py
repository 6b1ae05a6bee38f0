"""Materialise a package table back into the lake as a Parquet table (spark-submit entry point and function).

    spark-submit spark_jobs/materialise.py sales/orders@3fa2c1/orders --location /lake/restore/orders \\
        --register sales.orders_restored --metastore thrift://metastore:9083 --json

    from lakepkg_spark_jobs.materialise import materialise_table
    res = materialise_table(spark, "sales/orders@3fa2c1", table="orders", location="/lake/restore/orders",
                            register="sales.orders_restored")

The table is read as a distributed DataFrame through lakepkg's Spark reader
(:func:`lakepkg.spark.engine.table_to_spark`: the exact version, executors
reading the registry themselves) and written by Spark as Parquet under
``location``, in ``column=value`` folders of the table's partition columns.
With ``register`` and a session that has a catalog (Hive support), the
folder is then registered as an external table — ``CREATE TABLE … USING
parquet PARTITIONED BY (…) LOCATION …`` with the table's exact Spark schema,
then ``ALTER TABLE … RECOVER PARTITIONS`` — so ``spark.table(name)`` reads the
rows of the snapshot. The table records its source in the table property
``lakepkg.source``. Nothing is registered unless the write succeeded.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from lakepkg.api import load_table
from lakepkg.errors import ConfigError
from lakepkg.registry import Registry, open_registry
from lakepkg.source.filesystems import location_uri

from lakepkg_spark_jobs.job_errors import spark_call
from lakepkg_spark_jobs.job_runner import add_common_options, run_job, stop_quietly
from lakepkg_spark_jobs.job_session import has_catalog, job_session

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


@dataclass
class MaterialiseResult:
    """What :func:`materialise_table` wrote and registered."""

    source: str                 # name@tophash/table
    location: str
    rows: int
    partitions: int
    partition_columns: list[str]
    registered: Optional[str]   # db.table, or None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def _quote_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"--register {name!r}: give the catalog table as database.table (letters, digits, _)")
    return ".".join(f"`{p}`" for p in name.split("."))


def _ddl(spark: Any, schema: Any) -> str:
    """Column definitions of a Spark schema, as Spark itself writes them (names quoted, nested types exact)."""
    jvm = spark.sparkContext._jvm
    return str(jvm.org.apache.spark.sql.types.DataType.fromJson(schema.json()).toDDL())


def _sql_string(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def materialise_table(spark: Any, ref: str, *, location: str, table: Optional[str] = None,
                      register: Optional[str] = None, registry: "Registry | str | None" = None,
                      overwrite: bool = False) -> MaterialiseResult:
    """Write package table ``ref`` (or ``ref`` + ``table``) as Parquet at ``location`` and, with ``register``
    (``db.table``), create it in the session's catalog. ``overwrite`` replaces existing files at
    ``location``; a catalog table that exists already is never replaced."""
    from lakepkg.spark.engine import table_to_spark
    from lakepkg.spark.types import to_spark_schema

    reg = registry if isinstance(registry, Registry) else open_registry(registry)
    tbl = load_table(ref, table, reg)
    pkg = tbl.package
    source = f"{pkg.name}@{pkg.top_hash}/{tbl.name}"
    to_spark_schema(tbl.schema, tbl.name)  # a type Spark cannot hold: one line, before any job runs
    qname = _quote_name(register) if register else None
    if register:
        if not has_catalog(spark):
            raise ConfigError(f"--register {register}: this Spark session has no catalog to register in; "
                              f"give --metastore thrift://host:9083 (Hive support)")
        if spark_call(f"looking up {register}", spark.catalog.tableExists, register):
            raise ConfigError(f"table {register} already exists in the catalog; drop it or register under "
                              f"another name")
    dest = location_uri(location)
    pcols = list(tbl.partition_columns)
    df = table_to_spark(spark, tbl)
    data_cols = [c for c in df.columns if c not in pcols]
    df = df.select(*[f"`{c}`" for c in data_cols + pcols])
    writer = df.write.format("parquet").mode("overwrite" if overwrite else "errorifexists")
    if pcols:
        writer = writer.partitionBy(*pcols)
    try:
        spark_call(f"writing {source} to {dest}", writer.save, dest)
    except ConfigError:
        raise
    except Exception as exc:
        if "already exists" in str(exc):
            raise ConfigError(f"{dest} already exists; give an empty --location, or --overwrite to replace its "
                              f"files") from None
        raise
    if register:
        parts = f" PARTITIONED BY ({', '.join(f'`{c}`' for c in pcols)})" if pcols else ""
        sql = (f"CREATE TABLE {qname} ({_ddl(spark, df.schema)}) USING parquet{parts} LOCATION {_sql_string(dest)} "
               f"TBLPROPERTIES ('lakepkg.source' = {_sql_string(source)})")
        spark_call(f"registering {register}", spark.sql, sql)
        if pcols:
            spark_call(f"adding the partitions of {register}", spark.sql, f"ALTER TABLE {qname} RECOVER PARTITIONS")
    return MaterialiseResult(source=source, location=dest, rows=tbl.rows, partitions=len(tbl.partitions) if pcols else 0,
                             partition_columns=pcols, registered=register)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spark-submit spark_jobs/materialise.py",
                                description="Write a package table as a Parquet table (partitioned like the "
                                            "package table) and optionally register it in the catalog.")
    p.add_argument("ref", help="package table: ns/name[@hash|:tag]/TABLE, or ns/name[@hash|:tag] with --table")
    p.add_argument("--table", help="table of the package (when REF names a package)")
    p.add_argument("--location", required=True, help="folder to write (path or URI Spark can write)")
    p.add_argument("--register", help="also create this catalog table, database.table (needs --metastore)")
    p.add_argument("--overwrite", action="store_true", help="replace files already at --location")
    add_common_options(p, publishes=False)
    return p


def _run(args: argparse.Namespace) -> MaterialiseResult:
    reg = open_registry(args.registry)
    load_table(args.ref, args.table, reg)  # a missing package, version or table fails before Spark starts
    spark = job_session("lakepkg materialise", args.metastore)
    try:
        return materialise_table(spark, args.ref, location=args.location, table=args.table, register=args.register,
                                 registry=reg, overwrite=args.overwrite)
    finally:
        stop_quietly(spark)


def _human(res: MaterialiseResult) -> str:
    where = f" and registered as {res.registered}" if res.registered else ""
    parts = f" in {res.partitions} partitions" if res.partition_columns else ""
    return f"wrote {res.source}: {res.rows:,} rows{parts} to {res.location}{where}"


def main(argv: Optional[Sequence[str]] = None) -> None:
    """spark-submit entry point."""
    run_job(build_parser(), _run, _human, argv)


if __name__ == "__main__":
    from lakepkg_spark_jobs.materialise import main as _main  # the package's functions pickle by reference

    _main()
