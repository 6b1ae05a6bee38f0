"""Restore a package table into the lake and register it in a Hive metastore (rollback).

    from lakepkg.metastore.restore import restore_table
    res = restore_table("sales/orders@3fa2c1", table="orders", into="sales.orders_restored",
                        location="/lake/restore/orders", metastore="thrift://127.0.0.1:9083")

The fragments are written under ``location`` in ``key=value`` partition
folders, then an external Parquet table with the snapshot's schema is created
in the metastore and its partitions are added, so Spark and Hive read the same
rows as the snapshot. Column types come from the Hive schema recorded in the
snapshot's provenance when it came from the hive connector (varchar/char kept),
else from the Arrow schema. Nothing is registered unless every file was
written; on a failure the written files are removed again.
"""
from __future__ import annotations

import getpass
import posixpath
import time
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa
import pyarrow.fs as pafs

from lakepkg.errors import ConfigError, LakepkgError, NotFoundError, SourceError, one_line

from lakepkg.metastore.thrift import call as _call, connect
from lakepkg.metastore.types import arrow_to_hive, partition_path, partition_value_to_str
from lakepkg.read.arrow_scan import ArrowScan
from lakepkg.source.filesystems import filesystem_for, redact

__all__ = ["restore_table", "RestoreResult"]

PARQUET_IN = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


@dataclass
class RestoreResult:
    """What :func:`restore_table` did."""

    table: str          # db.table registered in the metastore
    location: str
    source: str         # package ref (name@tophash) and table
    files: int
    bytes: int
    partitions: int
    rows: int

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def _has_nanos(t: pa.DataType) -> bool:
    if pa.types.is_timestamp(t):
        return t.unit == "ns"
    if pa.types.is_struct(t):
        return any(_has_nanos(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _has_nanos(t.value_type)
    if pa.types.is_map(t):
        return _has_nanos(t.key_type) or _has_nanos(t.item_type)
    return False


def _needs_int96(sch: Any) -> bool:
    """True when a fragment's Parquet schema stores nanosecond timestamps as INT64 (unreadable by Spark and Hive)."""
    for i in range(len(sch)):
        lt = str(sch.column(i).logical_type)
        if "Timestamp" in lt and "nanoseconds" in lt:
            return True
    return False


def _columns(tbl: Any, data_fields: list[pa.Field]) -> list[tuple[str, str]]:
    prov = tbl.provenance or {}
    if prov.get("source") == "hive" and prov.get("columns") and not prov.get("spark_provider"):
        recorded = {c["name"].lower(): c["type"] for c in prov["columns"]}
        if all(f.name.lower() in recorded for f in data_fields):
            return [(f.name, recorded[f.name.lower()]) for f in data_fields]
    return [(f.name, arrow_to_hive(f.type, f)) for f in data_fields]


def _pkeys(tbl: Any, fields: list[pa.Field]) -> list[tuple[str, str]]:
    prov = tbl.provenance or {}
    recorded = {c["name"].lower(): c["type"] for c in prov.get("partition_keys") or []}
    return [(f.name, recorded.get(f.name.lower()) or arrow_to_hive(f.type, f)) for f in fields]


def _uri(fs: pafs.FileSystem, path: str, location: str) -> str:
    if isinstance(fs, pafs.LocalFileSystem):
        return "file:" + path
    scheme = location.split(":", 1)[0]
    return f"{scheme}://{path}"


def restore_table(ref: str, *, table: str, into: str, location: str, metastore: str, registry: Any = None,
                  storage_options: Optional[dict[str, Any]] = None, verify: Optional[bool] = None,
                  show_progress: bool = False) -> RestoreResult:
    """Write table ``table`` of package ``ref`` under ``location`` and register it as ``into`` (db.table).

    Every fragment is hashed before it is copied (the one reader); ``verify`` is deprecated and ignored."""
    from hmsclient.genthrift.hive_metastore.ttypes import (FieldSchema, Partition, SerDeInfo,
                                                           StorageDescriptor, Table)

    from lakepkg.read.package import Package, load
    from lakepkg.read.scan import deprecated_verify
    from lakepkg.progress import progress_bar

    deprecated_verify(verify)
    db, dot, name = into.partition(".")
    if not dot or not db or not name or "." in name:
        raise ConfigError(f"--into {into!r}: name the new table as database.table")
    db, name = db.lower(), name.lower()
    pkg = load(ref, registry=registry)
    if not isinstance(pkg, Package):
        raise ConfigError(f"{ref!r} names a node inside a package; give the package reference and --table")
    tbl = pkg.table(table)
    schema: pa.Schema = tbl.schema
    pcols = list(tbl.partition_columns)
    data_fields = [f for f in schema if f.name not in pcols]
    part_fields = [schema.field(c) for c in pcols]
    cols = _columns(tbl, data_fields)
    pkeys = _pkeys(tbl, part_fields)
    nanos = any(_has_nanos(f.type) for f in data_fields)

    fs, base = filesystem_for(location, storage_options)
    base = base.rstrip("/")
    with connect(metastore) as client:
        _call(f"database {db}", client.get_database, db)
        try:
            _call(f"table {db}.{name}", client.get_table, db, name)
        except NotFoundError:
            pass
        else:
            raise ConfigError(f"table {db}.{name} already exists in the metastore; choose another --into or drop it first")
        info = fs.get_file_info(base)
        if info.type == pafs.FileType.File:
            raise ConfigError(f"--location {redact(location)} is a file; give an empty folder")
        if info.type == pafs.FileType.Directory and fs.get_file_info(pafs.FileSelector(base, recursive=False)):
            raise ConfigError(f"--location {redact(location)} is not empty; give an empty or new folder")

        entries = list(tbl.iter_entries())
        written: list[str] = []
        parts: dict[tuple, list[str]] = {}
        nbytes = rows = 0
        try:
            fs.create_dir(base, recursive=True)
            with progress_bar(f"restore {table}", total=len(entries), enabled=show_progress) as bar:
                for i, d in enumerate(entries):
                    pv = d.get("partition") or {}
                    vals = [partition_value_to_str(pv.get(c)) for c in pcols]
                    folder = partition_path(pcols, vals) if pcols else ""
                    key = d["key"]
                    rest = key[len(folder) + 1:] if folder and key.startswith(folder + "/") else \
                        (posixpath.basename(key) if folder else key)
                    dest = posixpath.join(base, folder, rest) if folder else posixpath.join(base, rest)
                    if pcols:
                        parts.setdefault(tuple(vals), vals)
                    fs.create_dir(posixpath.dirname(dest), recursive=True)
                    _write_fragment(pkg.store, d, fs, dest, nanos)
                    written.append(dest)
                    nbytes += int(d.get("size") or 0)
                    rows += int(d.get("rows") or 0)
                    bar(i + 1, nbytes)
            sd = StorageDescriptor(
                cols=[FieldSchema(n, t, None) for n, t in cols], location=_uri(fs, base, location),
                inputFormat=PARQUET_IN, outputFormat=PARQUET_OUT, compressed=False, numBuckets=-1,
                serdeInfo=SerDeInfo(None, PARQUET_SERDE, {"serialization.format": "1"}),
                bucketCols=[], sortCols=[], parameters={}, storedAsSubDirectories=False)
            now = int(time.time())
            t = Table(tableName=name, dbName=db, owner=getpass.getuser(), createTime=now, lastAccessTime=0,
                      retention=0, sd=sd, partitionKeys=[FieldSchema(n, ty, None) for n, ty in pkeys],
                      parameters={"EXTERNAL": "TRUE", "lakepkg.source": f"{pkg.name}@{pkg.top_hash}",
                                  "lakepkg.table": table},
                      tableType="EXTERNAL_TABLE")
            _call(f"create table {db}.{name}", client.create_table, t)
            try:
                plist = []
                for vals in sorted(parts.values()):
                    psd = _copy_sd(sd)
                    psd.location = _uri(fs, posixpath.join(base, partition_path(pcols, vals)), location)
                    plist.append(Partition(values=list(vals), dbName=db, tableName=name, createTime=now,
                                           lastAccessTime=0, sd=psd, parameters={}))
                for i in range(0, len(plist), 500):
                    _call(f"add partitions to {db}.{name}", client.add_partitions, plist[i:i + 500])
            except BaseException:
                try:
                    client.drop_table(db, name, False)
                except Exception:
                    pass
                raise
        except BaseException as exc:
            for p in written:
                try:
                    fs.delete_file(p)
                except OSError:
                    pass
            if isinstance(exc, LakepkgError) or not isinstance(exc, Exception):
                raise
            raise SourceError(f"restore of {table} into {db}.{name} failed: {one_line(exc, 200)}; nothing was registered") from None
    return RestoreResult(f"{db}.{name}", redact(location), f"{pkg.name}@{pkg.top_hash}/{table}", len(written),
                         nbytes, len(parts), rows)


def _copy_sd(sd: Any) -> Any:
    import copy

    return copy.copy(sd)


def _write_fragment(store: Any, d: dict[str, Any], fs: pafs.FileSystem, dest: str, nanos: bool) -> None:
    """Copy one stored fragment to ``dest`` (nanosecond timestamps rewritten as INT96 for Spark/Hive;
    a fragment with a deletion vector as its live rows only), from bytes the one reader checked."""
    import pyarrow.parquet as pq

    reader = ArrowScan(store, pa.schema([]))
    if d.get("deletes") or (nanos and _needs_int96(reader.file_metadata(d).schema)):
        table = reader.read_stored(d, live=True)  # a deletion vector: the live rows only
        with fs.open_output_stream(dest) as out:
            pq.write_table(table, out, use_deprecated_int96_timestamps=nanos, compression="zstd")
        return
    with open(reader.path(d), "rb") as src, fs.open_output_stream(dest) as out:  # hashed before this copy
        while True:
            buf = src.read(8 << 20)
            if not buf:
                break
            out.write(buf)
