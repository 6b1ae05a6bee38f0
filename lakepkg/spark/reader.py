"""The ``pkg`` Spark data source: a package table as a distributed DataFrame.

    df = spark.read.format("pkg").load("sales/orders@3fa2c1/orders")
    df = spark.read.format("pkg").option("registry", "s3://bucket/team").load("sales/orders:prod/orders")
    df = lakepkg.load("sales/orders@3fa2c1")["orders"].to_spark(spark)

Planning (on the driver, in a Python planner process) resolves the reference
once: the top hash and table node are pinned, so every task reads the same
version even if a tag moves meanwhile. Fragments are grouped into Spark
partitions of about ``maxPartitionBytes`` each. Filters Spark pushes
(``spark.sql.python.filterPushdown.enabled``) prune fragments by partition
values and min/max statistics and skip Parquet row groups; Spark still
re-checks them, so pruning never changes an answer. A user schema
(``.schema("id long, ds string")``) that names a subset of the columns reads
only those columns.

Executors read objects through lakepkg's own store (local folder or S3 with
boto3, hash-checked into the local cache), so no Hadoop S3 jars are needed.

Options: ``path`` (the reference), ``registry`` (else ``$LAKEPKG_REGISTRY`` /
``$LAKEPKG_HOME``), ``endpoint_url``, ``region``, ``profile`` (S3),
``maxPartitionBytes`` (default 128 MiB), ``verify`` (re-hash local objects
before reading; downloads are always checked).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import pyarrow as pa
from pyspark.sql.datasource import (DataSource, DataSourceReader, EqualNullSafe, EqualTo, GreaterThan,
                                    GreaterThanOrEqual, In, InputPartition, LessThan, LessThanOrEqual,
                                    StringStartsWith)

from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.spark.types import cast_for_spark, to_spark_schema

NAME = "pkg"
PUSHDOWN_CONF = "spark.sql.python.filterPushdown.enabled"
DEFAULT_PARTITION_BYTES = 128 * 1024 * 1024
_REGISTRY_OPTIONS = ("endpoint_url", "region", "profile")


@dataclass(frozen=True)
class _Pinned:
    """What planning resolved: enough for any process to read the exact version."""

    registry: str
    registry_options: tuple[tuple[str, str], ...]
    ref: str
    top_hash: str
    table: str
    node_hash: str
    partition_columns: tuple[str, ...]
    schema_ipc: bytes  # the table's Arrow schema (IPC bytes: picklable, exact)

    def open_store(self) -> Any:
        """The registry's object store, opened once per process (executors reuse it across tasks)."""
        key = (self.registry, self.registry_options)
        if key not in _STORES:
            from lakepkg.registry import open_registry

            _STORES[key] = open_registry(self.registry, **dict(self.registry_options)).store
        return _STORES[key]

    @property
    def schema(self) -> pa.Schema:
        return pa.ipc.read_schema(pa.py_buffer(self.schema_ipc))


_STORES: dict[Any, Any] = {}


def _pin(options: Any) -> _Pinned:
    """Resolve ``options['path']`` to a pinned table (raises lakepkg errors), as ``lakepkg.load`` does."""
    from lakepkg.read.package import Package, Table, load
    from lakepkg.registry import open_registry

    ref = options.get("path")
    if not ref:
        raise ConfigError('no package table given: spark.read.format("pkg").load("ns/name@ref/table")')
    reg_opts = tuple(sorted((k, str(options[k])) for k in _REGISTRY_OPTIONS if options.get(k)))
    node = load(ref, open_registry(options.get("registry") or None, **dict(reg_opts)))
    if isinstance(node, Package):
        if len(node.tables) != 1:
            raise ConfigError(f"{ref} has {len(node.tables)} tables ({', '.join(node.tables) or 'none'}); "
                              f"load one of them: {ref}/<table>")
        node = node.table(node.tables[0])
    if not isinstance(node, Table):
        raise ConfigError(f"{ref} is a {type(node).__name__.lower()}, not a table; Spark reads package tables "
                          f"(read a single fragment or file with lakepkg.load(...).to_pandas())")
    reg = node.package.registry
    return _Pinned(reg.location, reg_opts, ref, node.package.top_hash, node.name, node.hash,
                   tuple(node.partition_columns), node.schema.serialize().to_pybytes())


class PkgDataSource(DataSource):
    """``spark.read.format("pkg")``: read a lakepkg package table."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._pinned: Optional[_Pinned] = None

    def pinned(self) -> _Pinned:
        if self._pinned is None:
            try:
                self._pinned = _pin(self.options)
            except LakepkgError as exc:
                raise _for_spark(exc) from None
        return self._pinned

    def schema(self) -> Any:
        p = self.pinned()
        try:
            return to_spark_schema(p.schema, p.table)
        except LakepkgError as exc:
            raise _for_spark(exc) from None

    def reader(self, schema: Any) -> DataSourceReader:
        try:
            return self._reader(schema)
        except LakepkgError as exc:
            raise _for_spark(exc) from None

    def _reader(self, schema: Any) -> DataSourceReader:
        p = self.pinned()
        columns = [f.name for f in schema.fields]
        missing = [c for c in columns if c not in p.schema.names]
        if missing:
            raise ConfigError(f"table {p.table!r} of {p.ref} has no column(s) {', '.join(missing)}; "
                              f"its columns: {', '.join(p.schema.names)}")
        opts = {k.lower(): v for k, v in self.options.items()}
        target = int(opts.get("maxpartitionbytes", DEFAULT_PARTITION_BYTES))
        verify = str(opts.get("verify", "false")).lower() == "true"
        from pyspark.sql.pandas.types import to_arrow_schema

        # exactly the Arrow schema Spark checks returned batches against
        out = to_arrow_schema(schema, timezone="UTC").serialize().to_pybytes()
        cls = PkgPushdownReader if _pushdown_enabled() else PkgReader
        return cls(p, columns, out, target, verify)


class _FragmentGroup(InputPartition):
    """One Spark partition: a few fragments (entry dicts) of the table."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        super().__init__(len(entries))
        self.entries = entries


class PkgReader(DataSourceReader):
    """Plans fragment groups and reads them as Arrow batches."""

    def __init__(self, pinned: _Pinned, columns: list[str], out_schema_ipc: bytes, target_bytes: int,
                 verify: bool) -> None:
        self.pinned = pinned
        self.columns = columns
        self.out_schema_ipc = out_schema_ipc
        self.target_bytes = max(1, target_bytes)
        self.verify = verify
        self.terms: list[tuple[str, str, Any]] = []  # pruning terms (AND), from pushed filters

    def partitions(self) -> list[InputPartition]:
        from lakepkg.format.manifest import load_table_node, read_page_raw
        from lakepkg.read.filters import entry_may_match

        store = self.pinned.open_store()
        node = load_table_node(store, self.pinned.node_hash)
        schema = self.pinned.schema
        groups: list[InputPartition] = []
        cur: list[dict[str, Any]] = []
        size = 0
        for page in node.pages:
            for d in read_page_raw(store, page):
                if self.terms and not entry_may_match(d, [self.terms], schema):
                    continue
                cur.append({k: d[k] for k in ("key", "object", "size", "partition", "rows", "deletes") if k in d})
                size += d.get("size", 0)
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
            raise _for_spark(exc, f"cannot read {self.pinned.ref}/{self.pinned.table}: ") from None

    def _read(self, partition: Any) -> Iterator[pa.RecordBatch]:
        import pyarrow.dataset as ds

        from lakepkg.read.filters import partition_array, to_expression

        store = self.pinned.open_store()
        full = self.pinned.schema
        pcols = set(self.pinned.partition_columns)
        target = pa.ipc.read_schema(pa.py_buffer(self.out_schema_ipc))
        data_cols = [c for c in self.columns if c not in pcols]
        data_terms = [t for t in self.terms if t[0] not in pcols]
        expr = to_expression(data_terms) if data_terms else None
        file_schema = pa.schema([f for f in full if f.name not in pcols])
        for e in partition.entries:
            path = _local_copy(store, e, self.verify)
            if e.get("deletes"):  # positions name rows of the whole file: drop them before filtering
                from lakepkg.read.deletes import read_fragment

                live = read_fragment(store, e, path, columns=data_cols, table=self.pinned.table)
                fragment = ds.InMemoryDataset(live.cast(pa.schema([file_schema.field(c) for c in data_cols])))
            else:
                fragment = ds.dataset(path, format="parquet", schema=file_schema)
            pvals = e.get("partition") or {}
            for batch in fragment.to_batches(columns=data_cols, filter=expr, batch_size=65536):
                arrays = []
                for c in self.columns:
                    if c in pcols:
                        arrays.append(partition_array(full.field(c).type, pvals.get(c), batch.num_rows))
                    else:
                        arrays.append(batch.column(batch.schema.get_field_index(c)))
                yield cast_for_spark(pa.RecordBatch.from_arrays(arrays, names=self.columns), target)


class PkgPushdownReader(PkgReader):
    """A reader that also receives Spark's filters, to prune fragments and row groups."""

    def pushFilters(self, filters: list[Any]) -> Iterator[Any]:
        names = set(self.pinned.schema.names)
        for f in filters:
            term = _term(f, names)
            if term is not None:
                self.terms.extend(term)
            yield f  # Spark re-checks every filter: pruning is only an optimisation


def _for_spark(exc: LakepkgError, prefix: str = "") -> LakepkgError:
    """A copy of ``exc`` raised with no traceback of lakepkg's frames: Spark prints a Python
    worker's exception with its traceback, so the message itself must say what to do."""
    from lakepkg.errors import one_line

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
            return None if f.value is None else [(col, op, f.value)]
    if isinstance(f, EqualNullSafe) and f.value is not None:
        return [(col, "==", f.value)]
    if isinstance(f, In) and f.value and all(v is not None for v in f.value):
        return [(col, "in", list(f.value))]
    if isinstance(f, StringStartsWith) and f.value:
        return [(col, ">=", f.value)]
    return None


def _local_copy(store: Any, entry: dict[str, Any], verify: bool) -> str:
    from lakepkg.errors import IntegrityError, NotFoundError
    from lakepkg.store.base import hash_file

    path = store.local_path(entry["object"])
    if path is None:
        raise NotFoundError(f"object {entry['object'][:12]} ({entry['key']}) is not in {store.location}")
    if verify and hash_file(path)[0] != entry["object"]:
        raise IntegrityError(f"object {entry['object'][:12]} ({entry['key']}) is corrupt; run `lakepkg verify`")
    return path


def _pushdown_enabled() -> bool:
    """Whether Spark will call ``pushFilters`` for this reader.

    Spark refuses a reader that implements ``pushFilters`` when
    ``spark.sql.python.filterPushdown.enabled`` is off, and tells the data
    source nothing about that setting; the planner process that calls
    :meth:`PkgDataSource.reader` does know it (pyspark 4.1-4.3). Unknown
    callers get the plain reader, which is always accepted."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.endswith("data_source_pushdown_filters"):
            return True
        if module.endswith("plan_data_source_read"):
            return bool(frame.f_locals.get("enable_pushdown", False))
        frame = frame.f_back
    return False


# -- the Python API ----------------------------------------------------------------------------

def register(spark: Any) -> None:
    """Register the ``pkg`` data source in ``spark`` and turn on filter pushdown for Python sources.

    An installed lakepkg registers itself when Spark starts (module ``pyspark_lakepkg``);
    this covers editable installs and sessions started before lakepkg was installed."""
    spark.dataSource.register(PkgDataSource)
    spark.conf.set(PUSHDOWN_CONF, "true")


def read(spark: Any, ref: str, registry: Optional[str] = None, columns: Optional[list[str]] = None,
         **options: str) -> Any:
    """``spark.read.format("pkg").load(ref)``, with the reference resolved here first: a missing
    package, version or table is a one-line lakepkg error rather than a Spark planning error, and
    the DataFrame reads the version current now, whatever its tags do later."""
    from lakepkg.format.names import parse_ref

    opts = {k: v for k, v in {"registry": registry, **options}.items() if v is not None}
    pinned = _pin({**opts, "path": ref})
    register(spark)
    r = spark.read.format(NAME).options(**opts)
    if columns is None:
        to_spark_schema(pinned.schema, pinned.table)  # a type Spark cannot hold: say so here
    else:
        pinned_cols = pa.schema([pinned.schema.field(c) for c in columns if c in pinned.schema.names])
        full = to_spark_schema(pinned_cols, pinned.table)
        unknown = [c for c in columns if c not in full.names]
        if unknown:
            raise ConfigError(f"table {pinned.table!r} has no column(s) {', '.join(unknown)}; "
                              f"its columns: {', '.join(pinned.schema.names)}")
        from pyspark.sql.types import StructType

        r = r.schema(StructType([full[c] for c in columns]))
    return r.load(f"{parse_ref(ref).name}@{pinned.top_hash}/{pinned.table}")


def registry_options(registry: Any) -> dict[str, str]:
    """The connection options of an opened registry that executors need to open it too."""
    conn = getattr(registry.store, "conn", None)
    endpoint = getattr(conn, "endpoint_url", None)
    return {"endpoint_url": endpoint} if endpoint else {}


def table_to_spark(spark: Any, table: Any, columns: Optional[list[str]] = None,
                   native: Optional[bool] = None) -> Any:
    """A Spark DataFrame of a loaded :class:`lakepkg.read.package.Table` (its exact version).

    ``native`` (default: when the registry is a local folder and Spark runs ``local[...]``): scan
    the fragments with Spark's own Parquet reader through a view (:mod:`lakepkg.spark.local_view`),
    which prunes columns natively; otherwise read through the ``pkg`` data source."""
    pkg = table.package
    if not pkg.name:
        raise ConfigError("this table was not loaded through a package name; load it with lakepkg.load('ns/name@ref')")
    if native is not False and str(spark.sparkContext.master).startswith("local"):
        from lakepkg.spark.local_view import read_view, table_view

        # Spark's Parquet scan cannot apply deletion vectors: such a table goes through the data source
        view = None if table.has_deletes() else table_view(pkg.store, table)
        if view is not None:
            if columns is not None:
                unknown = [c for c in columns if c not in table.schema.names]
                if unknown:
                    raise ConfigError(f"table {table.name!r} has no column(s) {', '.join(unknown)}; "
                                      f"its columns: {', '.join(table.schema.names)}")
            return read_view(spark, table, view, to_spark_schema(table.schema, table.name), columns)
        if native:
            raise ConfigError(f"table {table.name!r} cannot be read natively (registry {pkg.store.location} is not "
                              f"a local folder, a column type needs lakepkg's conversion, or it has deletion vectors); "
                              "use native=False")
    return read(spark, f"{pkg.name}@{pkg.top_hash}/{table.name}", registry=pkg.registry.location,
                columns=columns, **registry_options(pkg.registry))
