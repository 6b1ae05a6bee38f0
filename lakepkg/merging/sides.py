"""The rows a three-way table merge reads: base rows that one side or the other no longer holds
where the base had them, and each side's rows that the base does not hold where the side has them
(:mod:`lakepkg.merging.changes`), with where each row is stored, all in one work schema."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from lakepkg.errors import SchemaMismatchError
from lakepkg.merging.changes import SideChanges, contains, side_changes, union
from lakepkg.merging.located import Located, read_located


@dataclass
class Sides:
    """Candidate rows of one table: ``base`` (with ``gone_ours`` / ``gone_theirs`` per row: the side
    no longer holds it where the base had it), ``ours`` and ``theirs`` (rows the base does not
    hold there); the entries of each version and the fragment-level changes."""

    base: Located
    gone_ours: np.ndarray
    gone_theirs: np.ndarray
    ours: Located
    theirs: Located
    base_entries: list[dict[str, Any]]
    ours_entries: list[dict[str, Any]]
    theirs_entries: list[dict[str, Any]]
    ch_ours: SideChanges
    ch_theirs: SideChanges


def entries_of(table: Any) -> list[dict[str, Any]]:
    return [] if table is None else list(table.iter_entries())


def conform(t: pa.Table, schema: pa.Schema, side: str, table: str) -> pa.Table:
    """``t`` with exactly ``schema``'s columns: missing ones NULL, others cast to the merged type."""
    cols = []
    for f in schema:
        if f.name not in t.column_names:
            cols.append(pa.nulls(t.num_rows, f.type))
            continue
        c = t.column(f.name)
        if not c.type.equals(f.type):
            try:
                c = c.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise SchemaMismatchError(f"table {table!r}: values of column {f.name!r} in {side} do not fit the "
                                          f"merged type {f.type} ({str(exc).splitlines()[0][:120]}); settle the type "
                                          "on one side first") from None
        cols.append(c)
    return pa.Table.from_arrays(cols, schema=schema)


def take(t: pa.Table, idx: np.ndarray) -> pa.Table:
    """Rows of ``t`` at ``idx``; -1 gives a row of NULLs."""
    if t.num_rows == 0:
        return pa.Table.from_arrays([pa.nulls(len(idx), f.type) for f in t.schema], schema=t.schema)
    return t.take(pa.array(idx, mask=idx < 0, type=pa.int64()))


def read_sides(base: Optional[Any], ours: Any, theirs: Any, work: pa.Schema) -> Sides:
    """Read the candidate rows of the three versions of one table (see the module docstring)."""
    be, oe, te = entries_of(base), entries_of(ours), entries_of(theirs)
    bstore = base.store if base is not None else ours.store
    cho = side_changes(bstore, be, ours.store, oe, ours.name)
    cht = side_changes(bstore, be, theirs.store, te, theirs.name)
    want = [union(a, b) for a, b in zip(cho.base_gone, cht.base_gone)]
    if base is not None:
        bl = read_located(base, be, want)
        gone_o = np.zeros(bl.num_rows, dtype=bool)
        gone_t = np.zeros(bl.num_rows, dtype=bool)
        for i in np.unique(bl.entry):
            sel = bl.entry == i
            gone_o[sel] = contains(cho.base_gone[int(i)], bl.pos[sel])
            gone_t[sel] = contains(cht.base_gone[int(i)], bl.pos[sel])
        bl.rows = conform(bl.rows, work, "the base", ours.name)
    else:
        bl, gone_o, gone_t = Located.empty(work), np.zeros(0, bool), np.zeros(0, bool)
    ol = read_located(ours, oe, cho.side_new)
    ol.rows = conform(ol.rows, work, "ours", ours.name)
    tl = read_located(theirs, te, cht.side_new)
    tl.rows = conform(tl.rows, work, "theirs", theirs.name)
    return Sides(bl, gone_o, gone_t, ol, tl, be, oe, te, cho, cht)
