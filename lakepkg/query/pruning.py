"""Filters for the read plan from a query's WHERE clauses, so fragments that cannot match are not read.

For a table the query reads exactly once, every top-level ``AND`` term of the WHERE clause of the
SELECT whose FROM/JOIN names it, of the form ``column <op> literal`` (or ``column IN (literals)``)
on one of its columns, becomes a ``(column, op, value)`` filter of ``Table.scan(filters)``:
partition values and min/max statistics then skip whole fragments. Pruning is conservative — the
engine still applies the WHERE to every row it reads — and only null-rejecting comparisons are
used, so it holds under outer joins too. Anything else (functions, casts, OR, other tables'
columns) simply does not prune.
"""
from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa

_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _literal(node: Any, t: pa.DataType) -> Optional[Any]:
    from sqlglot import exp

    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return node.this if (pa.types.is_string(t) or pa.types.is_large_string(t)) else None
    if pa.types.is_integer(t):
        try:
            return int(node.this)
        except ValueError:
            return None
    if pa.types.is_floating(t):
        return float(node.this)
    return None


def filters_by_view(tree: Any, schemas: dict[str, pa.Schema]) -> dict[str, list[tuple[str, str, Any]]]:
    """``{view: [(column, op, value), ...]}`` for the views of ``schemas`` (their stored columns)."""
    from sqlglot import exp

    tables = [t for t in tree.find_all(exp.Table) if t.name in schemas]
    counts: dict[str, int] = {}
    for t in tables:
        counts[t.name] = counts.get(t.name, 0) + 1
    out: dict[str, list[tuple[str, str, Any]]] = {}
    for t in tables:
        if counts[t.name] != 1:
            continue
        select = t.find_ancestor(exp.Select)
        if select is None or not select.args.get("where") or t.find_ancestor(exp.Subquery, exp.Select) is not select:
            continue
        from lakepkg.read.where import comparison, conjuncts  # a query with a WHERE only (start-up)

        alias = t.alias_or_name
        schema = schemas[t.name]
        found = []
        for term in conjuncts(select.args["where"]):  # the one WHERE reader (lakepkg.read.where)
            col, val, op = None, None, None
            c = comparison(term)
            if c is not None and c[0].table == alias and c[0].name in schema.names:
                a, op, other = c
                ctype = schema.field(a.name).type
                if op == "in":
                    vals = [_literal(e, ctype) for e in other]
                    val = vals if all(v is not None for v in vals) else None
                else:
                    val, op = _literal(other, ctype), _OPS[op]
                col = a.name
            if col is not None and val is not None and op is not None:
                found.append((col, op, val))
        if found:
            out[t.name] = found
    return out
