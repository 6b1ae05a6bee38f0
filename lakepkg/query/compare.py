"""Two answers to one query compared exactly: values as values (a decimal is a decimal, never a float;
NULL equals only NULL), column names, and row order only where the query's ``ORDER BY`` defines it.

    from lakepkg.query.compare import differs
    d = differs(fast, exact, sql, dialect="postgres")   # None, or a Difference
    print(d.line())    # 'row 3: (1, 'a', 2.50) vs (1, 'a', 2.5000001)'

Order: without a top-level ORDER BY, the rows are compared as multisets. With one whose keys are
output columns (by name, alias or position), the sequence of key values must be the same and the
rows within each run of equal keys are compared as multisets (ties may come in any order); when a
key is not an output column, the rows are compared in order.
"""
from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pyarrow as pa


@dataclass(frozen=True)
class Difference:
    """Where two answers first differ (``index`` is a row index, -1 for the shape or the names)."""

    what: str
    index: int
    left: Any
    right: Any

    def line(self, left_name: str = "left", right_name: str = "right") -> str:
        """One line for a message: ``row 3: fast (…) vs exact (…)``."""
        where = f"row {self.index + 1}" if self.index >= 0 else self.what
        return f"{where}: {left_name} {_show(self.left)} vs {right_name} {_show(self.right)}"


def _show(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(_show(x) for x in v) + ")"
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _key(v: Any) -> tuple[int, Any]:
    """A sort key for any value: a total order across NULLs and types (only for grouping)."""
    if v is None:
        return (0, "")
    if isinstance(v, bool):
        return (1, int(v))
    if isinstance(v, (int, decimal.Decimal)):
        return (2, decimal.Decimal(v))
    if isinstance(v, float):
        return (2, decimal.Decimal(0)) if math.isnan(v) else (2, decimal.Decimal(repr(v)) if math.isfinite(v) else
                                                             decimal.Decimal("Infinity") * (1 if v > 0 else -1))
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return (3, v.isoformat())
    if isinstance(v, (bytes, bytearray)):
        return (4, bytes(v).hex())
    return (5, repr(v))


def _row_key(row: tuple) -> tuple:
    return tuple((_key(v), type(v).__name__ if isinstance(v, float) else "") for v in row)


def same_value(a: Any, b: Any) -> bool:
    """Exact equality: decimals and integers by value, a float only equals a float (a binary float
    is not a decimal), NaN equals NaN, NULL only NULL; lists and dicts element-wise."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, float) and isinstance(b, float)):
            return False
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _same_row(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))


def rows(table: pa.Table) -> list[tuple]:
    """The rows of an answer as tuples of Python values (decimals stay Decimal)."""
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(zip(*cols)) if cols else [() for _ in range(table.num_rows)]


def order_keys(sql: str, dialect: str, names: Sequence[str]) -> Optional[list[int]]:
    """Positions of the output columns the query's top-level ORDER BY sorts by: ``[]`` without
    ORDER BY, None when a key is not an output column (then the order is compared as is)."""
    try:
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read=dialect)
    except Exception:
        return None
    order = tree.args.get("order") if isinstance(tree, exp.Query) else None
    if order is None:
        return []
    select = tree if isinstance(tree, exp.Select) else None
    out = []
    lowered = [n.lower() for n in names]
    for o in order.expressions:
        e = o.this
        if isinstance(e, exp.Literal) and e.is_int and 0 < int(e.this) <= len(names):
            out.append(int(e.this) - 1)
            continue
        name = e.name.lower() if isinstance(e, (exp.Column, exp.Identifier)) else None
        if name and name in lowered and lowered.count(name) == 1:
            out.append(lowered.index(name))
            continue
        if select is not None:  # an expression written as in the select list
            hit = [i for i, s in enumerate(select.expressions) if (s.this if isinstance(s, exp.Alias) else s) == e]
            if len(hit) == 1 and hit[0] < len(names):
                out.append(hit[0])
                continue
        return None
    return out


def differs(left: pa.Table, right: pa.Table, sql: str = "", dialect: str = "postgres",
            names: bool = True) -> Optional[Difference]:
    """The first difference between two answers to ``sql``, or None when they are equal."""
    if names and [n.lower() for n in left.column_names] != [n.lower() for n in right.column_names]:
        return Difference("column names", -1, tuple(left.column_names), tuple(right.column_names))
    if left.num_columns != right.num_columns:
        return Difference("columns", -1, tuple(left.column_names), tuple(right.column_names))
    a, b = rows(left), rows(right)
    keys = order_keys(sql, dialect, left.column_names) if sql else []
    if keys is None:
        return _in_order(a, b)
    if not keys:
        return _as_multisets(a, b, 0)
    # ordered by output columns: the same sequence of keys, ties in any order
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b):
            break
        ka, kb = tuple(a[i][k] for k in keys), tuple(b[i][k] for k in keys)
        if not _same_row(ka, kb):
            return Difference("row", i, a[i], b[i])
    if len(a) != len(b):
        i = min(len(a), len(b))
        return Difference("row", i, a[i] if i < len(a) else None, b[i] if i < len(b) else None)
    start = 0
    while start < len(a):
        end = start + 1
        while end < len(a) and _same_row(tuple(a[end][k] for k in keys), tuple(a[start][k] for k in keys)):
            end += 1
        d = _as_multisets(a[start:end], b[start:end], start)
        if d is not None:
            return d
        start = end
    return None


def _in_order(a: list[tuple], b: list[tuple]) -> Optional[Difference]:
    for i, (x, y) in enumerate(zip(a, b)):
        if not _same_row(x, y):
            return Difference("row", i, x, y)
    if len(a) != len(b):
        i = min(len(a), len(b))
        return Difference("row", i, a[i] if i < len(a) else None, b[i] if i < len(b) else None)
    return None


def _as_multisets(a: list[tuple], b: list[tuple], offset: int) -> Optional[Difference]:
    sa, sb = sorted(a, key=_row_key), sorted(b, key=_row_key)
    d = _in_order(sa, sb)
    if d is None:
        return None
    return Difference(d.what, d.index + offset, d.left, d.right)
