"""Where the engine's meaning differs from the source's, rewrite the query so the source's answer comes
out — or refuse the construct in one line. Each fix is one sqlglot transform over a query whose
columns are qualified and typed (:func:`lakepkg.query.transpile.typed`).

========================  ==========================================================================
fix                       what the source does, and the rewrite
========================  ==========================================================================
``numeric_casts``         PostgreSQL ``x::numeric`` is exact and unbounded (a double keeps 15
                          significant digits); DuckDB's bare ``DECIMAL`` is (18,3). MySQL's bare
                          ``DECIMAL`` is (10,0). Both become an explicit precision and scale.
``mysql_division``        MySQL ``/`` and ``AVG`` on exact numbers: exact, at the dividend's scale + 4
                          (:mod:`.numbers`).
``pg_numeric_results``    PostgreSQL numeric ``/`` and ``avg``: exact, at PostgreSQL's per-value scale
                          (:mod:`.numbers`).
``pg_char_blanks``        PostgreSQL ``character(n)``: trailing blanks ignored in comparisons, dropped
                          as text (:mod:`.strings`).
``round_half_even``       PostgreSQL ``round(double)`` and MySQL ``ROUND(double, n)`` round half to even;
                          the engine's ``ROUND`` rounds half away from zero -> ``ROUND_EVEN`` / ``BROUND``.
``mysql_case_insensitive`` MySQL compares strings under each column's collation: case-insensitive
                          and PAD SPACE keys, refusals where MySQL's answer depends on scan order
                          (:mod:`.strings`).
``source_formats``        ``to_char`` / ``DATE_FORMAT`` formats converted exactly (:mod:`.formats`).
``mysql_booleans``        MySQL has no boolean: a comparison in the select list is 1/0, a tinyint(1)
                          column is a number (the engine view keeps it TINYINT).
``integer_sums``          ``sum(int)`` is a bigint in PostgreSQL, Spark, Trino (the engine's is 128-bit).
``refuse_volatile``       ``now()``, ``current_date``, ``random()``…: the answer depends on when the query
                          runs, not on the snapshot -> refused.
========================  ==========================================================================

Integer division (``7/2`` is 3 in PostgreSQL, Trino and SQLite; PostgreSQL refuses a zero
divisor, :mod:`.numbers`), NULL ordering (PostgreSQL puts
NULLs last ascending, MySQL and Spark first), ``IF``/``IFNULL`` and ``GROUP BY`` ordinals are
handled by sqlglot's own transpilation once the query is typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from lakepkg.errors import QueryError
from lakepkg.query.dialects import label
from lakepkg.query.numbers import kind_of, mysql_division, pg_numeric_results
from lakepkg.query.strings import engine_hint, mysql_case_insensitive, pg_char_blanks, pg_text_order


@dataclass(frozen=True)
class Context:
    """What a transform needs: the source dialect, the engine's (``duckdb`` or ``spark``) and the
    source server's recorded settings (``div_precision_increment``, ``database_collation``, ...)."""

    source: str
    target: str
    settings: dict[str, Any] = field(default_factory=dict)


def _dtype(node: Any) -> Any:
    from sqlglot import exp

    t = getattr(node, "type", None)
    return t if isinstance(t, exp.DataType) else exp.DataType.build("UNKNOWN")


def _is(node: Any, *groups: str) -> bool:
    from sqlglot import exp

    t = _dtype(node)
    sets = {"int": exp.DataType.INTEGER_TYPES, "float": exp.DataType.REAL_TYPES - {exp.DataType.Type.DECIMAL}
            | {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE},
            "decimal": {exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL},
            "text": exp.DataType.TEXT_TYPES, "bool": {exp.DataType.Type.BOOLEAN}}
    return any(t.this in sets[g] for g in groups)


def _scale(node: Any) -> int:
    t = _dtype(node)
    if _is(node, "decimal") and len(t.expressions) > 1:
        try:
            return int(t.expressions[1].name)
        except (TypeError, ValueError):
            return 0
    return 0


def _refuse(what: str, ctx: Context, hint: str) -> QueryError:
    return QueryError(f"{what} cannot be reproduced faithfully from {label(ctx.source)} on the snapshot; {hint}"
                      + (f" ({engine_hint(ctx.source)})" if ctx.source in ("postgres", "mysql") else ""))


# -- the transforms ----------------------------------------------------------------------------

def refuse_volatile(tree: Any, ctx: Context) -> Any:
    from sqlglot import exp

    kinds = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime, exp.Rand,
             exp.Uuid) + tuple(c for c in (getattr(exp, "Random", None), getattr(exp, "Localtimestamp", None),
                                           getattr(exp, "Localtime", None)) if c is not None)
    for node in tree.find_all(*kinds):
        raise _refuse(node.sql(ctx.source), ctx,
                      "its answer depends on when the query runs, not on the snapshot: write the time or "
                      "value it had as a literal")
    return tree


def numeric_casts(tree: Any, ctx: Context) -> Any:
    from sqlglot import exp

    def fix(node: Any) -> Any:
        if not isinstance(node, (exp.Cast, exp.TryCast)):
            return node
        to = node.to
        if to.this not in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL) or to.expressions:
            return node
        if ctx.source == "mysql":
            node.set("to", exp.DataType.build("DECIMAL(10, 0)"))
            return node
        if ctx.source != "postgres":
            return node
        inner = node.this
        k = kind_of(inner, "postgres")
        if k.name == "int":
            node.set("to", exp.DataType.build("DECIMAL(38, 0)"))
        elif k.name == "decimal":
            return inner  # already numeric: the cast changes nothing
        elif k.name == "float":
            # float8::numeric keeps 15 significant digits (PostgreSQL's float8_numeric)
            text = exp.Anonymous(this="PRINTF", expressions=[exp.Literal.string("%.14e"), inner.copy()])
            return exp.Cast(this=text, to=exp.DataType.build("DECIMAL(38, 20)"))
        else:
            raise _refuse(f"a cast of {inner.sql('postgres')} to numeric without precision", ctx,
                          "give the precision and scale, e.g. ::numeric(18,4)")
        return node

    return tree.transform(fix, copy=False)


def round_half_even(tree: Any, ctx: Context) -> Any:
    """PostgreSQL ``round(double)`` / MySQL ``ROUND(double, n)`` round half to even; PostgreSQL's
    ``round(int)`` is ``round(double)``, its ``round(int, n)`` is ``round(numeric, n)``."""
    from sqlglot import exp

    if ctx.source not in ("postgres", "mysql"):
        return tree
    name = "BROUND" if ctx.target == "spark" else "ROUND_EVEN"

    def fix(node: Any) -> Any:
        if not isinstance(node, exp.Round):
            return node
        if ctx.source == "postgres" and kind_of(node.this, "postgres").name == "int":
            if node.args.get("decimals") is not None:
                node.set("this", exp.cast(node.this.copy(), "DECIMAL(38, 0)"))
                return node
            return exp.Anonymous(this=name, expressions=[exp.cast(node.this.copy(), "DOUBLE"), exp.Literal.number(0)])
        if _is(node.this, "float"):
            if ctx.source == "postgres" and node.args.get("decimals") is not None:
                return node  # PostgreSQL has no round(double, int); the engine reports the same
            decimals = node.args.get("decimals") or exp.Literal.number(0)
            return exp.Anonymous(this=name, expressions=[node.this.copy(), decimals.copy()])
        return node

    return tree.transform(fix, copy=False)


def source_formats(tree: Any, ctx: Context) -> Any:
    from sqlglot import exp

    from lakepkg.query.parse import DATE_FORMAT, TO_CHAR

    def fix(node: Any) -> Any:
        if not isinstance(node, exp.Anonymous) or node.name not in (TO_CHAR, DATE_FORMAT):
            return node
        from lakepkg.query import formats  # a query with to_char / DATE_FORMAT only (start-up)

        args = node.expressions
        fname = "to_char" if node.name == TO_CHAR else "DATE_FORMAT"
        if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
            raise _refuse(f"{fname} with a format that is not a string literal", ctx, "write the format as a literal")
        value, fmt = args[0], args[1].this
        if node.name == TO_CHAR:
            if _is(value, "int", "float", "decimal"):
                raise _refuse(f"to_char of a number ({fmt!r})", ctx, "format numbers with round() and a cast to text")
            return formats.build(value, formats.pg_to_char(fmt))
        if not _is(value, "text") and _dtype(value).this != exp.DataType.Type.UNKNOWN:
            return formats.build(value, formats.mysql_date_format(fmt))
        return formats.build(exp.cast(value, "TIMESTAMP"), formats.mysql_date_format(fmt))

    return tree.transform(fix, copy=False)


def mysql_booleans(tree: Any, ctx: Context) -> Any:
    from sqlglot import exp

    if ctx.source != "mysql":
        return tree
    preds = (exp.Predicate, exp.Connector, exp.Not)

    def numeric_use(node: Any) -> Any:
        if isinstance(node, (exp.AggFunc, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv)) and not isinstance(node, exp.Count):
            for key in ("this", "expression"):
                arg = node.args.get(key)
                if isinstance(arg, preds):
                    node.set(key, exp.cast(exp.Paren(this=arg.copy()), "INT"))
        return node

    tree = tree.transform(numeric_use, copy=False)
    for select in tree.find_all(exp.Select):
        new = []
        for proj in select.expressions:
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            if isinstance(inner, (exp.Predicate, exp.Connector, exp.Not, exp.Boolean)) and not isinstance(inner, exp.Column):
                cast = exp.cast(exp.Paren(this=inner.copy()), "INT")
                proj = exp.alias_(cast, proj.alias) if isinstance(proj, exp.Alias) else cast
            new.append(proj)
        select.set("expressions", new)
    return tree


def integer_sums(tree: Any, ctx: Context) -> Any:
    """``sum`` of integers is a BIGINT in PostgreSQL (of int/smallint), Spark, Trino and SQLite; the
    engine's is a 128-bit integer. (MySQL's is a DECIMAL, which the 128-bit integer already reads as.)"""
    from sqlglot import exp

    if ctx.source not in ("postgres", "spark", "trino", "sqlite"):
        return tree
    narrow = (exp.DataType.Type.INT, exp.DataType.Type.SMALLINT, exp.DataType.Type.TINYINT)

    def fix(node: Any) -> Any:
        if isinstance(node, exp.Sum) and _is(node.this, "int") and not isinstance(node.parent, exp.Window):
            if ctx.source != "postgres" or _dtype(node.this).this in narrow:
                return exp.cast(node.copy(), "BIGINT")
        return node

    return tree.transform(fix, copy=False)


def exact_literals(tree: Any, ctx: Context) -> Any:
    """Before typing: ``100.0`` is an exact numeric in PostgreSQL (``1e2`` too) and in MySQL, not a
    double; it becomes ``CAST('100.0' AS DECIMAL(4, 1))`` so the arithmetic around it stays exact."""
    from sqlglot import exp

    if ctx.source not in ("postgres", "mysql"):
        return tree

    def fix(node: Any) -> Any:
        if not (isinstance(node, exp.Literal) and not node.is_string):
            return node
        if isinstance(node.parent, (exp.PercentileCont, exp.PercentileDisc, exp.Limit, exp.Offset)):
            return node  # a fraction or a count, not a value
        text = node.this
        if "." not in text and not (ctx.source == "postgres" and "e" in text.lower()):
            return node
        if "e" in text.lower():
            if ctx.source == "mysql":
                return node  # 1.5e3 is a DOUBLE in MySQL
            import decimal

            text = format(decimal.Decimal(text), "f")
        whole, _, frac = text.partition(".")
        digits = len(whole.lstrip("-+").lstrip("0")) + len(frac)
        precision, scale = max(digits, 1, len(frac)), len(frac)
        if precision > 38:
            return node
        return exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build(f"DECIMAL({precision}, {scale})"))

    return tree.transform(fix, copy=False)


def pg_extract_numeric(tree: Any, ctx: Context) -> Any:
    """PostgreSQL (14 and later): ``extract`` / ``date_part`` of a timestamp is numeric — scale 6 for
    seconds and epoch, 0 for the other fields; the engine's is an integer or a double."""
    from sqlglot import exp

    if ctx.source != "postgres":
        return tree

    def fix(node: Any) -> Any:
        if isinstance(node, exp.Extract) and not isinstance(node.parent, exp.Cast):
            field = node.this.name.lower()
            if field in ("second", "seconds", "epoch", "julian", "milliseconds", "microseconds"):
                return node  # fractional: left to the engine (a double)
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DECIMAL(38, 0)"))
        return node

    return tree.transform(fix, copy=False)


#: before the query is typed
PREPARE: list[Callable[[Any, Context], Any]] = [exact_literals]

#: in order; each one a function (tree, Context) -> tree
TRANSFORMS: list[Callable[[Any, Context], Any]] = [
    refuse_volatile, source_formats, pg_text_order, pg_char_blanks, mysql_case_insensitive, numeric_casts,
    mysql_booleans,
    mysql_division, pg_numeric_results, round_half_even, integer_sums, pg_extract_numeric,
]


def prepare(tree: Any, ctx: Context) -> Any:
    """``tree`` with the fixes that must come before typing."""
    for t in PREPARE:
        tree = t(tree, ctx)
    return tree


def apply(tree: Any, ctx: Context) -> Any:
    """``tree`` with every semantic fix applied (QueryError for a construct refused)."""
    for t in TRANSFORMS:
        tree = t(tree, ctx)
    return tree
