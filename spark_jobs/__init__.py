"""Entry points for spark-submit: distributed snapshots and materialising tables back into the lake.

Jobs (each ``spark-submit spark_jobs/<job>.py --help``; ``lakepkg spark …`` builds and runs them):

* ``query_snapshot.py`` — a Spark SQL query result → a package table
  (:func:`lakepkg_spark_jobs.query_snapshot.snapshot_query`);
* ``table_snapshot.py`` — Hive metastore tables → package tables, the same
  package ``snapshot_hive`` makes (:func:`lakepkg_spark_jobs.table_snapshot.snapshot_tables`);
* ``materialise.py`` — a package table → a Parquet table, optionally registered
  in the catalog (:func:`lakepkg_spark_jobs.materialise.materialise_table`).

Executors write, hash and store fragments themselves; the driver writes the
manifest and publishes (docs/spark.md, "Distributed snapshots and materialising").
"""
from __future__ import annotations

from typing import Any

__all__ = ["snapshot_query", "snapshot_tables", "materialise_table", "JOBS"]

#: job name → script file in this package
JOBS = {"snapshot-query": "query_snapshot.py", "snapshot-table": "table_snapshot.py",
        "materialise": "materialise.py"}


def __getattr__(name: str) -> Any:  # imported lazily: pyspark is heavy and only jobs need it
    if name == "snapshot_query":
        from .query_snapshot import snapshot_query

        return snapshot_query
    if name == "snapshot_tables":
        from .table_snapshot import snapshot_tables

        return snapshot_tables
    if name == "materialise_table":
        from .materialise import materialise_table

        return materialise_table
    raise AttributeError(name)
