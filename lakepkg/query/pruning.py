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

_OPS = {"EQ": "==", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


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


def _conjuncts(where: Any) -> list[Any]:
    from sqlglot import exp

    node = where.this if isinstance(where, exp.Where) else where
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.Paren):
            stack.append(n.this)
        elif isinstance(n, exp.And):
            stack.extend([n.this, n.expression])
        else:
            out.append(n)
    return out


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
        alias = t.alias_or_name
        schema = schemas[t.name]
        found = []
        for term in _conjuncts(select.args["where"]):
            col, val, op = None, None, None
            if type(term).__name__ in _OPS:
                a, b = term.this, term.expression
                op = _OPS[type(term).__name__]
                if isinstance(b, exp.Column) and not isinstance(a, exp.Column):
                    a, b, op = b, a, _FLIP[op]
                if isinstance(a, exp.Column) and a.table == alias and a.name in schema.names:
                    col, val = a.name, _literal(b, schema.field(a.name).type)
            elif isinstance(term, exp.In) and isinstance(term.this, exp.Column) and term.args.get("expressions"):
                a = term.this
                if a.table == alias and a.name in schema.names:
                    vals = [_literal(e, schema.field(a.name).type) for e in term.expressions]
                    if all(v is not None for v in vals):
                        col, val, op = a.name, vals, "in"
            if col is not None and val is not None and op is not None:
                found.append((col, op, val))
        if found:
            out[t.name] = found
    return out
