"""The merged schema of one table: columns added, dropped and retyped on either side.

Column by column (by name), three-way:

* a column added on one side is added (rows of the other side hold NULL there); added on both
  sides with one type, it is one column; with two types, a conflict;
* a type changed on one side is taken; changed the same way on both, taken once; changed
  differently, a conflict;
* a column dropped on one side is dropped, unless the other side changed its values (checked
  row by row by the table merge): then a conflict;
* ``--strategy ours`` / ``theirs`` settles a schema conflict with that side's column.

Columns keep ours' order, then the columns only theirs has, in theirs' order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pyarrow as pa


@dataclass
class SchemaConflict:
    """A column the two sides changed in ways that do not merge."""

    column: str
    base: Optional[str]
    ours: Optional[str]
    theirs: Optional[str]
    description: str

    def to_json(self) -> dict[str, Optional[str]]:
        return {"column": self.column, "base_type": self.base, "our_type": self.ours, "their_type": self.theirs,
                "description": self.description}


@dataclass
class MergedSchema:
    """The result schema, the conflicts, and the columns a side dropped (column → "ours"/"theirs")."""

    schema: pa.Schema
    conflicts: list[SchemaConflict] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)


def _t(f: Optional[pa.Field]) -> Optional[str]:
    return None if f is None else str(f.type)


def _same(a: Optional[pa.Field], b: Optional[pa.Field]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.type.equals(b.type)


def merge_schemas(base: Optional[pa.Schema], ours: pa.Schema, theirs: pa.Schema, strategy: str = "fail") -> MergedSchema:
    """Merge three schemas (``base`` None: the table is new on both sides)."""
    names = list(ours.names) + [n for n in theirs.names if n not in ours.names]
    names += [n for n in (base.names if base is not None else []) if n not in names]
    fields: list[pa.Field] = []
    out = MergedSchema(pa.schema([]))

    def field_of(s: Optional[pa.Schema], n: str) -> Optional[pa.Field]:
        return s.field(n) if s is not None and n in s.names else None

    for n in names:
        b, o, t = field_of(base, n), field_of(ours, n), field_of(theirs, n)
        pick: Optional[pa.Field]
        conflict: Optional[str] = None
        if o is not None and t is not None:
            if _same(o, t):
                pick = o
            elif _same(o, b):
                pick = t
            elif _same(t, b):
                pick = o
            else:
                pick = o if strategy != "theirs" else t
                conflict = ("added on both sides with different types" if b is None
                            else "type changed differently on the two sides")
        elif o is None and t is None:
            pick = None  # dropped on both sides (or never there)
        elif b is None:
            pick = o if o is not None else t  # added on one side
        else:
            side = "ours" if o is None else "theirs"
            kept = t if o is None else o
            if not _same(kept, b):
                conflict = f"dropped in {side}, type changed in {'theirs' if side == 'ours' else 'ours'}"
                pick = None if strategy == side else kept
            else:
                pick = None
                out.dropped[n] = side
        if conflict is not None:
            out.conflicts.append(SchemaConflict(n, _t(b), _t(o), _t(t), conflict))
        if pick is not None:
            fields.append(pick)
    out.schema = pa.schema(fields)
    return out
