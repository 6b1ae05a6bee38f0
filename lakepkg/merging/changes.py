"""What one side changed against the base, at the level of fragments: only what differs is read.

An entry a side shares with the base (same object, same partition) holds the base's rows, minus
what either vector deletes: its rows deleted on one side only are the rows that changed there.
Every other entry of the side is new (all its live rows may be new or changed rows), and every
base entry the side no longer has lost all its rows on that side. The rows themselves are then
matched by key (or whole, without a key) in :mod:`lakepkg.merging.keyed` and
:mod:`lakepkg.merging.unkeyed`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from lakepkg.format.deletion_vector import deleted_positions

Positions = Optional[np.ndarray]  # None: every live row of the entry
NONE = np.zeros(0, dtype=np.int64)


def _ident(e: dict[str, Any]) -> tuple[str, str]:
    return e["object"], json.dumps(e.get("partition") or {}, sort_keys=True, default=str)


def _dead(store: Any, e: dict[str, Any], table: str) -> np.ndarray:
    d = deleted_positions(store, e, table)
    return NONE if d is None else d.astype(np.int64)


@dataclass
class SideChanges:
    """One side against the base.

    ``side_new[j]``: positions of side entry ``j`` whose rows the base does not hold there (None:
    every live row); ``base_gone[i]``: positions of base entry ``i`` whose rows the side no longer
    holds there (None: all of them); ``base_to_side[i]``: the side entry that holds base entry
    ``i``'s object (its rows not in ``base_gone[i]`` are live there, at the same positions)."""

    side_new: list[Positions]
    base_gone: list[Positions]
    base_to_side: dict[int, int] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return all(p is not None and len(p) == 0 for p in self.side_new) and \
            all(p is not None and len(p) == 0 for p in self.base_gone)


def side_changes(base_store: Any, base_entries: Sequence[dict[str, Any]], side_store: Any,
                 side_entries: Sequence[dict[str, Any]], table: str) -> SideChanges:
    """Compare a side's entries with the base's (see the module docstring)."""
    by_ident: dict[tuple[str, str], int] = {}
    for i, e in enumerate(base_entries):
        by_ident.setdefault(_ident(e), i)
    side_new: list[Positions] = []
    base_gone: list[Positions] = [None] * len(base_entries)
    to_side: dict[int, int] = {}
    for j, e in enumerate(side_entries):
        found = by_ident.get(_ident(e))
        if found is None or found in to_side:
            side_new.append(None)
            continue
        i = found
        b = base_entries[i]
        if b == e:
            side_new.append(NONE)
            base_gone[i] = NONE
        else:
            db, ds = _dead(base_store, b, table), _dead(side_store, e, table)
            side_new.append(np.setdiff1d(db, ds))     # deleted in the base, live on the side
            base_gone[i] = np.setdiff1d(ds, db)       # live in the base, deleted on the side
        to_side[i] = j
    return SideChanges(side_new, base_gone, to_side)


def union(a: Positions, b: Positions) -> Positions:
    """Positions in either (None: every live row)."""
    if a is None or b is None:
        return None
    return np.union1d(a, b)


def contains(p: Positions, pos: np.ndarray) -> np.ndarray:
    """Per position: whether it is in ``p`` (None holds every position)."""
    if p is None:
        return np.ones(len(pos), dtype=bool)
    return np.isin(pos, p)
