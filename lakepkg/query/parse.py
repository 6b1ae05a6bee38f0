"""Read query text in its source dialect: exactly one SELECT (or WITH … SELECT), nothing that writes.

The dialects are sqlglot's, with two functions kept as written instead of translated at parse
time — PostgreSQL's ``to_char`` and MySQL's ``DATE_FORMAT`` — so that
:mod:`lakepkg.query.formats` converts their format strings exactly, or refuses them.
"""
from __future__ import annotations

from typing import Any

from lakepkg.errors import QueryError, one_line
from lakepkg.query.dialects import label

#: placeholder function names the parser gives the source's own formatting functions
TO_CHAR = "LAKEPKG_PG_TO_CHAR"
DATE_FORMAT = "LAKEPKG_MYSQL_DATE_FORMAT"

_WRITES = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Into", "Set", "Use",
           "Copy", "TruncateTable", "Grant", "Lock", "Transaction", "Commit", "Rollback", "Cache", "Uncache",
           "Refresh", "Pragma", "Describe", "LoadData", "Show")


def _dialect(name: str) -> Any:
    """The sqlglot dialect class that reads ``name`` (with the formatting functions kept raw)."""
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect

    base = Dialect.get_or_raise(name)
    cls = type(base)
    keep = {"postgres": {"TO_CHAR": TO_CHAR}, "mysql": {"DATE_FORMAT": DATE_FORMAT}}.get(name)
    if not keep:
        return base
    cached = _CACHE.get(name)
    if cached is not None:
        return cached

    def raw(fname: str) -> Any:
        return lambda args: exp.Anonymous(this=fname, expressions=list(args))

    parser_base: Any = getattr(cls, "Parser")  # every sqlglot dialect class has one; its stubs do not say so
    parser = type("Parser", (parser_base,), {"FUNCTIONS": {**parser_base.FUNCTIONS, **{k: raw(v) for k, v in keep.items()}}})
    sub = type(f"Lakepkg{cls.__name__}", (cls,), {"Parser": parser})
    inst = sub()
    _CACHE[name] = inst
    return inst


_CACHE: dict[str, Any] = {}


def parse_query(sql: str, dialect: str) -> Any:
    """The one query statement in ``sql`` as a sqlglot expression; QueryError (one line) for empty
    text, several statements, a syntax error, or any statement that is not a query."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if not sql or not sql.strip():
        raise QueryError("the query is empty; give a SELECT statement")
    try:
        statements = [s for s in _dialect(dialect).parse(sql) if s is not None]
    except SqlglotError as exc:
        raise QueryError(f"syntax error in the query ({label(dialect)}): {_describe(exc, dialect)}; "
                         f"fix the query text (or give its dialect with --dialect)") from None
    if not statements:
        raise QueryError("the query is empty; give a SELECT statement")
    if len(statements) > 1:
        raise QueryError("give one query at a time (the text has several statements separated by ';')")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        word = sql.strip().split(None, 1)[0].upper()
        raise QueryError(f"only a single SELECT (or WITH … SELECT) runs against a snapshot, not {word}; "
                         f"the snapshot is read-only")
    for node in tree.walk():
        if type(node).__name__ in _WRITES:
            what = "SELECT … INTO" if type(node).__name__ == "Into" else type(node).__name__.upper()
            raise QueryError(f"only a single SELECT (or WITH … SELECT) runs against a snapshot; the query "
                             f"contains {what}, and the snapshot is read-only")
    return tree


def _describe(exc: Any, dialect: str = "postgres") -> str:
    """sqlglot's first parse error in the source's words: PostgreSQL's ``syntax error at or near "X"``
    / ``at end of input``, MySQL's ``You have an error in your SQL syntax … near '…'``, with the line
    and column (sqlglot's own description only when it names no parser internals)."""
    errs = getattr(exc, "errors", None) or []
    if not errs:
        text = next((ln for ln in str(exc).splitlines() if ln.strip()), str(exc))
        return one_line(text, 200) if "<class" not in text else "invalid syntax"
    e = errs[0]
    near = (e.get("highlight") or "").strip()
    rest = (e.get("end_context") or "").strip()
    at = f"(line {e.get('line')}, column {e.get('col')})"
    if dialect == "mysql":
        return one_line(f"You have an error in your SQL syntax near '{(near + ' ' + rest).strip()}' {at}", 200)
    if dialect == "postgres":
        if not rest:
            return f"syntax error at end of input {at}"
        return one_line(f'syntax error at or near "{near}" {at}', 200)
    what = str(e.get("description") or "invalid syntax").split(" but got <Token")[0].rstrip(".")
    if "<class" in what or "Required keyword" in what:
        what = "invalid syntax"
    return one_line(f"{what}{f' near {near!r}' if near else ''} {at}", 200)
