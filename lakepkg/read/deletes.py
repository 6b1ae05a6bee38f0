"""Applying deletion vectors: the one place every reader drops a fragment's deleted rows.

A vector names row positions of the whole stored file, so it applies before any
row filter. Two ways in, one rule:

Files are read only by :mod:`lakepkg.read.arrow_scan` (the one reader), which
calls these two:

* :func:`live_batches`: a whole-plan read (``Table.to_arrow``/``to_pandas``/
  ``to_batches``, the Spark data source's partitions) is one ordered pyarrow
  scan over the planned files with no filter pushed into it; each batch is
  matched to its file and loses its deleted positions, then the row filter and
  the projection apply;
* :func:`apply_deletes`: a leaf read alone (``Fragment.to_arrow``,
  ``install --dest``, ``restore``, the row diff) reads its file and drops its
  positions.

A missing or corrupt vector, or a file whose rows do not line up with its
vector, raises; a read never returns the rows it deletes.
"""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np
import pyarrow as pa

from lakepkg.errors import IntegrityError
from lakepkg.format.deletion_vector import deleted_positions, live_mask, vector_label

__all__ = ["apply_deletes", "live_batches", "positions_of", "has_deletes", "deleted_positions", "vector_label"]


def has_deletes(entry: Any) -> bool:
    """Whether an entry (dict or :class:`~lakepkg.format.manifest.Entry`) has a deletion vector."""
    return bool(entry.get("deletes") if isinstance(entry, dict) else getattr(entry, "deletes", None))


def _as_dict(entry: Any) -> dict[str, Any]:
    return entry if isinstance(entry, dict) else entry.to_json()


def apply_deletes(store: Any, entry: Any, data: pa.Table, table: Optional[str] = None) -> pa.Table:
    """``data`` (all rows of the entry's fragment, any columns) without the rows its vector deletes."""
    if not has_deletes(entry):
        return data
    mask = live_mask(store, _as_dict(entry), data.num_rows, table)
    return data if mask is None else data.filter(pa.array(mask))


def _label(entry: dict[str, Any], table: Optional[str]) -> str:
    if has_deletes(entry):
        return vector_label(entry, table)
    return f"fragment {table}/{entry.get('key')}" if table else f"fragment {entry.get('key')}"


def positions_of(store: Any, entries: Sequence[Any], table: Optional[str] = None,
                 threads: int = 8) -> list[Optional[np.ndarray]]:
    """Every entry's deleted positions (None without a vector), read and checked; from a remote
    store fetched side by side, since each vector is an object of its own (one GET each on S3)."""
    es = [_as_dict(e) for e in entries]
    local = getattr(store, "local_root", lambda: None)() is not None
    if local or sum(1 for e in es if has_deletes(e)) <= 1:  # a local read is faster without threads
        return [deleted_positions(store, e, table) for e in es]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda e: deleted_positions(store, e, table), es))


def _physical_rows(entry: dict[str, Any], pos: Optional[np.ndarray], path: str, table: Optional[str],
                   file_rows: Callable[[str], int]) -> int:
    """The rows of an entry's stored file: its live rows plus its deleted ones."""
    if entry.get("rows") is not None:
        return int(entry["rows"]) + (0 if pos is None else len(pos))
    if pos is not None:
        raise IntegrityError(f"{_label(entry, table)}: an entry with a deletion vector has no row count; "
                             "the manifest is corrupt, run `lakepkg verify`")
    return file_rows(path)  # an entry written without its count: the file's footer (the reader reads it)


def live_batches(store: Any, entries: Sequence[Any], paths: Sequence[str], tagged: Iterable[Any],
                 table: Optional[str] = None,
                 then: Optional[Callable[[pa.RecordBatch], pa.RecordBatch]] = None,
                 threads: Optional[int] = None,
                 memory_pool: Optional[pa.MemoryPool] = None,
                 file_rows: Optional[Callable[[str], int]] = None) -> Iterator[pa.RecordBatch]:
    """The batches of one ordered pyarrow scan over ``paths`` (``Scanner.scan_batches()``: batches
    tagged with their fragment, each fragment's batches in file order, and no row filter pushed
    into the scan — a filter could skip row groups and move positions), each without the rows its
    entry's vector deletes, then passed through ``then`` (the plan's row filter and projection).

    ``entries[i]`` is the manifest entry of the file ``paths[i]``; the scan visits them in that
    order; the masked copies come from ``memory_pool``. Masks are applied on ``threads`` threads
    (Arrow's filter releases the GIL), in order;
    by default one per four cores (the scan itself keeps every core busy decoding: on 2 cores a
    second masking thread measured slower, bench/RESULTS.md "deltas").
    A batch that runs past its entry's row count, a file with fewer rows than its vector was made
    for, or a batch from another file than expected raises :class:`IntegrityError`: a read never
    returns a deleted row."""
    es = [_as_dict(e) for e in entries]
    pos = positions_of(store, es, table)
    def no_count(path: str) -> int:
        raise IntegrityError(f"the manifest entry of {path} has no row count; run `lakepkg verify`")

    physical = [_physical_rows(e, p, path, table, file_rows or no_count) for e, p, path in zip(es, pos, paths)]

    def job(b: pa.RecordBatch, dead: Optional[np.ndarray]) -> pa.RecordBatch:
        if dead is not None and len(dead):
            mask = np.ones(b.num_rows, dtype=bool)
            mask[dead] = False
            import pyarrow.compute as pc  # on demand: its import costs a command's start-up ~50 ms

            b = pc.filter(b, pa.array(mask), memory_pool=memory_pool)
        return then(b) if then is not None else b

    def pieces() -> Iterator[tuple[pa.RecordBatch, Optional[np.ndarray]]]:
        i, off = 0, 0
        for tb in tagged:
            b = tb.record_batch
            if b.num_rows == 0:
                continue
            while i < len(es) and off == physical[i]:  # finished (or empty) files
                i, off = i + 1, 0
            if i == len(es) or off + b.num_rows > physical[i] or tb.fragment.path != paths[i]:
                j = min(i, len(es) - 1)
                raise IntegrityError(f"{_label(es[j], table)} does not line up with its file's rows (the scan "
                                     f"gave rows past the {physical[j]} it was made for); run `lakepkg verify`")
            p = pos[i]
            dead = None
            if p is not None:
                lo, hi = np.searchsorted(p, off), np.searchsorted(p, off + b.num_rows)
                dead = p[lo:hi] - off
            off += b.num_rows
            yield b, dead
        while i < len(es) and off == physical[i]:
            i, off = i + 1, 0
        if i != len(es):
            raise IntegrityError(f"{_label(es[i], table)} is for {physical[i]} rows but the file gave {off}; "
                                 "run `lakepkg verify`")

    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // 4)
    if threads <= 1:
        for b, dead in pieces():
            yield job(b, dead)
        return
    window: deque[Future[pa.RecordBatch]] = deque()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for b, dead in pieces():
            window.append(pool.submit(job, b, dead))
            if len(window) > 2 * threads:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
