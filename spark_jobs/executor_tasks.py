"""The work executors do: open the registry's object store themselves, write or copy fragments.

Everything here runs inside Spark's Python workers. Each task opens the
registry with :func:`lakepkg.registry.open_registry` (a local folder, or
``s3://bucket/prefix`` through boto3 — never through Spark/Hadoop file
systems), does its part, and hands the driver only small records: entry
lines (``key`` + canonical JSON line) and listing facts. The driver builds
pages, nodes and the root and publishes; nothing here touches the registry's
metadata, so nothing becomes visible from an executor.

A failure becomes :class:`TaskError`, whose message carries a marker the
driver finds in Spark's error text (:mod:`lakepkg_spark_jobs.job_errors`) to
raise the same lakepkg error class with a one-line message, instead of a
worker traceback. Spark's own task retries still apply (a transient S3 error
on a cluster is retried like any task failure).
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow as pa

from lakepkg.write.chunking import ChunkingParams, cut
from lakepkg.errors import LakepkgError, one_line
from lakepkg.store.base import ObjectStore

MARKER = "lakepkg-task-error"

#: what a fragment-writing task returns per fragment (Spark DDL and Arrow schema)
ENTRY_DDL = "key string, line binary"
ENTRY_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("line", pa.binary())])

#: where executors find the registry: its location and the connection options they need (no secrets)
Access = tuple[str, tuple[tuple[str, str], ...]]

_STORES: dict[Access, ObjectStore] = {}

class TaskError(Exception):
    """A task failure the driver turns back into lakepkg error class ``cls`` with ``message``."""

    def __init__(self, cls: str, message: str) -> None:
        super().__init__(f"[{MARKER}:{cls}] {one_line(message, 600)}")


def task_error(exc: BaseException, what: str) -> TaskError:
    """Wrap any exception raised while doing ``what`` on an executor."""
    if isinstance(exc, TaskError):
        return exc
    if isinstance(exc, LakepkgError):
        return TaskError(type(exc).__name__, str(exc))
    return TaskError("", f"{what}: {type(exc).__name__}: {one_line(exc, 300)}")


def executor_store(access: Access) -> ObjectStore:
    """The registry's object store, opened once per Python worker (boto3 clients are reused)."""
    store = _STORES.get(access)
    if store is None:
        from lakepkg.registry import open_registry

        location, options = access
        store = open_registry(location, **dict(options)).store
        _STORES[access] = store
    return store


class RegistryProbe:
    """``mapPartitions`` function: can this executor open the registry's store and see ``digest`` there?"""

    def __init__(self, access: Access, digest: str) -> None:
        self.access = access
        self.digest = digest

    def __call__(self, _items: Iterable[Any]) -> Iterator[bool]:
        try:
            yield executor_store(self.access).has(self.digest)
        except Exception as exc:
            raise task_error(exc, f"opening the registry {self.access[0]}") from None


def fragment_key(bucket: int, digest: str, repeat: int) -> str:
    """Deterministic key of a query fragment: bucket number, then the start of its content hash."""
    tail = f"-{repeat}" if repeat else ""
    return f"part-b{bucket:05d}-{digest[:24]}{tail}.parquet"


def _entry_batch(entries: list[tuple[str, bytes]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([k for k, _ in entries], pa.string()),
                                       pa.array([l for _, l in entries], pa.binary())], schema=ENTRY_SCHEMA)


class QueryFragmentWriter:
    """``mapInArrow`` function: rows sorted by (bucket, key, …) in, fragment entries out.

    Each bucket's rows are cut at content-defined boundaries of the key
    (:func:`lakepkg.write.chunking.cut`, as the SQL connector does) and written with
    :func:`lakepkg.write.fragments.write_fragment` (fixed Parquet settings). A bucket's
    fragments depend only on that bucket's rows, never on how Spark split
    partitions or batches."""

    def __init__(self, access: Access, schema: pa.Schema, key: list[str], params: ChunkingParams,
                 bucket_column: str, what: str) -> None:
        self.access = access
        self.schema = schema
        self.key = key
        self.params = params
        self.bucket_column = bucket_column
        self.what = what

    def _runs(self, batches: Iterable[pa.RecordBatch]) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(bucket, rows of that bucket) slices, in input order, cast to the table schema."""
        for b in batches:
            if b.num_rows == 0:
                continue
            buckets = np.asarray(b.column(self.bucket_column).to_numpy(zero_copy_only=False), dtype=np.int64)
            data = pa.Table.from_batches([b.select(self.schema.names)])
            data = data.cast(self.schema).combine_chunks()
            change = np.flatnonzero(buckets[1:] != buckets[:-1]) + 1
            starts = [0, *change.tolist()]
            ends = [*change.tolist(), b.num_rows]
            for s, e in zip(starts, ends):
                for piece in data.slice(s, e - s).to_batches():
                    yield int(buckets[s]), piece

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from lakepkg.write.fragments import write_fragment

        try:
            store = executor_store(self.access)
            out: list[tuple[str, bytes]] = []
            for bucket, runs in itertools.groupby(self._runs(batches), key=lambda r: r[0]):
                seen: dict[str, int] = {}
                for table in cut((piece for _, piece in runs), self.schema, self.key, self.params):
                    entry = write_fragment(store, table, key="pending")
                    n = seen.get(entry.object, 0)
                    seen[entry.object] = n + 1
                    entry.key = fragment_key(bucket, entry.object, n)
                    out.append((entry.key, entry.line()))
                    if len(out) >= 512:
                        yield _entry_batch(out)
                        out = []
            if out:
                yield _entry_batch(out)
        except Exception as exc:
            raise task_error(exc, f"writing fragments of {self.what}") from None


class FileIngester:
    """``mapPartitions`` function: store source files of lake tables as the single-machine path does.

    Items are cloudpickled shares of ``(table index, file index, SourceFile, previous (listing, entry)
    or None)``. Each table's files in a share go through :func:`lakepkg.write.ingest.ingest_files` — the very
    code ``snapshot_hive`` runs — so Parquet files are copied byte for byte (an unchanged file dedups
    with the single-machine connector), other formats are converted, and unchanged files of the
    previous version are reused without being read. Yields one record per file and one per table
    share."""

    def __init__(self, access: Access, tables: list[dict[str, Any]]) -> None:
        self.access = access
        self.tables = tables

    def __call__(self, shares: Iterable[bytes]) -> Iterator[dict[str, Any]]:
        from pyspark import cloudpickle

        from lakepkg.write.ingest import ingest_files
        from lakepkg.source.table_snapshot import TableSnapshot

        what = "copying source files"
        try:
            store = executor_store(self.access)
            rows = sorted((t for blob in shares for t in cloudpickle.loads(blob)), key=lambda it: (it[0], it[1]))
            for ti, group in itertools.groupby(rows, key=lambda it: it[0]):
                t = self.tables[ti]
                what = f"copying files of table {t['name']!r}"
                share = list(group)
                files = [sf for _, _, sf, _ in share]
                previous = {sf.path: prev for _, _, sf, prev in share if prev is not None}
                snap = TableSnapshot(name=t["name"], schema=t["schema"], partition_columns=t["partition_columns"],
                                     files=files)
                ing = ingest_files(store, snap, previous or None, workers=2,
                                   previous_schema=t.get("previous_schema"))
                lines = {k: line for k, line, _, _ in ing.sorter.sorted_entries()}
                for (_, fi, _, _), listed in zip(share, ing.listing):
                    yield {"kind": "file", "table": ti, "file": fi, "key": listed["key"],
                           "line": lines[listed["key"]], "listing": listed}
                yield {"kind": "share", "table": ti, "stats": dict(vars(ing.stats)),
                       "converted": ing.writer is not None}
        except Exception as exc:
            raise task_error(exc, what) from None
