"""Row-by-row comparison of a source's answer with a snapshot's, value by value and kind by kind."""
from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any, Sequence

D = decimal.Decimal


def kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, D):
        return "decimal"
    if isinstance(v, dt.datetime):
        return "datetime" + ("+tz" if v.tzinfo else "")
    if isinstance(v, dt.date):
        return "date"
    return type(v).__name__


def same_value(a: Any, b: Any) -> bool:
    """``b`` (the snapshot's) equals ``a`` (the source's) to the precision the source gives."""
    if a is None or b is None:
        return a is None and b is None
    if kind(a) != kind(b):
        return False
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, D):
        if a == b:
            return True
        # a numeric the source computed to >= 15 significant digits (avg, division): the engine
        # derives it from a double, exact to 15 digits
        digits = len(a.normalize().as_tuple().digits)
        return digits >= 15 and math.isclose(float(a), float(b), rel_tol=1e-14, abs_tol=0)
    return a == b


def arrow_rows(table: Any) -> tuple[list[str], list[tuple]]:
    cols = [c.to_pylist() for c in table.columns]
    return list(table.column_names), list(zip(*cols)) if cols else []


def assert_same_answer(source: tuple[list[str], list[tuple]], snap: tuple[list[str], list[tuple]]) -> None:
    names, rows = source
    snames, srows = snap
    assert [n.lower() for n in snames] == [n.lower() for n in names], f"columns {snames} != {names}"
    assert len(srows) == len(rows), f"{len(srows)} rows, the source gave {len(rows)}"
    for i, (r, s) in enumerate(zip(rows, srows)):
        bad = [(names[j], a, b) for j, (a, b) in enumerate(zip(r, s)) if not same_value(a, b)]
        assert not bad, f"row {i}: (column, source, snapshot) {bad[:4]}"


def differs(a: tuple[list[str], Sequence[tuple]], b: tuple[list[str], Sequence[tuple]]) -> bool:
    if len(a[1]) != len(b[1]):
        return True
    return any(not same_value(x, y) for r, s in zip(a[1], b[1]) for x, y in zip(r, s))
