"""Distributed snapshot of Hive-metastore tables (spark-submit entry point and Python function).

    spark-submit spark_jobs/table_snapshot.py sales.orders 'sales.cust*' --to sales/orders \\
        --metastore thrift://metastore:9083 --registry s3://lake/registry --json

    from lakepkg_spark_jobs.table_snapshot import snapshot_tables
    res = snapshot_tables(spark, ["sales.orders"], metastore=uri, to="sales/orders")

The driver runs the single-machine Hive connector (:mod:`lakepkg_connectors.hive`)
for everything but the bytes: tables, schemas, partitions (``where`` is pushed
to the metastore), the file listing and the provenance. The files are then
spread over executors, which store them with the single-machine ingest code
(:func:`lakepkg.write.ingest.ingest_files`): Parquet byte for byte, ORC and text
converted, unchanged files of the latest version reused without being read.
The driver checks that no listed file changed meanwhile, writes the manifest
and publishes: the steps of :class:`lakepkg.write.snapshotting.Snapshot`
(describe → build → publish), with the tables stored by the executors. The
package is the one ``lakepkg.snapshot("hive", ...)`` makes of the same tables
— the same top hash — only made faster.
"""
from __future__ import annotations

import argparse
from typing import Any, Iterable, Optional, Sequence

from lakepkg.write.previous import reusable_entries
from lakepkg.format.canonical import canonical_json
from lakepkg.errors import ConfigError, SourceError
from lakepkg.format.manifest import EntrySorter, TableNodeData, build_table_node
from lakepkg.format.names import validate_table_name
from lakepkg.registry import Registry
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.publish import PublishResult

from lakepkg_spark_jobs.executor_tasks import FileIngester
from lakepkg_spark_jobs.job_errors import spark_call
from lakepkg_spark_jobs.job_runner import SnapshotStep, add_common_options, parse_names, run_snapshot_job
from lakepkg_spark_jobs.job_session import check_executors, registry_access

STAT_KEYS = ("files_read", "files_reused", "bytes_read", "objects_written", "bytes_written")


def _file_tasks(snaps: list[TableSnapshot], previous: Any) -> tuple[list[tuple], list[dict[str, Any]]]:
    """(per-file tasks ``(table index, file index, SourceFile, previous (listing, entry) or None)``,
    per-table context for executors)."""
    tasks: list[tuple] = []
    tables: list[dict[str, Any]] = []
    for ti, snap in enumerate(snaps):
        validate_table_name(snap.name)
        prev, prev_schema = reusable_entries(previous, snap)  # exactly what PackageBuilder reuses
        tables.append({"name": snap.name, "schema": snap.schema, "partition_columns": list(snap.partition_columns),
                       "previous_schema": prev_schema})
        for fi, sf in enumerate(snap.files or []):
            tasks.append((ti, fi, sf, prev.get(sf.path) if prev else None))
    return tasks, tables


def _slices(tasks: list[tuple], n: int) -> list[bytes]:
    """``n`` contiguous shares of the tasks, each pickled once with cloudpickle (source files carry
    their openers and file systems, which plain pickle cannot send)."""
    from pyspark import cloudpickle

    size = -(-len(tasks) // n)
    return [cloudpickle.dumps(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def _table_node(registry: Registry, snap: TableSnapshot,
                records: list[dict[str, Any]]) -> tuple[str, TableNodeData, dict[str, Any], dict[str, int]]:
    """Pages and node of one table from its executors' records, as ``PackageBuilder`` builds them."""
    from lakepkg.write.fragments import writer_settings

    sorter = EntrySorter(f"table {snap.name!r}")
    listing: list[tuple[int, dict[str, Any]]] = []
    stats = dict.fromkeys(STAT_KEYS, 0)
    converted = False
    for r in records:
        if r["kind"] == "file":
            sorter.add_line(r["key"], r["line"])
            listing.append((r["file"], r["listing"]))
        else:
            for k in STAT_KEYS:
                stats[k] += int(r["stats"].get(k, 0))
            converted = converted or r["converted"]
    if snap.schema is None:
        raise SourceError(f"table {snap.name!r} has no schema; nothing to snapshot")
    node_hash, node = build_table_node(registry.store, snap.name, snap.schema, sorter, snap.partition_columns,
                                       snap.provenance, dict(snap.meta), writer_settings() if converted else None)
    source: dict[str, Any] = {}
    if snap.volatile:
        source["volatile"] = snap.volatile
    if listing:
        lines = [canonical_json(l) + b"\n" for _, l in sorted(listing, key=lambda x: x[0])]
        source["listing"] = registry.store.put_bytes(b"".join(lines))
    return node_hash, node, source, stats


def snapshot_tables(spark: Any, tables: "str | Sequence[str]", *, metastore: str, to: str,
                    where: Optional[str] = None, names: Optional[dict[str, str]] = None,
                    registry: "Registry | str | None" = None, message: str = "", tags: Iterable[str] = (),
                    incremental: bool = True, storage_options: Optional[dict[str, Any]] = None,
                    run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
                    meta: Optional[dict[str, Any]] = None, slices: Optional[int] = None) -> PublishResult:
    """Snapshot metastore ``tables`` (``db.table`` or patterns) into package ``to`` with Spark executors.

    Same options and same package as ``lakepkg.snapshot("hive", ...)``; ``slices``: how
    many Spark tasks share the files (default: twice the default parallelism). Nothing is published
    on error; an unchanged table gives ``created=False``."""
    from lakepkg.write.snapshotting import Snapshot
    from lakepkg_connectors.hive import connector

    job = Snapshot(connector, to, registry=registry, meta=meta, incremental=incremental, metastore=metastore,
                   tables=tables, where=where, names=names, storage_options=storage_options)
    reg = job.registry
    snaps = [snap for _src, snap in job.describe()]
    tasks, contexts = _file_tasks(snaps, job.previous)
    check_executors(spark, reg)
    records: list[dict[str, Any]] = []
    if tasks:
        sc = spark.sparkContext
        n = max(1, min(len(tasks), slices or 2 * int(sc.defaultParallelism)))
        ingester = FileIngester(registry_access(reg), contexts)
        shares = _slices(tasks, n)
        records = spark_call("copying the tables' files",
                             lambda: sc.parallelize(shares, len(shares)).mapPartitions(ingester).collect())
    for ti, snap in enumerate(snaps):
        if snap.on_finish is not None:
            snap.on_finish()  # every listed file still there, unchanged
        mine = [r for r in records if r["table"] == ti]
        node_hash, node, source, stats = _table_node(reg, snap, mine)
        job.add_stored_table(node_hash, node, facts={**stats, **snap.facts}, source=source)
    return job.publish(message or "snapshot via spark (hive tables)", tags=tags, run=run, inputs=inputs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spark-submit spark_jobs/table_snapshot.py",
                                description="Snapshot Hive metastore tables into a package version "
                                            "(executors copy the files, the driver commits).")
    p.add_argument("tables", nargs="+", help="tables as database.table, or patterns like 'sales.*'")
    p.add_argument("--to", required=True, help="package name to publish, namespace/name")
    p.add_argument("--where", help="partition filter pushed to the metastore, e.g. \"ds >= '2026-11-01'\"")
    p.add_argument("--name", action="append", default=[], help="db.table=NAME: the package table name (repeatable)")
    p.add_argument("--full", action="store_true", help="read every file again (no reuse of the latest version)")
    p.add_argument("--s3-endpoint", help="S3 endpoint URL for s3:// table locations (credentials: AWS environment)")
    p.add_argument("--slices", type=int, help="Spark tasks sharing the files (default: 2 x default parallelism)")
    add_common_options(p)
    return p


def _prepare(args: argparse.Namespace) -> SnapshotStep:
    if not args.metastore:
        raise ConfigError("give --metastore thrift://host:9083 (or set LAKEPKG_METASTORE)")
    if args.slices is not None and args.slices < 1:
        raise ConfigError("--slices must be at least 1")
    names = parse_names(args.name)
    storage = {"endpoint_url": args.s3_endpoint} if args.s3_endpoint else None
    return lambda spark, reg: snapshot_tables(
        spark, args.tables, metastore=args.metastore, to=args.to, where=args.where, names=names, registry=reg,
        message=args.message, tags=args.tag, inputs=args.input or None, incremental=not args.full,
        slices=args.slices, storage_options=storage)


def _table_line(name: str, t: dict[str, Any]) -> str:
    return (f"{name}: {t['rows']:,} rows in {t['fragments']} fragments; {t['files_read']} files read, "
            f"{t['files_reused']} reused unchanged")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """spark-submit entry point."""
    run_snapshot_job(build_parser(), _prepare, _table_line, argv)


if __name__ == "__main__":
    from lakepkg_spark_jobs.table_snapshot import main as _main  # the package's functions pickle by reference

    _main()
