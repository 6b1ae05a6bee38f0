"""Spark integration: the ``pkg`` data source, ``to_spark`` and query reproduction.

    df = spark.read.format("pkg").load("sales/orders@3fa2c1/orders")
    df = lakepkg.spark.read(spark, "sales/orders:prod/orders")
    df = lakepkg.load("sales/orders@3fa2c1")["orders"].to_spark(spark)

Importing this package does not import pyspark; its functions do.
"""
from __future__ import annotations

from typing import Any, Optional


def register(spark: Any) -> None:
    """Register the ``pkg`` data source in a session (installed lakepkg does it by itself)."""
    from lakepkg.spark.reader import register as impl

    impl(spark)


def read(spark: Any, ref: str, registry: Optional[str] = None, columns: Optional[list[str]] = None,
         **options: str) -> Any:
    """A package table as a Spark DataFrame: ``read(spark, "sales/orders@3fa2c1/orders")``."""
    from lakepkg.spark.engine import read as impl

    return impl(spark, ref, registry=registry, columns=columns, **options)


def to_spark(spark: Any, table: Any, columns: Optional[list[str]] = None, native: Optional[bool] = None) -> Any:
    """A Spark DataFrame of a loaded table or of a :class:`~lakepkg.read.scan.ScanPlan`
    (``Table.to_spark`` and ``ScanPlan.to_spark`` reach the same engine)."""
    from lakepkg.read.scan import ScanPlan
    from lakepkg.spark.engine import plan_to_spark

    plan = table if isinstance(table, ScanPlan) else table.scan()
    return plan_to_spark(spark, plan if columns is None else plan.select(columns), native=native)


def table_to_spark(spark: Any, table: Any, columns: Optional[list[str]] = None,
                   native: Optional[bool] = None) -> Any:
    """A Spark DataFrame of a loaded package table (what ``Table.to_spark`` reaches)."""
    return to_spark(spark, table, columns=columns, native=native)


def use_snapshot(spark: Any, ref: Any, registry: Any = None,
                 names: Optional[dict[str, str]] = None) -> Any:
    """Make a package's tables answer to their original names (``sales.orders``) in ``spark``:
    ``use_snapshot(spark, "sales/snap@3fa2c1").sql(query_text)`` (see lakepkg.spark.reproduce)."""
    from lakepkg.spark.reproduce import use_snapshot as impl

    return impl(spark, ref, registry=registry, names=names)
