"""The ``pkg`` Spark data source: a package table as a distributed DataFrame.

    df = spark.read.format("pkg").load("sales/orders@3fa2c1/orders")
    df = spark.read.format("pkg").option("registry", "s3://bucket/team").load("sales/orders:prod/orders")
    df = lakepkg.load("sales/orders@3fa2c1")["orders"].to_spark(spark)

The source reads one :class:`~lakepkg.read.scan.ScanPlan`: the ``plan`` option
(what ``lakepkg.spark.read`` and ``to_spark`` pass, pinned on the driver), or
the ``path`` reference resolved once per DataFrame (see :class:`PkgDataSource`).
The top hash and table node are pinned, so every task reads the same version
even if a tag moves meanwhile. The plan's fragment tasks are grouped into Spark
partitions of about ``maxPartitionBytes`` each. Filters Spark pushes
(``spark.sql.python.filterPushdown.enabled``) refine the plan (a re-plan of the
pinned table node: fragments pruned by partition values and min/max
statistics, Parquet row groups skipped); Spark still re-checks them, so
pruning never changes an answer. A user schema
(``.schema("id long, ds string")``) that names a subset of the columns reads
only those columns.

Executors read objects through lakepkg's own store (local folder or S3 with
boto3, hash-checked into the local cache), so no Hadoop S3 jars are needed.

Options: ``plan`` (a ScanPlan as JSON), ``path`` (the reference), ``registry`` (else ``$LAKEPKG_REGISTRY`` /
``$LAKEPKG_HOME``), ``endpoint_url``, ``region``, ``profile`` (S3),
``maxPartitionBytes`` (default 128 MiB). Every fragment is hashed before its
first use in an executor (the one reader, :mod:`lakepkg.read.arrow_scan`); the
old ``verify`` option is accepted and ignored, with a DeprecationWarning.
"""
from __future__ import annotations

import sys
from types import FrameType
from typing import Any, Iterator, Optional

import pyarrow as pa
from pyspark.sql.datasource import (DataSource, DataSourceReader, EqualNullSafe, EqualTo, GreaterThan,
                                    GreaterThanOrEqual, In, InputPartition, LessThan, LessThanOrEqual,
                                    StringStartsWith)

from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.read.package import Table, load_table
from lakepkg.read.scan import FragmentTask, ScanPlan
from lakepkg.spark.types import cast_for_spark, to_spark_schema

NAME = "pkg"
PUSHDOWN_CONF = "spark.sql.python.filterPushdown.enabled"
DEFAULT_PARTITION_BYTES = 128 * 1024 * 1024
REGISTRY_OPTIONS = ("endpoint_url", "region", "profile")


def plan_from_options(options: Any) -> ScanPlan:
    """The pinned plan a DataFrame reads: the ``plan`` option (a :class:`ScanPlan` as JSON, what
    ``lakepkg.spark.read`` and ``to_spark`` pass), else ``path`` resolved here, once, as
    ``lakepkg.load`` does (``spark.read.format("pkg").load("ns/name:tag/table")``)."""
    shipped = options.get("plan")
    if shipped:
        return ScanPlan.from_json(shipped)
    ref = options.get("path")
    if not ref:
        raise ConfigError('no package table given: spark.read.format("pkg").load("ns/name@ref/table")')
    reg_opts = {k: str(options[k]) for k in REGISTRY_OPTIONS if options.get(k)}
    plan = resolve_table(ref, options.get("registry") or None, reg_opts).scan()
    plan.registry_options.update(reg_opts)
    return plan


def resolve_table(ref: str, registry: Optional[str], registry_options: dict[str, str]) -> Table:
    """``ref`` (``ns/name@version/table``, or a one-table package) as a loaded table: the one
    reference resolution (:func:`lakepkg.read.package.load_table`), once per Spark read."""
    return load_table(ref, None, registry, **registry_options)


class PkgDataSource(DataSource):
    """``spark.read.format("pkg")``: read a lakepkg package table.

    The plan is made in ``__init__``, which Spark runs once per DataFrame and then pickles with the
    instance into every later planning step: a reference is resolved once per DataFrame, so a tag
    moved meanwhile changes nothing. Spark runs it at ``load()``, or, when the user gives a schema,
    at the DataFrame's first action (``lakepkg.spark.read`` resolves on the driver at once)."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        try:
            self.plan: ScanPlan = plan_from_options(options)
        except LakepkgError as exc:
            raise _for_spark(exc) from None

    def schema(self) -> Any:
        p = self.plan
        try:
            return to_spark_schema(p.schema.select(p.output_columns) if p.columns else p.schema, p.table)
        except LakepkgError as exc:
            raise _for_spark(exc) from None

    def reader(self, schema: Any) -> DataSourceReader:
        try:
            return self._reader(schema)
        except LakepkgError as exc:
            raise _for_spark(exc) from None

    def _reader(self, schema: Any) -> DataSourceReader:
        columns = [f.name for f in schema.fields]
        plan = self.plan.select(columns)  # unknown columns: a one-line ConfigError
        opts = {k.lower(): v for k, v in self.options.items()}
        target = int(opts.get("maxpartitionbytes", DEFAULT_PARTITION_BYTES))
        if "verify" in opts:  # deprecated: every fragment is hashed before its first use anyway
            import warnings

            warnings.warn("the pkg data source's verify option is deprecated and ignored: every read hashes a "
                          "fragment before its first use", DeprecationWarning, stacklevel=2)
        from pyspark.sql.pandas.types import to_arrow_schema

        # exactly the Arrow schema Spark checks returned batches against
        out = to_arrow_schema(schema, timezone="UTC").serialize().to_pybytes()
        cls = PkgPushdownReader if _pushdown_enabled() else PkgReader
        return cls(plan, out, target)


class _FragmentGroup(InputPartition):
    """One Spark partition: a few of the plan's fragment tasks."""

    def __init__(self, tasks: list[FragmentTask]) -> None:
        super().__init__(len(tasks))
        self.tasks = tasks


class PkgReader(DataSourceReader):
    """Groups the plan's tasks into Spark partitions and reads them as Arrow batches."""

    def __init__(self, plan: ScanPlan, out_schema_ipc: bytes, target_bytes: int) -> None:
        self.plan = plan
        self.out_schema_ipc = out_schema_ipc
        self.target_bytes = max(1, target_bytes)
        self.terms: list[tuple[str, str, Any]] = []  # pushed filters (AND): they refine the pinned plan

    def partitions(self) -> list[InputPartition]:
        if self.terms:  # a re-plan of the pinned table node with the pushed filters, not of a reference
            self.plan = self.plan.refine([self.terms])
        groups: list[InputPartition] = []
        cur: list[FragmentTask] = []
        size = 0
        for task in self.plan.tasks:
            cur.append(task)
            size += task.size
            if size >= self.target_bytes:
                groups.append(_FragmentGroup(cur))
                cur, size = [], 0
        if cur:
            groups.append(_FragmentGroup(cur))
        return groups or [_FragmentGroup([])]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._read(partition)
        except LakepkgError as exc:
            raise _for_spark(exc, f"cannot read {self.plan.ref}/{self.plan.table}: ") from None

    def _read(self, partition: Any) -> Iterator[pa.RecordBatch]:
        target = pa.ipc.read_schema(pa.py_buffer(self.out_schema_ipc))
        for batch in self.plan.reader().to_batches(partition.tasks):  # the one reader
            yield cast_for_spark(batch, target)


class PkgPushdownReader(PkgReader):
    """A reader that also receives Spark's filters, to prune fragments and row groups."""

    def pushFilters(self, filters: list[Any]) -> Iterator[Any]:
        names = set(self.plan.schema.names)
        for f in filters:
            term = _term(f, names)
            if term is not None:
                self.terms.extend(term)
            yield f  # Spark re-checks every filter: pruning is only an optimisation


def _for_spark(exc: LakepkgError, prefix: str = "") -> LakepkgError:
    """A copy of ``exc`` raised with no traceback of lakepkg's frames: Spark prints a Python
    worker's exception with its traceback, so the message itself must say what to do."""
    import os
    import sys

    from lakepkg.errors import one_line

    if any(m.startswith("pyspark.sql.worker.") for m in sys.modules):
        # Inside a Spark planner worker (this process only): send the one line, not the Python traceback
        # Spark would print above it (pyspark.util.handle_worker_exception reads this per error).
        os.environ["SPARK_HIDE_TRACEBACK"] = "1"
    return type(exc)(f"lakepkg: {prefix}{one_line(exc, 500)}")


def _term(f: Any, names: set[str]) -> Optional[list[tuple[str, str, Any]]]:
    """A Spark filter as pruning terms in lakepkg's filter form (None: not usable)."""
    attr = getattr(f, "attribute", None)
    if not attr or len(attr) != 1 or attr[0] not in names:
        return None
    col = attr[0]
    ops = {EqualTo: "==", GreaterThan: ">", GreaterThanOrEqual: ">=", LessThan: "<", LessThanOrEqual: "<="}
    for cls, op in ops.items():
        if type(f) is cls:
            value = getattr(f, "value", None)
            return None if value is None else [(col, op, value)]
    if isinstance(f, EqualNullSafe) and f.value is not None:
        return [(col, "==", f.value)]
    if isinstance(f, In) and f.value and all(v is not None for v in f.value):
        return [(col, "in", list(f.value))]
    if isinstance(f, StringStartsWith) and f.value:
        return [(col, ">=", f.value)]
    return None


def _pushdown_enabled() -> bool:
    """Whether Spark will call ``pushFilters`` for this reader.

    Spark refuses a reader that implements ``pushFilters`` when
    ``spark.sql.python.filterPushdown.enabled`` is off, and tells the data
    source nothing about that setting; the planner process that calls
    :meth:`PkgDataSource.reader` does know it (pyspark 4.1-4.3). Unknown
    callers get the plain reader, which is always accepted."""
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.endswith("data_source_pushdown_filters"):
            return True
        if module.endswith("plan_data_source_read"):
            return bool(frame.f_locals.get("enable_pushdown", False))
        frame = frame.f_back
    return False


# -- registration -------------------------------------------------------------------------------

def register(spark: Any) -> None:
    """Register the ``pkg`` data source in ``spark`` and turn on filter pushdown for Python sources.

    An installed lakepkg registers itself when Spark starts (module ``pyspark_lakepkg``);
    this covers editable installs and sessions started before lakepkg was installed. On a local
    master the source's Python workers run the user's ``spark.pyspark.python`` / ``PYSPARK_PYTHON``,
    else this interpreter; one that cannot import lakepkg is a one-line ConfigError
    (:mod:`lakepkg.spark.workers`)."""
    from lakepkg.spark.workers import use_worker_python

    use_worker_python(spark)  # before registering: Spark records the worker Python with the source
    spark.dataSource.register(PkgDataSource)
    spark.conf.set(PUSHDOWN_CONF, "true")
