"""Hive metastore connector: snapshot metastore tables (over Thrift, with hmsclient) into package tables.

    import lakepkg
    res = lakepkg.snapshot("hive", to="sales/orders", metastore="thrift://127.0.0.1:9083",
                           tables=["sales.orders", "sales.cust*"], where="ds >= '2026-11-01'")
    res.top_hash, res.created, res.tables["orders"]["files_read"]

The connector only describes (:meth:`HiveConnector.snapshot_tables` returns
``TableSnapshot``s); the core stores and publishes.

For each table the connector reads the metastore (table, partitions — a
``where`` filter is pushed to the metastore with ``get_partitions_by_filter``),
lists the data files under each table/partition location through pyarrow file
systems (local paths, ``file:`` URIs, ``s3://``/``s3a://``), and hands the core:

* Parquet files byte-for-byte (unchanged files dedup and, on a re-snapshot,
  reuse the previous entries without being read); a Parquet file whose schema
  does not match the table's (older files after a column was added, nested
  nullability) is converted to the table schema instead;
* ORC and text (LazySimpleSerDe, OpenCSVSerde, Spark ``USING csv``) files
  through a converter to Arrow, typed by the table's Hive schema.

The schema is the Hive schema mapped to Arrow (:mod:`lakepkg.metastore.types`),
partition columns last. Views, ACID (transactional) tables, Iceberg tables
and other storage handlers are refused with an error naming the table.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import posixpath
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

import pyarrow as pa
import pyarrow.fs as pafs

from lakepkg.errors import ConfigError, NotFoundError, SchemaMismatchError, SourceError, one_line
from lakepkg.source.connectors import ConnectorOption
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot

from lakepkg.metastore.thrift import call as _call, connect, metastore_label
from lakepkg.metastore.types import hive_schema, partition_path, partition_value, read_text_file, spark_json_to_arrow
from lakepkg.source.filesystems import filesystem_for, list_files, redact, source_file

__all__ = ["HiveConnector", "connector", "snapshot_hive", "connect", "HiveTableInfo", "describe_tables"]

PARTITION_PARAMS = ("transient_lastDdlTime", "numFiles", "totalSize", "numRows")
TABLE_PARAMS = ("transient_lastDdlTime", "numFiles", "totalSize", "numRows", "EXTERNAL")
# Parameters that record *when* the metastore last touched a table or partition, not *what* it holds:
# they change on every DDL (ANALYZE, ALTER ... SET TBLPROPERTIES, re-adding a partition) even when the
# data is the same, so they go to the version record (volatile), never into the hashed table node.
VOLATILE_PARAMS = ("transient_lastDdlTime",)


def _split_params(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``params`` -> (hashed, volatile): DDL timestamps are volatile (DESIGN invariant 5)."""
    hashed = {k: v for k, v in sorted(params.items()) if k not in VOLATILE_PARAMS}
    volatile = {k: v for k, v in sorted(params.items()) if k in VOLATILE_PARAMS}
    return hashed, volatile


# -- table description ------------------------------------------------------------------------

@dataclass
class PartitionInfo:
    values: list[str]               # raw strings as the metastore keeps them
    typed: dict[str, Any]           # JSON scalars, typed by the partition key types
    path: str                       # k=v/k2=v2 (logical folder inside the package table)
    location: str                   # physical location
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class HiveTableInfo:
    """What the connector learnt about one metastore table."""

    database: str
    table: str
    raw: Any                        # the Thrift Table
    format: str                     # parquet | orc | text | opencsv | csv
    location: str
    schema: pa.Schema               # data columns then partition columns
    partition_columns: list[str]
    columns: list[tuple[str, str]]  # Hive (name, type) of data columns
    partition_keys: list[tuple[str, str]]
    serde_params: dict[str, str]
    provider: Optional[str] = None
    partitions: Optional[list[PartitionInfo]] = None   # None: unpartitioned

    @property
    def qualified_name(self) -> str:
        return f"{self.database}.{self.table}"


def _spark_schema(params: dict[str, str]) -> Optional[str]:
    if "spark.sql.sources.schema" in params:
        return params["spark.sql.sources.schema"]
    n = params.get("spark.sql.sources.schema.numParts")
    if n:
        return "".join(params.get(f"spark.sql.sources.schema.part.{i}", "") for i in range(int(n)))
    return None


def _refuse(t: Any, qn: str) -> None:
    params = {k: v for k, v in (t.parameters or {}).items()}
    ttype = (t.tableType or "").upper()
    if ttype in ("VIRTUAL_VIEW", "MATERIALIZED_VIEW"):
        raise SourceError(f"{qn} is a view ({ttype.lower()}); lakepkg snapshots stored data: snapshot the tables "
                          f"it reads, or materialise it with CREATE TABLE ... AS SELECT")
    lower = {k.lower(): str(v).lower() for k, v in params.items()}
    provider = lower.get("spark.sql.sources.provider", "")
    handler = lower.get("storage_handler", "")
    if lower.get("table_type") == "iceberg" or "iceberg" in handler or provider == "iceberg":
        raise SourceError(f"{qn} is an Iceberg table; snapshot it with the iceberg connector "
                          f"(`lakepkg snapshot iceberg`), not through the Hive metastore's files")
    if lower.get("transactional") == "true":
        raise SourceError(f"{qn} is an ACID (transactional) table; its base/delta files cannot be read as a "
                          f"snapshot — copy it to a non-transactional table (CREATE TABLE ... AS SELECT) and snapshot that")
    if handler:
        raise SourceError(f"{qn} uses storage handler {params.get('storage_handler')}; only file-based tables "
                          f"(Parquet, ORC, text) can be snapshotted")
    if provider in ("delta", "hudi", "avro", "json", "jdbc", "text", "binaryfile"):
        raise SourceError(f"{qn} is a Spark {provider} table; lakepkg reads Parquet, ORC and CSV/text tables")
    inp = ((t.sd.inputFormat if t.sd else None) or "").lower()
    if "hoodie" in inp or "hudi" in inp:
        raise SourceError(f"{qn} is a Hudi table ({t.sd.inputFormat}); its folder holds several versions of each "
                          f"file — copy it to a plain Parquet table (CREATE TABLE ... AS SELECT) and snapshot that")
    if "symlinktextinputformat" in inp:
        raise SourceError(f"{qn} is a symlink-manifest table (Delta/Hudi manifest, {t.sd.inputFormat}); its folder "
                          f"is not its data — copy it to a plain Parquet table (CREATE TABLE ... AS SELECT) and snapshot that")


def _format_of(t: Any, provider: Optional[str], qn: str) -> str:
    if provider:
        p = provider.lower().rsplit(".", 1)[-1]
        if "parquet" in p:
            return "parquet"
        if p in ("orc", "orcfileformat") or "orc" in provider.lower():
            return "orc"
        if p in ("csv", "csvfileformat"):
            return "csv"
        if p != "hive":
            raise SourceError(f"{qn} is a Spark {provider} table; lakepkg reads Parquet, ORC and CSV/text tables")
    sd = t.sd
    inp = (sd.inputFormat or "").lower()
    serde = ((sd.serdeInfo and sd.serdeInfo.serializationLib) or "").lower()
    if "parquet" in inp or "parquet" in serde:
        return "parquet"
    if "orc" in inp or "orc" in serde:
        return "orc"
    if "textinputformat" in inp:
        if "opencsvserde" in serde:
            return "opencsv"
        if "lazysimpleserde" in serde or not serde:
            return "text"
        raise SourceError(f"{qn} uses serde {sd.serdeInfo.serializationLib}, which lakepkg cannot read; "
                          f"lakepkg reads Parquet, ORC, LazySimpleSerDe text and OpenCSVSerde tables")
    raise SourceError(f"{qn} is stored as {sd.inputFormat}, which lakepkg cannot read; lakepkg reads Parquet, "
                      f"ORC and text tables")


def _table_info(client: Any, db: str, name: str, where: Optional[str], metastore: str,
                storage_options: Optional[dict[str, Any]]) -> HiveTableInfo:
    qn = f"{db}.{name}"
    t = _call(f"table {qn}", client.get_table, db, name)
    _refuse(t, qn)
    params = dict(t.parameters or {})
    serde_params = dict((t.sd.serdeInfo.parameters if t.sd and t.sd.serdeInfo else None) or {})
    provider = params.get("spark.sql.sources.provider")
    fmt = _format_of(t, provider, qn)
    location = (serde_params.get("path") if provider and provider.lower() != "hive" else None) or t.sd.location
    if not location:
        raise SourceError(f"{qn} has no location in the metastore; it cannot be snapshotted")
    pkeys = [(f.name, f.type) for f in (t.partitionKeys or [])]
    cols = [(f.name, f.type) for f in (t.sd.cols or [])]
    try:
        spark_json = _spark_schema(params) if provider and provider.lower() != "hive" else None
        if spark_json:
            schema = spark_json_to_arrow(spark_json)
            pcols_spark = [params[f"spark.sql.sources.schema.partCol.{i}"]
                           for i in range(int(params.get("spark.sql.sources.schema.numPartCols", "0")))]
            pcols = pcols_spark or [k for k, _ in pkeys]
            schema = pa.schema([f for f in schema if f.name not in pcols] + [schema.field(c) for c in pcols])
        else:
            schema = hive_schema(cols, pkeys)
            pcols = [k.lower() for k, _ in pkeys]
    except SchemaMismatchError as exc:
        raise SchemaMismatchError(f"{qn}: {exc}") from None
    info = HiveTableInfo(db, name, t, fmt, location, schema, pcols, cols, pkeys, serde_params, provider)
    if where and not pkeys:
        raise ConfigError(f"--where filters partitions, but {qn} is not partitioned; snapshot it without --where "
                          f"or in a separate run")
    if pkeys:
        info.partitions = _partitions(client, info, where)
    return info


def _partitions(client: Any, info: HiveTableInfo, where: Optional[str]) -> list[PartitionInfo]:
    qn = info.qualified_name
    db, name = info.database, info.table
    if where:
        parts = _call(f"partition filter {where!r} on {qn} (filter on partition columns "
                      f"{', '.join(info.partition_columns)} with =, <>, <, >, LIKE, AND, OR; quote string values)",
                      client.get_partitions_by_filter, db, name, where, -1)
    else:
        names = _call(f"partitions of {qn}", client.get_partition_names, db, name, -1)
        parts = []
        for i in range(0, len(names), 500):
            parts.extend(_call(f"partitions of {qn}", client.get_partitions_by_names, db, name, names[i:i + 500]))
    keys = [k for k, _ in info.partition_keys]
    types = [info.schema.field(c).type for c in info.partition_columns]
    out = []
    for p in parts:
        vals = list(p.values or [])
        try:
            typed = {c: partition_value(v, ty) for c, v, ty in zip(info.partition_columns, vals, types)}
        except SchemaMismatchError as exc:
            raise SourceError(f"{qn}: {exc}") from None
        ppath = partition_path(keys, vals)
        loc = (p.sd.location if p.sd else None) or posixpath.join(info.location.rstrip("/"), ppath)
        params = {k: str(v) for k, v in (p.parameters or {}).items() if k in PARTITION_PARAMS}
        out.append(PartitionInfo(vals, typed, ppath, loc, params))
    out.sort(key=lambda p: p.path)
    return out


def _resolve_names(client: Any, specs: Sequence[str]) -> list[tuple[str, str]]:
    """``db.table`` and patterns (``sales.*``, ``*.orders``, ``sales.ord?rs``) -> sorted (db, table) pairs."""
    out: list[tuple[str, str]] = []
    dbs_cache: Optional[list[str]] = None
    for spec in specs:
        spec = spec.strip()
        if "." not in spec:
            raise ConfigError(f"table {spec!r}: name it as database.table (or a pattern like sales.*)")
        db, _, tpat = spec.partition(".")
        db, tpat = db.lower(), tpat.lower()
        if any(ch in db for ch in "*?["):
            if dbs_cache is None:
                dbs_cache = _call("databases", client.get_all_databases)
            dbs = [d for d in dbs_cache if fnmatch.fnmatchcase(d.lower(), db)]
        else:
            _call(f"database {db}", client.get_database, db)
            dbs = [db]
        if any(ch in tpat for ch in "*?["):
            found = []
            for d in dbs:
                found.extend((d, t) for t in _call(f"tables of {d}", client.get_all_tables, d)
                             if fnmatch.fnmatchcase(t.lower(), tpat))
            if not found:
                raise NotFoundError(f"no table matches {spec!r} in the metastore; check the pattern")
            out.extend(found)
        else:
            out.extend((d, tpat) for d in dbs)
    seen = set()
    uniq = []
    for pair in out:
        if pair not in seen:
            seen.add(pair)
            uniq.append(pair)
    return sorted(uniq)


def describe_tables(metastore: str, tables: "str | Sequence[str]", where: Optional[str] = None,
                    storage_options: Optional[dict[str, Any]] = None) -> list[HiveTableInfo]:
    """Read the metastore's description of ``tables`` (names or patterns) and their partitions."""
    specs = [tables] if isinstance(tables, str) else list(tables)
    if not specs:
        raise ConfigError("no tables given: name them as database.table or a pattern like sales.*")
    with connect(metastore) as client:
        pairs = _resolve_names(client, specs)
        return [_table_info(client, d, t, where, metastore, storage_options) for d, t in pairs]


# -- converters ---------------------------------------------------------------------------------

def conform(table: pa.Table, schema: pa.Schema, positional: bool = False) -> pa.Table:
    """Select and cast ``table``'s columns to ``schema`` by (case-insensitive) name; missing columns become nulls."""
    by_name = {n.lower(): i for i, n in enumerate(table.column_names)}
    cols = []
    for j, f in enumerate(schema):
        i = by_name.get(f.name.lower())
        if i is None and positional and j < table.num_columns:
            i = j
        if i is None:
            cols.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table.column(i)
        if col.type != f.type:
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaMismatchError(f"column {f.name}: cannot read {col.type} as {f.type} ({one_line(exc, 120)})") from None
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def _logical_equal(a: pa.Schema, b: pa.Schema) -> bool:
    from lakepkg.format.schema_json import logical_schema

    la = logical_schema(a)
    return [(f.name, f.type) for f in la] == [(f.name, f.type) for f in b]


class HiveParquetFile(SourceFile):
    """A Parquet data file stored byte-for-byte when its schema is the table's, converted otherwise.

    The decision reads the file's footer, and happens only when the core actually reads the
    file (an unchanged file of the previous version is reused without being opened)."""

    def __init__(self, *args: Any, expected: Optional[pa.Schema] = None, filesystem: Any = None, **kw: Any) -> None:
        self._expected = expected
        self._fs = filesystem
        self._decided = False
        self._conv: Optional[Callable[[str], pa.Table]] = None
        super().__init__(*args, **kw)

    @property  # type: ignore[override]
    def to_arrow(self) -> Optional[Callable[[str], pa.Table]]:
        if not self._decided:
            self._decided = True
            self._conv = self._decide()
        return self._conv

    @to_arrow.setter
    def to_arrow(self, value: Any) -> None:
        if value is not None:
            self._decided, self._conv = True, value

    def _decide(self) -> Optional[Callable[[str], pa.Table]]:
        import pyarrow.parquet as pq

        if self._expected is None:
            return None
        try:
            if self.local_path is not None:
                got = pq.read_schema(self.local_path)
            else:
                with self._fs.open_input_file(self._source_path) as f:
                    got = pq.read_schema(f)
        except FileNotFoundError:
            raise SourceError(f"source file {self.path} disappeared during the snapshot; re-run it") from None
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(f"source file {self.path} is not a readable Parquet file: {one_line(exc, 160)}") from None
        if _logical_equal(got, self._expected):
            return None
        expected = self._expected
        return lambda p: conform(pq.read_table(p), expected)


def _orc_converter(schema: pa.Schema) -> Callable[[str], pa.Table]:
    def conv(p: str) -> pa.Table:
        import pyarrow.orc as po

        t = po.read_table(p)
        positional = all(n.startswith("_col") for n in t.column_names)
        return conform(t, schema, positional=positional)

    return conv


def _text_converter(schema: pa.Schema, serde: dict[str, str], fmt: str) -> Callable[[str], pa.Table]:
    return lambda p: read_text_file(p, schema, serde, fmt)


# -- snapshots ----------------------------------------------------------------------------------

def _display(fs: pafs.FileSystem, path: str) -> str:
    return f"s3://{path}" if isinstance(fs, pafs.S3FileSystem) else path


def _data_key(rel: str, fmt: str) -> str:
    if fmt == "parquet":
        return rel
    base = rel
    for ext in (".gz", ".bz2", ".deflate", ".snappy", ".zst", ".lz4"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    root, ext = posixpath.splitext(base)
    if ext.lower() in (".orc", ".txt", ".csv", ".tsv", ".dat", ".text"):
        base = root
    return base + ".parquet"


def _filesystem(location: str, storage_options: Optional[dict[str, Any]], what: str) -> tuple[pafs.FileSystem, str]:
    """:func:`filesystem_for`, with errors naming the table or partition whose location it is."""
    try:
        return filesystem_for(location, storage_options)
    except (SourceError, ConfigError) as exc:
        raise type(exc)(f"{what}: {exc}") from None


def _table_snapshot(info: HiveTableInfo, name: str, metastore: str, where: Optional[str],
                    storage_options: Optional[dict[str, Any]]) -> TableSnapshot:
    qn = info.qualified_name
    data_schema = pa.schema([f for f in info.schema if f.name not in info.partition_columns])
    if info.format == "parquet":
        conv = None
    elif info.format == "orc":
        conv = _orc_converter(data_schema)
    else:
        conv = _text_converter(data_schema, info.serde_params, info.format)
    fs, base_path = _filesystem(info.location, storage_options, f"table {qn}")
    locations: list[tuple[str, str, Optional[PartitionInfo]]] = []   # (fs path, logical prefix, partition)
    if info.partitions is None:
        locations.append((base_path, "", None))
    else:
        for p in info.partitions:
            pfs, ppath = _filesystem(p.location, storage_options, f"partition {p.path} of {qn}")
            if type(pfs) is not type(fs):
                raise SourceError(f"{qn}: partition {p.path} is on another file system ({redact(p.location)}) "
                                  f"than the table; lakepkg reads one file system per table")
            locations.append((ppath, p.path, p))

    files: list[SourceFile] = []
    listed: dict[str, tuple[int, Optional[float]]] = {}
    for path, prefix, part in locations:
        what = f"partition {part.path} of {qn}" if part else f"table {qn}"
        # an object store has no folders: an empty partition's prefix does not "exist" (as Hive and Spark
        # read it: empty); on a file system a missing folder is a broken partition and an error
        infos = list_files(fs, path, what, must_exist=not isinstance(fs, pafs.S3FileSystem))
        base = path.rstrip("/") + "/"
        for fi in infos:
            rel = fi.path[len(base):] if fi.path.startswith(base) else fi.base_name
            key = _data_key(rel, info.format)
            key = f"{prefix}/{key}" if prefix else key
            display = _display(fs, fi.path)
            typed = part.typed if part else {}
            if info.format == "parquet":
                sf = source_file(fs, fi, key, display, partition=typed, cls=HiveParquetFile,
                                 expected=data_schema, filesystem=fs)
                sf._source_path = fi.path
            else:
                sf = source_file(fs, fi, key, display, partition=typed, to_arrow=conv)
            files.append(sf)
            listed[fi.path] = (int(fi.size), fi.mtime_ns)

    t = info.raw
    prov: dict[str, Any] = {
        "source": "hive",
        "metastore": metastore_label(metastore),
        "qualified_name": qn,
        "database": info.database,
        "table": info.table,
        "owner": t.owner,
        "table_type": t.tableType,
        "location": redact(info.location),
        "input_format": t.sd.inputFormat,
        "serde": t.sd.serdeInfo.serializationLib if t.sd.serdeInfo else None,
        "format": info.format,
        "columns": [{"name": n, "type": ty} for n, ty in info.columns],
        "partition_keys": [{"name": n, "type": ty} for n, ty in info.partition_keys],
    }
    table_params, table_volatile = _split_params({k: str(v) for k, v in (t.parameters or {}).items()
                                                  if k in TABLE_PARAMS})
    prov["parameters"] = table_params
    if info.provider:
        prov["spark_provider"] = info.provider
    if where:
        prov["partition_filter"] = where
    if info.partitions is not None:
        prov["partitions"] = [{"values": p.typed, "path": p.path, "location": redact(p.location),
                               "parameters": _split_params(p.parameters)[0]} for p in info.partitions]

    def check_unchanged() -> None:
        """After the data was read: every listed file is still there, same size and mtime."""
        now: dict[str, tuple[int, Optional[float]]] = {}
        for path, prefix, part in locations:
            what = f"partition {part.path} of {qn}" if part else f"table {qn}"
            for fi in list_files(fs, path, what, must_exist=False):
                now[fi.path] = (int(fi.size), fi.mtime_ns)
        for p, (size, mt) in listed.items():
            if p not in now:
                raise SourceError(f"{qn}: file {_display(fs, p)} was deleted during the snapshot; nothing was "
                                  f"published — re-run it when the table is not being written")
            if now[p] != (size, mt):
                raise SourceError(f"{qn}: file {_display(fs, p)} changed during the snapshot; nothing was "
                                  f"published — re-run it when the table is not being written")

    volatile: dict[str, Any] = {"listed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                "files_listed": len(files)}
    if table_volatile:
        volatile["parameters"] = table_volatile
    if info.partitions is not None:
        pvol = {p.path: _split_params(p.parameters)[1] for p in info.partitions}
        pvol = {k: v for k, v in pvol.items() if v}
        if pvol:
            volatile["partition_parameters"] = pvol
    return TableSnapshot(name=name, schema=info.schema, partition_columns=list(info.partition_columns),
                         provenance=prov, volatile=volatile, files=files, on_finish=check_unchanged)


def _package_table_names(infos: list[HiveTableInfo], names: Optional[dict[str, str]]) -> list[str]:
    names = {k.lower(): v for k, v in (names or {}).items()}
    short = [i.table for i in infos]
    out = []
    for i in infos:
        if i.qualified_name.lower() in names:
            out.append(names[i.qualified_name.lower()])
        elif short.count(i.table) > 1:
            out.append(i.qualified_name)
        else:
            out.append(i.table)
    dup = {n for n in out if out.count(n) > 1}
    if dup:
        raise ConfigError(f"two tables would be named {sorted(dup)[0]!r} in the package; give names with "
                          f"--name db.table=NAME")
    return out


class HiveConnector:
    """Snapshot Hive metastore tables (Parquet stored as is; ORC and text converted)

    Connector ``hive``: tables of a Hive metastore (Thrift) as package tables; ``options`` make its
    ``lakepkg snapshot hive`` command."""

    name = "hive"
    options = [
        ConnectorOption("tables", argument=True, multiple=True, required=True,
                        help="Tables as database.table, or patterns like 'sales.*'."),
        ConnectorOption("metastore", envvar="LAKEPKG_METASTORE",
                        help="Thrift URI of the Hive metastore, e.g. thrift://127.0.0.1:9083 (or $LAKEPKG_METASTORE)."),
        ConnectorOption("where", help="Partition filter pushed to the metastore, e.g. \"ds >= '2026-11-01'\"."),
        ConnectorOption("table", short="t", multiple=True,
                        help="NAME=db.table: the package table name for one table (as sql's and files' --table). Repeatable."),
        ConnectorOption("name", multiple=True, hidden=True,
                        help="db.table=NAME: deprecated spelling of --table NAME=db.table."),
        ConnectorOption("s3-endpoint", envvar="AWS_ENDPOINT_URL",
                        help="S3 endpoint URL for s3:// locations (MinIO, moto); credentials come from the AWS environment."),
    ]

    def cli_options(self, values: dict[str, Any]) -> dict[str, Any]:
        """``lakepkg snapshot hive`` values → ``snapshot_tables`` options."""
        if not values["metastore"]:
            raise ConfigError("give --metastore thrift://host:9083 (or set LAKEPKG_METASTORE)")
        from lakepkg.errors import deprecated

        names = {}
        for spec in values.get("table") or []:
            n, sep, src = spec.partition("=")
            if not sep or not n or not src:
                raise ConfigError(f"--table {spec!r}: use NAME=db.table, e.g. --table orders=sales.orders")
            names[src] = n
        for spec in values.get("name") or []:
            deprecated("--name db.table=NAME", "--table NAME=db.table")
            src, sep, n = spec.partition("=")
            if not sep or not n:
                raise ConfigError(f"--name {spec!r}: use db.table=NAME")
            names[src] = n
        endpoint = values["s3_endpoint"]
        return {"metastore": values["metastore"], "tables": list(values["tables"]), "where": values["where"],
                "names": names or None, "storage_options": {"endpoint_url": endpoint} if endpoint else None}

    @staticmethod
    def describe(name: str, facts: dict[str, Any]) -> str:
        """The line ``lakepkg snapshot`` prints for one table."""
        return (f"{name}: {facts.get('files_read', 0)} files read ({facts.get('bytes_read', 0) / 1e6:,.1f} MB), "
                f"{facts.get('files_reused', 0)} reused unchanged")

    def snapshot_tables(self, *, metastore: str, tables: "str | Sequence[str]", where: Optional[str] = None,
                        names: Optional[dict[str, str]] = None,
                        storage_options: Optional[dict[str, Any]] = None, **_: Any) -> list[TableSnapshot]:
        """Describe ``tables`` (``db.table`` or patterns like ``sales.*``) of the metastore at ``metastore``.

        ``where``: a partition filter pushed to the metastore (``ds >= '2026-11-01'``).
        ``names``: ``{"db.table": "package table name"}`` (default: the table name; ``db.table`` when
        two databases have a table of the same name). ``storage_options``: S3 options
        (``endpoint_url``, ``region``, ``key``/``secret``) for ``s3://`` locations.
        All metadata and file listings are read before any data is."""
        infos = describe_tables(metastore, tables, where, storage_options)
        pnames = _package_table_names(infos, names)
        return [_table_snapshot(i, n, metastore, where, storage_options) for i, n in zip(infos, pnames)]


connector = HiveConnector()


def snapshot_hive(tables: "str | Sequence[str]", *, metastore: str, to: str, where: Optional[str] = None,
                  names: Optional[dict[str, str]] = None, registry: Any = None, message: str = "",
                  run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
                  tags: Iterable[str] = (), incremental: bool = True,
                  storage_options: Optional[dict[str, Any]] = None, show_progress: bool = False,
                  meta: Optional[dict[str, Any]] = None) -> Any:
    """Deprecated shortcut (kept for one release): ``lakepkg.snapshot("hive", to=..., metastore=...,
    tables=...)``. A connector only describes; the core stores and publishes and returns its
    ``PublishResult``."""
    warnings.warn("lakepkg_connectors.hive.snapshot_hive is deprecated; use "
                  "lakepkg.snapshot(\"hive\", to=..., metastore=..., tables=...)", DeprecationWarning, stacklevel=2)
    import lakepkg

    return lakepkg.snapshot(connector, to, registry=registry, message=message or "snapshot via hive", run=run,
                            inputs=inputs, tags=tags, incremental=incremental, meta=meta,
                            show_progress=show_progress, metastore=metastore, tables=tables, where=where,
                            names=names, storage_options=storage_options)
