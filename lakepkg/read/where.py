"""SQL ``WHERE`` terms → lakepkg filter terms: the one place a SQL predicate becomes ``(column, op, value)``.

Two callers: ``--where`` of where-used, redaction and clone (:mod:`lakepkg.governance.predicate`: the
whole predicate in disjunctive normal form, errors for what it cannot express) and the query layer's
pruning (:mod:`lakepkg.query.pruning`: the top-level ``AND`` terms of a query's WHERE that can skip
fragments, silently ignoring the rest). Both read the sqlglot tree through :func:`comparison`,
:func:`conjuncts` and :func:`dnf`; each types literals by its own rule.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

Term = tuple[str, str, Any]
Conj = list[Term]

NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<", "in": "not in", "not in": "in"}
FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class Unsupported(Exception):
    """A node :func:`dnf` cannot express (its message says which); the caller decides what it means."""


def comparison(node: Any) -> Optional[tuple[Any, str, Any]]:
    """``(column node, op, other side)`` of a comparison ``=, !=/<>, <, <=, >, >=`` with a column on one
    side (flipped so the column is first), ``(column node, "in", [value nodes])`` of ``col IN (…)``;
    None for anything else."""
    from sqlglot import expressions as exp

    ops = {exp.EQ: "=", exp.NEQ: "!=", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
    op = ops.get(type(node))
    if op is not None:
        a, b = node.left, node.right
        if isinstance(a, exp.Column):
            return a, op, b
        if isinstance(b, exp.Column):
            return b, FLIP[op], a
        return None
    if isinstance(node, exp.In) and isinstance(node.this, exp.Column) and node.args.get("query") is None \
            and node.args.get("expressions"):
        return node.this, "in", list(node.expressions)
    return None


def conjuncts(where: Any) -> list[Any]:
    """The top-level ``AND`` terms of a WHERE clause (or of a condition), parentheses removed."""
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


def dnf(node: Any, column: Callable[[Any], str], literal: Callable[[Any], Any], neg: bool = False,
        limit: int = 256) -> list[Conj]:
    """A condition in disjunctive normal form (a list of conjunctions of ``(column, op, value)``):
    comparisons, ``IN``, ``BETWEEN``, ``AND``/``OR``/``NOT`` and parentheses. ``column`` and ``literal``
    turn nodes into a name and a value (raising to refuse one); :class:`Unsupported` names any other
    node, or a form that expands past ``limit`` alternatives."""
    from sqlglot import expressions as exp

    if isinstance(node, exp.Paren):
        return dnf(node.this, column, literal, neg, limit)
    if isinstance(node, exp.Not):
        return dnf(node.this, column, literal, not neg, limit)
    if isinstance(node, (exp.And, exp.Or)):
        a, b = dnf(node.left, column, literal, neg, limit), dnf(node.right, column, literal, neg, limit)
        out = a + b if isinstance(node, exp.Or) != neg else [x + y for x in a for y in b]  # De Morgan under NOT
        if len(out) > limit:
            raise Unsupported(f"expands to more than {limit} alternatives; simplify it")
        return out
    if isinstance(node, exp.Between):
        col = column(node.this)
        lo, hi = literal(node.args["low"]), literal(node.args["high"])
        return [[(col, "<", lo)], [(col, ">", hi)]] if neg else [[(col, ">=", lo), (col, "<=", hi)]]
    if isinstance(node, exp.In) and node.args.get("query") is not None:
        raise Unsupported("IN (SELECT …) is not supported; list the values")
    c = comparison(node)
    if c is not None:
        col_node, op, other = c
        col = column(col_node)
        if op == "in":
            return [[(col, "not in" if neg else "in", [literal(v) for v in other])]]
        return [[(col, NEGATE[op] if neg else op, literal(other))]]
    if type(node) in (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE):
        raise Unsupported("each comparison needs a column on one side")
    what = node.sql() if hasattr(node, "sql") else str(node)
    raise Unsupported(f"{what!r} is not supported; use comparisons (= != < <= > >=), IN, BETWEEN, AND, OR, NOT")
