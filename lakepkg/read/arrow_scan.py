"""The one reader: fragment tasks in, Arrow out.

Every byte of a fragment that becomes Arrow passes through this module (in the
shape of pyiceberg's ``ArrowScan``): the read plan's readers, a single
:class:`~lakepkg.read.package.Fragment`, the row diff, where-used and redaction,
restore, the delta base of a keyed re-snapshot, the Spark data source's
executors and native view, ``install --dest`` and the catalog. It guarantees:

* **verified bytes**: a fragment's file is hashed before its first use in the
  process (:meth:`ObjectStore.verified_path <lakepkg.store.base.ObjectStore.verified_path>`:
  hashed on first use, remembered by inode, size and mtime; a file that does not
  hash to its address raises :class:`~lakepkg.errors.IntegrityError`);
* **deletion vectors** applied before anything else (:mod:`lakepkg.read.deletes`):
  a read never returns a deleted row;
* **partition columns** filled from the entry's partition values;
* **column selection** and the **row filter** (``row_filter``: the plan's
  OR-of-ANDs conjunctions).

    scan = ArrowScan(store, schema, partition_columns, table="orders", row_filter=[[("id", "<", 10)]],
                     columns=["id", "amount"])
    scan.to_table(tasks)          # or .to_batches(tasks), .to_dataset(tasks)
    scan.read_task(task)          # one fragment's live rows (no row filter: a leaf reads whole)
    scan.read_stored(task)        # the stored file's rows as written (vector not applied)

``tasks`` are :class:`~lakepkg.read.tasks.FragmentTask` objects or manifest
entries (dicts or :class:`~lakepkg.format.manifest.Entry`).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa

from lakepkg.read.filters import partition_array, py_value, to_expression
from lakepkg.read.tasks import FragmentTask
from lakepkg.store.base import ObjectStore

if TYPE_CHECKING:  # typing only: pyarrow.dataset and pyarrow.parquet load on demand
    import pyarrow.dataset as pads
    import pyarrow.parquet as papq

__all__ = ["ArrowScan", "verified_path", "deletes_memory_pool", "read_stored"]

Conjunctions = list[list[tuple[str, str, Any]]]


def _task(task: Any) -> FragmentTask:
    return FragmentTask.of(task)


def verified_path(store: ObjectStore, entry: Any, table: Optional[str] = None) -> str:
    """A local file holding the bytes of ``entry``'s object (fetched into the cache for a remote store),
    known to hash to the object's address: hashed the first time this process uses it (IntegrityError
    naming the object and ``lakepkg verify`` otherwise; MissingObjectError when it is gone)."""
    t = _task(entry)
    return store.verified_path(t.object, what=f"{table}/{t.key}" if table else t.key)


_POOL: list[Any] = []


def deletes_memory_pool() -> pa.MemoryPool:
    """The Arrow memory pool a read that applies deletion vectors allocates from: jemalloc where
    this pyarrow has it, else pyarrow's default. Such a read makes a second copy of its live rows;
    mimalloc (pyarrow's default on Linux) hands freed pages back at once, so in a fresh process
    that copy page-faults again, while jemalloc reuses them. Reads without vectors keep pyarrow's
    default pool, which decodes faster (bench/RESULTS.md, "deltas"). ``LAKEPKG_MEMORY_POOL=default``
    keeps pyarrow's default for these reads too."""
    if not _POOL:
        pool = pa.default_memory_pool()
        if os.environ.get("LAKEPKG_MEMORY_POOL", "jemalloc").strip().lower() == "jemalloc":
            try:
                pool = pa.jemalloc_memory_pool()
            except (NotImplementedError, AttributeError):  # a pyarrow built without jemalloc
                pass
        _POOL.append(pool)
    return _POOL[0]


def _file_rows(path: str) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def read_stored(store: ObjectStore, entry: Any, table: Optional[str] = None,
                columns: Optional[Sequence[str]] = None) -> pa.Table:
    """The rows of ``entry``'s stored file as written (every position, its vector NOT applied; no
    partition columns), from verified bytes: what a delta re-snapshot and the row-hash index need."""
    import pyarrow.parquet as pq

    return pq.read_table(verified_path(store, entry, table), columns=None if columns is None else list(columns))


class ArrowScan:
    """Fragment tasks of one table → Arrow (see the module docstring).

    ``schema``: the table's schema (partition columns included); ``partition_columns``: the columns
    filled from each entry's partition values; ``table``: its name, for messages; ``row_filter``:
    conjunctions (OR of ANDs) applied to the rows of whole-table reads; ``columns``: the columns
    returned, in that order (None: all)."""

    def __init__(self, store: ObjectStore, schema: pa.Schema, partition_columns: Sequence[str] = (), *,
                 table: Optional[str] = None, row_filter: Optional[Conjunctions] = None,
                 columns: Optional[Sequence[str]] = None) -> None:
        self.store = store
        self.schema = schema
        self.partition_columns = list(partition_columns)
        self.table = table
        self.row_filter = row_filter
        self.columns: Optional[list[str]] = None if columns is None else list(columns)

    @property
    def output_columns(self) -> list[str]:
        """The columns a read returns, in order."""
        return list(self.schema.names) if self.columns is None else list(self.columns)

    @property
    def expression(self) -> Any:
        """The row filter as a pyarrow expression (None: every row)."""
        return to_expression(self.row_filter)

    @property
    def _pushable(self) -> bool:
        """Whether the row filter may go into pyarrow's scan (which also skips row groups by their
        Parquet statistics). Not for ``in``/``not in`` on a floating column: pyarrow's row-group
        pruning of a set lookup drops rows whose row group has min -0.0 and max 0.0 (pyarrow 26); such
        a filter is applied to the scanned rows instead (tests/test_read_pruning_bounds.py)."""
        for conj in self.row_filter or []:
            for c, op, _v in conj:
                if op in ("in", "not in") and c in self.schema.names and pa.types.is_floating(self.schema.field(c).type):
                    return False
        return True

    def _output_schema(self) -> pa.Schema:
        return pa.schema([self.schema.field(c) for c in self.output_columns])

    # -- verified files --------------------------------------------------------------------------
    def path(self, task: Any) -> str:
        """The task's local file, its bytes checked (see :func:`verified_path`)."""
        return verified_path(self.store, task, self.table)

    def paths(self, tasks: Sequence[Any]) -> list[str]:
        """Each task's local, hash-checked file, in order (fetched and hashed side by side: hashing and
        downloads release the GIL)."""
        if len(tasks) <= 4:
            return [self.path(t) for t in tasks]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self.path, tasks))

    def file_schema(self, task: Any) -> pa.Schema:
        """The Arrow schema of the task's stored file (its data columns as written)."""
        import pyarrow.parquet as pq

        return pq.read_schema(self.path(task))

    def file_metadata(self, task: Any) -> "papq.FileMetaData":
        """The Parquet footer of the task's stored file (row groups, column chunk settings)."""
        import pyarrow.parquet as pq

        return pq.ParquetFile(self.path(task)).metadata

    # -- one fragment ----------------------------------------------------------------------------
    def read_stored(self, task: Any, columns: Optional[Sequence[str]] = None, live: bool = False,
                    positions: Optional[np.ndarray] = None) -> pa.Table:
        """The task's stored file: its data columns (``columns`` or all), every position unless
        ``live`` (its deletion vector applied) or ``positions`` (the rows at those positions of the
        file, whatever its vector says); no partition columns."""
        t = read_stored(self.store, task, self.table, columns)
        if positions is not None:
            return t.take(pa.array(positions, type=pa.int64()))
        if live and _task(task).deletes:
            from lakepkg.read.deletes import apply_deletes  # vectors only: not loaded by a plain read

            t = apply_deletes(self.store, _task(task).entry, t, self.table)
        return t

    def with_partitions(self, task: Any, t: pa.Table) -> pa.Table:
        """``t`` (rows of the task's file) with the table's partition columns appended from the entry."""
        part = _task(task).partition
        for c in self.partition_columns:
            if self.columns is not None and c not in self.columns:
                continue
            f = self.schema.field(c)
            t = t.append_column(f, partition_array(f.type, part.get(c), t.num_rows))
        return t

    def read_task(self, task: Any) -> pa.Table:
        """One fragment's live rows as its file holds them, plus the table's partition columns
        (``columns`` only, in that order when given). The row filter is not applied (a leaf reads whole)."""
        cols = self.columns
        data_cols = None if cols is None else [c for c in cols if c not in self.partition_columns]
        # the vector names positions of the whole file: dropped before anything else
        t = self.with_partitions(task, self.read_stored(task, data_cols, live=True))
        return t if cols is None or t.column_names == cols else t.select(cols)

    def read_positions(self, task: Any, positions: np.ndarray) -> pa.Table:
        """Rows at ``positions`` of the task's stored file (whatever its vector says), partition
        columns included."""
        return self.with_partitions(task, self.read_stored(task, positions=positions))

    # -- many fragments --------------------------------------------------------------------------
    def _partition_expression(self, task: FragmentTask) -> Any:
        import pyarrow.dataset as ds

        e = ds.scalar(True)
        part = task.partition
        for c in self.partition_columns:
            t = self.schema.field(c).type
            v = py_value(t, part.get(c))
            e = e & (ds.field(c).is_null() if v is None else (ds.field(c) == pa.scalar(v, t)))
        return e

    def _files(self, tasks: Sequence[FragmentTask], paths: Sequence[str]) -> "pads.FileSystemDataset":
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        return ds.FileSystemDataset.from_paths(list(paths), schema=self.schema, format=ds.ParquetFileFormat(),
                                               filesystem=pafs.LocalFileSystem(),
                                               partitions=[self._partition_expression(t) for t in tasks])

    def _live(self, tasks: Sequence[FragmentTask], columns: Optional[list[str]], row_filter: bool,
              batch_size: int = 131072) -> Iterator[pa.RecordBatch]:
        """The rows of ``tasks`` in task order, deletion vectors applied inside one pyarrow scan
        (:func:`lakepkg.read.deletes.live_batches`), then the row filter (``row_filter``) and
        ``columns`` (None: all)."""
        from lakepkg.read.deletes import live_batches  # vectors only: not loaded by a plain read

        paths = self.paths(tasks)
        expr = self.expression if row_filter else None
        need: Optional[list[str]] = None
        if columns is not None:  # the columns asked for, and those the row filter reads
            wanted = set(columns)
            if expr is not None:
                wanted |= {c for conj in (self.row_filter or []) for c, _o, _v in conj}
            need = [n for n in self.schema.names if n in wanted]
        # no filter in the scan: it could skip row groups and move the positions a vector names
        pool = deletes_memory_pool()
        scanner = self._files(tasks, paths).scanner(columns=need, batch_size=batch_size, use_threads=True,
                                                    memory_pool=pool)

        def then(b: pa.RecordBatch) -> pa.RecordBatch:
            if expr is not None:
                b = b.filter(expr)
            return b if columns is None or b.schema.names == columns else b.select(columns)

        return live_batches(self.store, [t.entry for t in tasks], paths, scanner.scan_batches(), self.table, then,
                            memory_pool=pool, file_rows=_file_rows)

    def to_dataset(self, tasks: Iterable[Any]) -> "pads.Dataset":
        """A pyarrow dataset over ``tasks``, partition columns filled from their values (the row
        filter is not applied here: pass :attr:`expression` to its scanner). Fragments with a
        deletion vector join as the in-memory table of their live rows (a Parquet file cannot be
        scanned by position), after the files of the others."""
        import pyarrow.dataset as ds

        ts = [_task(t) for t in tasks]
        plain = [t for t in ts if not t.deletes]
        files = self._files(plain, self.paths(plain))
        with_vectors = [t for t in ts if t.deletes]
        if not with_vectors:
            return files
        live = pa.Table.from_batches(list(self._live(with_vectors, None, row_filter=False)), schema=self.schema)
        return ds.UnionDataset(self.schema, [files, ds.InMemoryDataset(live, schema=self.schema)])

    def to_table(self, tasks: Iterable[Any]) -> pa.Table:
        """The rows of ``tasks``: vectors applied, rows filtered, ``columns`` only (in task order when
        some fragment has a deletion vector)."""
        ts = [_task(t) for t in tasks]
        if any(t.deletes for t in ts) or not self._pushable:
            return pa.Table.from_batches(list(self._live(ts, self.columns, row_filter=True)),
                                         schema=self._output_schema())
        return self.to_dataset(ts).to_table(filter=self.expression, columns=self.columns)

    def to_batches(self, tasks: Iterable[Any], batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """The rows of ``tasks`` as record batches (``output_columns``, in task order)."""
        ts = [_task(t) for t in tasks]
        if not ts:
            return iter(())
        if any(t.deletes for t in ts) or not self._pushable:
            return self._live(ts, self.output_columns, row_filter=True, batch_size=batch_size)
        return iter(self.to_dataset(ts).to_batches(columns=self.output_columns, filter=self.expression,
                                                   batch_size=batch_size))
