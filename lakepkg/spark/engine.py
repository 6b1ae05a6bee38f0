"""A :class:`~lakepkg.read.scan.ScanPlan` as a Spark DataFrame: the ``spark`` read engine.

    df = lakepkg.load("sales/orders@3fa2c1")["orders"].to_spark(spark)     # Table.scan().to_spark
    df = lakepkg.spark.read(spark, "sales/orders:prod/orders")               # resolve once, then the plan

The Spark layer's entry functions are defined here once; ``lakepkg.spark`` re-exports them.

``plan_to_spark`` is registered as the ``spark`` engine of the ``lakepkg.engines``
entry-point group, so the read layer reaches it without importing the Spark
layer. A plan of a local registry on a ``local[...]`` master is read by
Spark's own Parquet reader over the table's symlink view (column and partition
pruning in the JVM); any other plan is handed, as JSON, to the ``pkg`` data
source, which never resolves a reference again.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError
from lakepkg.read.scan import ScanPlan
from lakepkg.spark.local_view import read_view, table_view
from lakepkg.spark.reader import NAME, REGISTRY_OPTIONS, register, resolve_table
from lakepkg.spark.types import to_spark_schema


def plan_to_spark(spark: Any, plan: ScanPlan, native: Optional[bool] = None) -> Any:
    """A Spark DataFrame of ``plan`` (its exact version, its filters, its columns).

    ``native`` (default: when the registry is a local folder and Spark runs ``local[...]``): scan
    the fragments with Spark's own Parquet reader through a view (:mod:`lakepkg.spark.local_view`);
    otherwise read through the ``pkg`` data source."""
    if native is not False and str(spark.sparkContext.master).startswith("local"):
        # Spark's Parquet scan cannot apply deletion vectors: a plan with any goes through the data source
        # the view's links come from the one reader: every fragment behind them is hashed in this process
        # before Spark's JVM reads it (IntegrityError names a bad one)
        view = None if any(t.deletes for t in plan.tasks) else table_view(plan.store, plan)
        if view is not None:
            df = read_view(spark, view, to_spark_schema(plan.schema, plan.table), plan.columns)
            return df if plan.filters is None else df.filter(condition(plan.filters))
        if native:
            raise ConfigError(f"table {plan.table!r} cannot be read natively (registry {plan.registry_location} is "
                              f"not a local folder, a column type needs lakepkg's conversion, or it has deletion vectors); "
                              f"use native=False")
    return load_plan(spark, plan)


def load_plan(spark: Any, plan: ScanPlan, **options: str) -> Any:
    """``spark.read.format("pkg")`` over a pinned plan (shipped as JSON; its tasks are re-planned
    from the pinned table node by the data source, with the filters Spark pushes)."""
    if plan.columns is None:
        spark_schema = to_spark_schema(plan.schema, plan.table)  # a type Spark cannot hold: say so here
    else:
        spark_schema = to_spark_schema(pa.schema([plan.schema.field(c) for c in plan.columns]), plan.table)
    register(spark)
    r = (spark.read.format(NAME).options(**options).option("plan", plan.to_json_text(tasks=False))
         .schema(spark_schema))
    return r.load()


def read(spark: Any, ref: str, registry: Optional[str] = None, columns: Optional[Sequence[str]] = None,
         **options: str) -> Any:
    """``spark.read.format("pkg").load(ref)``, with the reference resolved here, once: a missing
    package, version or table is a one-line lakepkg error rather than a Spark planning error, and
    the DataFrame reads the version current now, whatever its tags do later."""
    reg_opts = {k: str(options[k]) for k in REGISTRY_OPTIONS if options.get(k)}
    plan = resolve_table(ref, registry, reg_opts).scan(columns=None if columns is None else list(columns))
    plan.registry_options.update(reg_opts)
    return load_plan(spark, plan, **{k: v for k, v in options.items() if k not in REGISTRY_OPTIONS})


def to_spark(spark: Any, table: Any, columns: Optional[Sequence[str]] = None, native: Optional[bool] = None) -> Any:
    """A Spark DataFrame of a loaded :class:`lakepkg.read.package.Table` or of a
    :class:`~lakepkg.read.scan.ScanPlan`, reading only ``columns`` when given (``Table.to_spark`` and
    ``ScanPlan.to_spark`` reach :func:`plan_to_spark` the same way)."""
    plan = table if isinstance(table, ScanPlan) else table.scan()
    return plan_to_spark(spark, plan if columns is None else plan.select(list(columns)), native=native)


table_to_spark = to_spark  # the earlier name, kept for callers


def condition(filters: list[list[tuple[str, str, Any]]]) -> Any:
    """A plan's filters (OR of ANDs) as a Spark column expression."""
    from functools import reduce

    from pyspark.sql import functions as F

    def term(c: str, op: str, v: Any) -> Any:
        col = F.col(c)
        if op in ("==", "="):
            return col == F.lit(v)
        if op == "!=":
            return col != F.lit(v)
        if op == "<":
            return col < F.lit(v)
        if op == "<=":
            return col <= F.lit(v)
        if op == ">":
            return col > F.lit(v)
        if op == ">=":
            return col >= F.lit(v)
        if op == "in":
            return col.isin(list(v))
        return ~col.isin(list(v))  # "not in"

    ands = [reduce(lambda a, b: a & b, (term(*t) for t in conj)) for conj in filters]
    return reduce(lambda a, b: a | b, ands)
