"""Applying deletion vectors: the one place every reader drops a fragment's deleted rows.

Every read of fragment bytes — ``Fragment.to_arrow``, ``Table.to_arrow`` /
``to_arrow_dataset``, the Spark data source, ``install --dest``, ``restore`` —
reads the whole fragment (or the columns it needs; positions do not depend on
the columns), then calls :func:`apply_deletes` *before* any row filter, since
a vector names positions in the stored file. A missing or corrupt vector
raises; a read never returns the rows it deletes.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional

import pyarrow as pa

from lakepkg.format.deletion_vector import deleted_positions, live_mask, vector_label

__all__ = ["apply_deletes", "apply_to_batches", "has_deletes", "read_fragment", "deleted_positions", "vector_label"]


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


def apply_to_batches(store: Any, entry: Any, batches: Iterable[pa.RecordBatch],
                     table: Optional[str] = None) -> Iterator[pa.RecordBatch]:
    """Record batches of the whole fragment, in file order, without the deleted rows."""
    if not has_deletes(entry):
        yield from batches
        return
    e = _as_dict(entry)
    pos = deleted_positions(store, e, table)
    import numpy as np

    total = int(e.get("rows", 0)) + len(pos)  # type: ignore[arg-type]
    mask = np.ones(total, dtype=bool)
    mask[pos] = False  # type: ignore[index]
    off = 0
    for b in batches:
        if off + b.num_rows > total:
            from lakepkg.errors import IntegrityError

            raise IntegrityError(f"{vector_label(e, table)} is for {total} rows but the fragment has more; "
                                 "run `lakepkg verify`")
        yield b.filter(pa.array(mask[off: off + b.num_rows]))
        off += b.num_rows
    if off != total:
        from lakepkg.errors import IntegrityError

        raise IntegrityError(f"{vector_label(e, table)} is for {total} rows but the fragment has {off}; "
                             "run `lakepkg verify`")


def read_fragment(store: Any, entry: Any, path: str, columns: Optional[list[str]] = None,
                  table: Optional[str] = None) -> pa.Table:
    """A stored fragment's data columns (``columns`` or all) with its vector applied."""
    import pyarrow.parquet as pq

    return apply_deletes(store, entry, pq.read_table(path, columns=columns), table)
