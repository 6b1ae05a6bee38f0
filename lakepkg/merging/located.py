"""Rows of chosen fragments, read through the read plan, with where each row is stored.

A merge needs, for each row it reads, the fragment entry it came from and its position in the
fragment's stored file (the position a deletion vector names). Rows are read through the public
read objects (:class:`lakepkg.read.package.Fragment`, whose ``to_arrow`` is the table's read plan
applying the entry's vector); positions are the live positions of the file, from the entry's
vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa

from lakepkg.format.deletion_vector import deleted_positions
from lakepkg.format.manifest import Entry
from lakepkg.read.package import Fragment


@dataclass
class Located:
    """Rows (``rows``) and, per row, the index of its entry (``entry``) and its position in the
    entry's stored file (``pos``)."""

    rows: pa.Table
    entry: np.ndarray
    pos: np.ndarray

    @classmethod
    def empty(cls, schema: pa.Schema) -> "Located":
        return cls(schema.empty_table(), np.zeros(0, np.int64), np.zeros(0, np.int64))

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows


def physical_rows(entry: dict[str, Any]) -> int:
    """Rows of the entry's stored file: its live rows plus the rows its vector deletes."""
    return int(entry.get("rows") or 0) + int((entry.get("deletes") or {}).get("count", 0))


def live_positions(store: Any, entry: dict[str, Any], table: str) -> np.ndarray:
    """Positions (in the stored file) of the rows the entry still holds, in file order."""
    n = physical_rows(entry)
    dead = deleted_positions(store, entry, table)
    if dead is None or len(dead) == 0:
        return np.arange(n, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    mask[dead] = False
    return np.flatnonzero(mask).astype(np.int64)


def read_located(table: Any, entries: Sequence[dict[str, Any]], wanted: Sequence[Optional[np.ndarray]],
                 columns: Optional[list[str]] = None) -> Located:
    """The rows of ``entries[i]`` at physical positions ``wanted[i]`` (None: every live row), read
    through ``table``'s read plan; ``columns``: the columns to read (all when None)."""
    parts: list[pa.Table] = []
    ents: list[np.ndarray] = []
    poss: list[np.ndarray] = []
    schema = table.schema if columns is None else pa.schema([table.schema.field(c) for c in columns])
    for i, (e, want) in enumerate(zip(entries, wanted)):
        if want is not None and len(want) == 0:
            continue
        t = Fragment(table.store, Entry.from_json(e), table).to_arrow(columns)
        live = live_positions(table.store, e, table.name)
        if len(live) != t.num_rows:
            from lakepkg.errors import IntegrityError

            raise IntegrityError(f"fragment {table.name}/{e.get('key')} read {t.num_rows} rows but its entry "
                                 f"holds {len(live)}; run `lakepkg verify`")
        if want is not None:
            idx = np.searchsorted(live, want)
            t = t.take(pa.array(idx, type=pa.int64()))
            live = np.asarray(want, dtype=np.int64)
        parts.append(t)
        ents.append(np.full(len(live), i, dtype=np.int64))
        poss.append(live)
    if not parts:
        return Located.empty(schema)
    return Located(pa.concat_tables(parts).combine_chunks(), np.concatenate(ents), np.concatenate(poss))
