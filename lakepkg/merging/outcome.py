"""What merging one table gives: the changes to apply to the layout side, or its conflicts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from lakepkg.merging.schema import SchemaConflict


@dataclass
class TableOutcome:
    """The merge of one table.

    The result is the ``layout`` side's table (``"ours"`` or ``"theirs"``: its fragments are kept)
    with ``deletes`` (entry index of that side → positions of its stored file to delete) and
    ``added`` rows (new fragments); with ``rewrite`` every row of the result is in ``added`` (the
    layout side's schema is not the merged one). ``conflicts``: the conflicting rows (Dolt's
    ``dolt_conflicts_<table>`` shape), None when there are none."""

    name: str
    schema: pa.Schema
    key: Optional[list[str]]
    layout: str = "ours"
    rewrite: bool = False
    deletes: dict[int, np.ndarray] = field(default_factory=dict)
    added: Optional[pa.Table] = None
    conflicts: Optional[pa.Table] = None
    schema_conflicts: list[SchemaConflict] = field(default_factory=list)
    conflict_cells: int = 0
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def conflicting_rows(self) -> int:
        return 0 if self.conflicts is None else self.conflicts.num_rows

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicting_rows or self.schema_conflicts)

    def summary(self) -> str:
        """``orders: 3 conflicting rows (5 cells); schema: amount (type changed differently …)``."""
        parts = []
        if self.conflicting_rows:
            cells = f" ({self.conflict_cells} cell{'s' if self.conflict_cells != 1 else ''})" if self.conflict_cells else ""
            parts.append(f"{self.conflicting_rows} conflicting row{'s' if self.conflicting_rows != 1 else ''}{cells}")
        for c in self.schema_conflicts:
            parts.append(f"schema: column {c.column} {c.description}")
        return f"{self.name}: " + ("; ".join(parts) if parts else "merged")


def layout_side(final: pa.Schema, ours: Any, theirs: Any) -> Optional[str]:
    """The side whose fragments the result keeps: ours when its schema is the merged one, else
    theirs when theirs is, else None (every row is written again)."""
    def same(s: pa.Schema) -> bool:
        return s.names == final.names and all(a.type.equals(b.type) for a, b in zip(s, final))

    if same(ours.schema):
        return "ours"
    if same(theirs.schema):
        return "theirs"
    return None
