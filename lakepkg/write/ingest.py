"""Turning a :class:`TableSnapshot` into stored fragments and entries.

Files: Parquet is stored byte-for-byte (an unchanged file dedups); other
formats go through the snapshot's converter. A previous version's listing
(path, size, mtime, etag) lets an unchanged file reuse its entry without
being read. Batches: cut into fragments (:mod:`lakepkg.write.chunking`) and written
with fixed settings.
"""
from __future__ import annotations

import os
import threading
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from lakepkg.write.chunking import ChunkingParams, cut
from lakepkg.errors import IntegrityError, LakepkgError, SourceError, one_line
from lakepkg.write.fragments import check_schema, describe_parquet, with_vector, write_fragment, writer_settings
from lakepkg.format.manifest import Entry, EntrySorter
from lakepkg.format.names import safe_key
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot
from lakepkg.store.base import ObjectStore

Progress = Callable[[int, int], None]  # (items done, bytes done)


@dataclass
class IngestStats:
    files_read: int = 0
    files_reused: int = 0
    bytes_read: int = 0
    objects_written: int = 0
    bytes_written: int = 0


@dataclass
class IngestedTable:
    snapshot: TableSnapshot
    schema: pa.Schema
    sorter: EntrySorter
    listing: list[dict[str, Any]] = field(default_factory=list)
    writer: Optional[dict[str, Any]] = None
    stats: IngestStats = field(default_factory=IngestStats)


def _data_schema(full: Optional[pa.Schema], partition_columns: list[str]) -> Optional[pa.Schema]:
    if full is None:
        return None
    return pa.schema([f for f in full if f.name not in partition_columns])


def _copy_to_temp(sf: SourceFile) -> str:
    fd, tmp = tempfile.mkstemp(prefix="lakepkg-src-")
    try:
        with os.fdopen(fd, "wb") as out, sf.open() as src:
            shutil.copyfileobj(src, out, 4 * 1024 * 1024)
    except FileNotFoundError:
        os.unlink(tmp)
        raise SourceError(f"source file {sf.path} disappeared during the snapshot; re-run it") from None
    except OSError as exc:
        os.unlink(tmp)
        raise SourceError(f"cannot read source file {sf.path}: {one_line(exc)}") from None
    return tmp


def ingest_files(
    store: ObjectStore,
    snap: TableSnapshot,
    previous: Optional[dict[str, tuple[dict[str, Any], dict[str, Any]]]] = None,
    progress: Optional[Progress] = None,
    workers: int = 4,
    previous_schema: Optional[pa.Schema] = None,
) -> IngestedTable:
    """Store a snapshot's files. ``previous``: source path -> (listing, entry JSON) of the last version."""
    assert snap.files is not None
    data_schema = _data_schema(snap.schema, snap.partition_columns)
    sorter = EntrySorter(f"table {snap.name!r}")
    stats = IngestStats()
    listing: list[dict[str, Any]] = []
    if data_schema is None and previous and previous_schema is not None:
        # files reused from the previous version are not read: their schema is the previous table's
        data_schema = _data_schema(previous_schema, snap.partition_columns)
    seen_schema: list[Optional[pa.Schema]] = [data_schema]
    converted = [False]
    # ``one`` runs on worker threads: the schema check-and-set and the counters are read-modify-writes
    lock = threading.Lock()

    def check(schema: pa.Schema, sf: SourceFile) -> None:
        with lock:
            seen_schema[0] = check_schema(snap.name, seen_schema[0], schema, f"file {sf.path}")

    def count_written(size: int, written: bool) -> None:
        with lock:
            stats.objects_written += int(written)
            stats.bytes_written += size if written else 0

    def one(sf: SourceFile) -> tuple[SourceFile, Entry, bool, bool]:  # (file, entry, reused, converted)
        key = safe_key(sf.key)
        if previous is not None and sf.path in previous:
            prev_listing, prev_entry = previous[sf.path]
            now = sf.listing()
            if {k: prev_listing.get(k) for k in now} == now and (sf.mtime is not None or sf.etag is not None):
                e = Entry.from_json(prev_entry)
                e.key = key
                # a reused converted file keeps the table's writer settings (same source, same node)
                return sf, e, True, bool(prev_listing.get("converted"))
        if sf.local_path is not None and sf.to_arrow is None:
            return sf, _with_deletes(sf, _store_local_parquet(sf, key)), False, False
        tmp = _copy_to_temp(sf)
        try:
            if sf.to_arrow is not None:
                try:
                    table = sf.to_arrow(tmp)
                except LakepkgError:
                    raise
                except Exception as exc:  # a converter error is the source's fault
                    raise SourceError(f"cannot convert {sf.path} to Parquet: {one_line(exc)}") from None
                check(table.schema, sf)
                entry = write_fragment(store, table, key, partition=sf.partition or None)
                return sf, entry, False, True
            desc = describe_parquet(tmp, what=f"source file {sf.path}")
            check(desc.schema, sf)
            digest, size, written = store.put_file(tmp)
            if size != sf.size:
                raise SourceError(f"source file {sf.path} changed during the snapshot (size {sf.size} -> {size}); re-run it")
            count_written(size, written)
            return sf, _with_deletes(sf, Entry(key=key, object=digest, size=size, rows=desc.rows,
                                               partition=sf.partition or None, stats=desc.stats or None)), False, False
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _with_deletes(sf: SourceFile, entry: Entry) -> Entry:
        """A file the source deleted rows from keeps its bytes and gets a deletion vector."""
        if sf.deleted_positions is None or not len(sf.deleted_positions):
            return entry
        import numpy as np

        pos = np.unique(np.asarray(sf.deleted_positions, dtype=np.int64))
        physical = int(entry.rows or 0)
        if pos[0] < 0 or pos[-1] >= physical:
            raise SourceError(f"source file {sf.path} has {physical} rows but its deletes name position "
                              f"{int(pos[-1] if pos[-1] >= physical else pos[0])}; the source's delete files do "
                              "not fit its data files")
        d = with_vector(store, entry.to_json(), pos, physical)
        count_written(int(d["deletes"]["size"]), True)
        return Entry.from_json(d)

    def _store_local_parquet(sf: SourceFile, key: str) -> Entry:
        assert sf.local_path is not None  # only called for files with a local path
        try:
            desc = describe_parquet(sf.local_path, what=f"source file {sf.path}")
            check(desc.schema, sf)
            digest, size, written = store.put_file(sf.local_path)  # hashed while copied: one read
        except FileNotFoundError:
            raise SourceError(f"source file {sf.path} disappeared during the snapshot; re-run it") from None
        if size != sf.size:
            raise SourceError(f"source file {sf.path} changed during the snapshot (size {sf.size} -> {size}); re-run it")
        count_written(size, written)
        return Entry(key=key, object=digest, size=size, rows=desc.rows, partition=sf.partition or None,
                     stats=desc.stats or None)

    done = 0
    nbytes = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for sf, entry, reused, was_converted in pool.map(one, snap.files):
            sorter.add(entry)
            converted[0] = converted[0] or was_converted
            listing.append({**sf.listing(), "key": entry.key, **({"converted": True} if was_converted else {})})
            if reused:
                stats.files_reused += 1
            else:
                stats.files_read += 1
                stats.bytes_read += sf.size
            done += 1
            nbytes += sf.size
            if progress:
                progress(done, nbytes)
    schema = snap.schema if snap.schema is not None else seen_schema[0]
    if snap.schema is None and schema is not None and snap.partition_columns and previous_schema is not None:
        schema = pa.schema(list(schema) + [previous_schema.field(c) for c in snap.partition_columns
                                           if c in previous_schema.names and c not in schema.names])
    if schema is None:
        raise SourceError(f"table {snap.name!r} has no files and no schema; nothing to snapshot")
    return IngestedTable(snap, schema, sorter, listing, writer_settings() if converted[0] else None, stats)


def ingest_batches(
    store: ObjectStore,
    snap: TableSnapshot,
    progress: Optional[Progress] = None,
    params: ChunkingParams = ChunkingParams(),
    fixed_rows: int = 1_048_576,
) -> IngestedTable:
    """Cut a snapshot's record batches into fragments and store them."""
    assert snap.batches is not None
    if snap.chunking is not None:
        params = snap.chunking
    sorter = EntrySorter(f"table {snap.name!r}")
    stats = IngestStats()
    schema = snap.schema
    batches = iter(snap.batches)
    first: list[pa.RecordBatch] = []
    if schema is None:
        for b in batches:
            first.append(b)
            schema = b.schema
            break
    if schema is None:
        raise SourceError(f"table {snap.name!r} produced no data and no schema")

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield from first
        yield from batches

    rows = 0
    for table in cut(all_batches(), schema, snap.key_columns, params, fixed_rows):
        entry = write_fragment(store, table, key="pending")
        entry.key = f"part-{entry.object[:24]}.parquet"
        sorter.add(entry)
        stats.objects_written += 1
        stats.bytes_written += entry.size
        rows += table.num_rows
        if progress:
            progress(rows, stats.bytes_written)
    writer = writer_settings()
    if snap.key_columns:
        writer["chunking"] = params.to_json()
        writer["key"] = list(snap.key_columns)
    else:
        writer["chunking"] = {"method": "fixed-rows", "rows": fixed_rows}
    return IngestedTable(snap, schema, sorter, [], writer, stats)


def ingest_arrow(
    store: ObjectStore,
    name: str,
    table: pa.Table,
    partition_cols: Optional[list[str]] = None,
    rows_per_fragment: int = 1_048_576,
) -> IngestedTable:
    """Store an in-memory Arrow table (from pandas or Arrow), split by partition columns."""
    pcols = list(partition_cols or [])
    sorter = EntrySorter(f"table {name!r}")
    stats = IngestStats()
    for c in pcols:
        if c not in table.column_names:
            raise IntegrityError(f"partition column {c!r} is not a column of table {name!r}")
    data_cols = [c for c in table.column_names if c not in pcols]
    if pcols:
        groups = table.group_by(pcols, use_threads=False).aggregate([]).to_pylist()
        import pyarrow.compute as pc

        for g in sorted(groups, key=lambda d: [str(d[c]) for c in pcols]):
            mask = None
            for c in pcols:
                m = pc.is_null(table[c]) if g[c] is None else pc.equal(table[c], pa.scalar(g[c], table.schema.field(c).type))
                mask = m if mask is None else pc.and_(mask, m)
            part = table.filter(mask).select(data_cols)
            pvals = {c: _json_scalar(g[c]) for c in pcols}
            prefix = "/".join(f"{c}={'__NULL__' if g[c] is None else _json_scalar(g[c])}" for c in pcols)
            for i, off in enumerate(range(0, max(part.num_rows, 1), rows_per_fragment)):
                e = write_fragment(store, part.slice(off, rows_per_fragment), key=f"{prefix}/part-{i:05d}.parquet", partition=pvals)
                sorter.add(e)
                stats.objects_written += 1
                stats.bytes_written += e.size
    else:
        for i, off in enumerate(range(0, max(table.num_rows, 1), rows_per_fragment)):
            e = write_fragment(store, table.slice(off, rows_per_fragment), key=f"part-{i:05d}.parquet")
            sorter.add(e)
            stats.objects_written += 1
            stats.bytes_written += e.size
    from lakepkg.format.schema_json import logical_schema

    return IngestedTable(TableSnapshot(name=name, partition_columns=pcols), logical_schema(table.schema), sorter, [],
                         writer_settings(), stats)


def _json_scalar(v: Any) -> Any:
    import datetime as dt
    import decimal

    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return v
