"""Numbers as the source computes them: the type and scale of every arithmetic result, and exact
decimal division.

:func:`kind_of` is the one place that says what type an expression has in the source dialect —
``int``, ``decimal`` with its scale, ``float`` — by the source's rules (sqlglot's annotation
does not follow them for decimals):

=====================  ==============================  ======================================
                       PostgreSQL                      MySQL/MariaDB
=====================  ==============================  ======================================
``a + b``, ``a - b``   scale max(s1, s2)               scale max(s1, s2)
``a * b``              scale s1 + s2                   scale s1 + s2 (at most 30)
``int / int``          integer, truncated              DECIMAL, scale 4
``a / b`` (exact)      numeric, scale per value [1]_   DECIMAL, scale s1 + 4 (at most 30), half up
``SUM``                int -> bigint, bigint ->        DECIMAL of the argument's scale
                       numeric, numeric keeps scale
``AVG`` (exact)        numeric, scale per value [1]_   DECIMAL, scale s + 4, half up
``ROUND(x, n)``        scale n                         scale n
=====================  ==============================  ======================================

.. [1] PostgreSQL picks the scale of each quotient from the operands' values
   (``select_div_scale``: at least 16 significant digits, never fewer decimals than either
   operand shows): ``262.00 / 3`` = ``87.3333333333333333``, ``1 / 3.0`` has 20 decimals.

DuckDB divides decimals through a double; here every exact division runs in
:func:`pg_div` / :func:`mysql_div` (Python's ``decimal``, registered as engine functions) and
the result is a DECIMAL(38, s): exact, or refused at run time when it does not fit.
"""
from __future__ import annotations

import contextvars
import decimal
from dataclasses import dataclass
from typing import Any, Optional

from lakepkg.query.strings import END, REFUSE, SOURCE_ERROR, _Keys, dtype, refusal

#: MySQL's default div_precision_increment (the server's recorded one applies when the snapshot has it)
DIV_PRECISION_INCREMENT = 4
_INCREMENT: contextvars.ContextVar[int] = contextvars.ContextVar("div_precision_increment",
                                                                 default=DIV_PRECISION_INCREMENT)
#: the scale PostgreSQL's numeric quotients are held at in the engine (a quotient needing more is refused)
PG_QUOTIENT_SCALE = 24
PG_FUNCTION = "lakepkg_pg_div"
MYSQL_FUNCTION = "lakepkg_mysql_div"


@dataclass(frozen=True)
class Kind:
    """What a numeric expression is in the source: ``int``, ``decimal`` (scale; None: per value),
    ``float``, or ``other``."""

    name: str
    scale: Optional[int] = 0


INT, FLOAT, OTHER = Kind("int"), Kind("float"), Kind("other")


def _from_type(t: Any) -> Kind:
    from sqlglot import exp

    T = exp.DataType.Type
    if t.this in exp.DataType.INTEGER_TYPES:
        return INT
    if t.this in (T.FLOAT, T.DOUBLE):
        return FLOAT
    if t.this in (T.DECIMAL, T.BIGDECIMAL):
        if len(t.expressions) > 1:
            try:
                return Kind("decimal", int(t.expressions[1].name))
            except (TypeError, ValueError):
                return Kind("decimal", None)
        return Kind("decimal", 0 if t.expressions else None)
    return OTHER


def _combine(kinds: list[Kind]) -> Kind:
    kinds = [k for k in kinds if k.name != "null"]
    if not kinds or any(k.name == "other" for k in kinds):
        return OTHER
    if any(k.name == "float" for k in kinds):
        return FLOAT
    if all(k.name == "int" for k in kinds):
        return INT
    scales = [k.scale if k.name == "decimal" else 0 for k in kinds]
    return Kind("decimal", None if any(s is None for s in scales) else max(s for s in scales if s is not None))


def kind_of(node: Any, source: str) -> Kind:
    """The source's type of ``node`` (see the module doc)."""
    from sqlglot import exp

    if isinstance(node, (exp.Paren, exp.Neg, exp.Abs)):
        return kind_of(node.this, source)
    if isinstance(node, exp.Null):
        return Kind("null")
    if isinstance(node, exp.Literal):
        if node.is_string:
            return OTHER
        # an exact literal (1.5 in PostgreSQL and MySQL) is a cast to DECIMAL by now (exact_literals);
        # one still written with a point or an exponent is a double
        text = node.this
        return FLOAT if ("." in text or "e" in text.lower()) else INT
    if isinstance(node, (exp.Cast, exp.TryCast)):
        if isinstance(node.this, exp.Anonymous) and node.this.name == PG_FUNCTION:
            return Kind("decimal", None)  # a PostgreSQL quotient: its scale is the value's own
        return _from_type(node.to)
    if isinstance(node, (exp.Add, exp.Sub)):
        return _combine([kind_of(node.this, source), kind_of(node.expression, source)])
    if isinstance(node, exp.Mul):
        a, b = kind_of(node.this, source), kind_of(node.expression, source)
        k = _combine([a, b])
        if k.name != "decimal":
            return k
        if a.scale is None or b.scale is None:
            return Kind("decimal", None)
        s = (a.scale if a.name == "decimal" else 0) + (b.scale if b.name == "decimal" else 0)
        return Kind("decimal", min(s, 30) if source == "mysql" else s)
    if isinstance(node, exp.Div):
        a, b = kind_of(node.this, source), kind_of(node.expression, source)
        k = _combine([a, b])
        if k.name in ("other", "float"):
            return k
        if source == "postgres":
            return INT if k.name == "int" else Kind("decimal", None)
        if source == "mysql":
            if a.scale is None:
                return Kind("decimal", None)
            return Kind("decimal", min((a.scale if a.name == "decimal" else 0) + _INCREMENT.get(), 30))
        return k
    if isinstance(node, exp.IntDiv):
        return INT
    if isinstance(node, exp.Mod):
        return _combine([kind_of(node.this, source), kind_of(node.expression, source)])
    if isinstance(node, exp.Window):
        return kind_of(node.this, source)
    if isinstance(node, exp.Count):
        return INT
    if isinstance(node, (exp.Min, exp.Max)):
        return kind_of(node.this, source)
    if isinstance(node, exp.Sum):
        a = kind_of(_arg(node), source)
        if a.name == "int":
            if source == "mysql":
                return Kind("decimal", 0)
            if source == "postgres" and dtype(_arg(node)).this.name in ("BIGINT", "UBIGINT"):
                return Kind("decimal", 0)
            return INT
        return a
    if isinstance(node, exp.Avg):
        a = kind_of(_arg(node), source)
        if a.name in ("int", "decimal"):
            if source == "postgres":
                return Kind("decimal", None)
            if source == "mysql":
                sc: Optional[int] = 0 if a.name == "int" else a.scale
                return Kind("decimal", None if sc is None else min(sc + _INCREMENT.get(), 30))
        return a
    if isinstance(node, exp.Round):
        a = kind_of(node.this, source)
        if a.name == "decimal":
            n = node.args.get("decimals")
            if n is None:
                return Kind("decimal", 0)
            if isinstance(n, exp.Literal) and not n.is_string:
                return Kind("decimal", max(int(n.this), 0))
            if isinstance(n, exp.Neg) and isinstance(n.this, exp.Literal):
                return Kind("decimal", 0)
            return Kind("decimal", None)
        return a
    if isinstance(node, exp.Case):
        return _combine([kind_of(i.args.get("true"), source) for i in node.args.get("ifs") or []]
                        + ([kind_of(node.args["default"], source)] if node.args.get("default") is not None else []))
    if isinstance(node, exp.If):
        return _combine([kind_of(node.args.get("true"), source)]
                        + ([kind_of(node.args["false"], source)] if node.args.get("false") is not None else []))
    if isinstance(node, exp.Coalesce):
        return _combine([kind_of(node.this, source)] + [kind_of(e, source) for e in node.expressions])
    return _from_type(dtype(node))


def _arg(agg: Any) -> Any:
    from sqlglot import exp

    a = agg.this
    if isinstance(a, exp.Distinct) and a.expressions:
        return a.expressions[0]
    return a


def _exact(k: Kind) -> bool:
    return k.name in ("int", "decimal")


# -- exact division, computed by the engine through these functions -----------------------------------

def _dscale(d: decimal.Decimal) -> int:
    exp_ = d.as_tuple().exponent
    return -exp_ if isinstance(exp_, int) and exp_ < 0 else 0


def _weight(d: decimal.Decimal) -> tuple[int, int]:
    """PostgreSQL's base-10000 weight and first digit of ``d`` (0, 0 for zero)."""
    if d == 0:
        return 0, 0
    a = abs(d)
    w = a.adjusted() // 4
    return w, int(a.scaleb(-4 * w))


def pg_div(a: Optional[str], b: Optional[str]) -> Optional[str]:
    """PostgreSQL's numeric ``a / b``: the quotient rounded (half away from zero) to
    ``select_div_scale``'s scale; ``division by zero`` as PostgreSQL says it."""
    if a is None or b is None:
        return None
    x, y = decimal.Decimal(a), decimal.Decimal(b)
    if y == 0:
        raise ZeroDivisionError(SOURCE_ERROR + "division by zero" + END)
    w1, f1 = _weight(x)
    w2, f2 = _weight(y)
    qweight = w1 - w2 - (1 if f1 <= f2 else 0)
    rscale = max(16 - qweight * 4, _dscale(x), _dscale(y), 0)
    rscale = min(rscale, 1000)
    if rscale > PG_QUOTIENT_SCALE:
        raise ArithmeticError(REFUSE + refusal(f"a numeric quotient with {rscale} decimals ({a} / {b})",
                                               "postgres").args[0] + END)
    return _quotient(x, y, rscale)


def mysql_div(a: Optional[str], b: Optional[str], scale: int) -> Optional[str]:
    """MySQL's exact ``a / b``: NULL for a zero divisor, else rounded half up to ``scale``."""
    if a is None or b is None:
        return None
    x, y = decimal.Decimal(a), decimal.Decimal(b)
    if y == 0:
        return None
    return _quotient(x, y, scale)


def _quotient(x: decimal.Decimal, y: decimal.Decimal, scale: int) -> str:
    digits = max(len(x.as_tuple().digits), 1) + max(len(y.as_tuple().digits), 1) + scale + 40
    with decimal.localcontext() as c:
        c.prec = digits
        q = (x / y).quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    return format(q, "f")


def register(con: Any, name: Optional[str] = None) -> None:
    """Make :func:`pg_div` and :func:`mysql_div` (or only the one called ``name``) callable in DuckDB
    connection ``con``."""
    if name in (None, PG_FUNCTION):
        con.create_function(PG_FUNCTION, pg_div, ["VARCHAR", "VARCHAR"], "VARCHAR", null_handling="special",
                            side_effects=False)
    if name in (None, MYSQL_FUNCTION):
        con.create_function(MYSQL_FUNCTION, mysql_div, ["VARCHAR", "VARCHAR", "INTEGER"], "VARCHAR",
                            null_handling="special", side_effects=False)


# -- the transforms -----------------------------------------------------------------------------------

def _text(e: Any) -> Any:
    from sqlglot import exp

    return exp.cast(exp.Paren(this=e), "VARCHAR")


def _call(ctx: Any, a: Any, b: Any, scale: Optional[int]) -> Any:
    from sqlglot import exp

    if ctx.target != "duckdb":
        raise refusal("exact decimal division on the Spark engine", ctx.source)
    if ctx.source == "postgres":
        call = exp.Anonymous(this=PG_FUNCTION, expressions=[_text(a), _text(b)])
        out = exp.Cast(this=call, to=exp.DataType.build(f"DECIMAL(38, {PG_QUOTIENT_SCALE})"))
    else:
        call = exp.Anonymous(this=MYSQL_FUNCTION, expressions=[_text(a), _text(b), exp.Literal.number(scale)])
        out = exp.Cast(this=call, to=exp.DataType.build(f"DECIMAL(38, {scale})"))
    return out


def _some_rows_only(node: Any) -> bool:
    """Whether ``node`` is in a select list (not inside an aggregate or a window, which see every
    row) of a query block that a LIMIT, OFFSET or FETCH (its own or an enclosing one's) cuts."""
    from sqlglot import exp

    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(parent, (exp.AggFunc, exp.Window)):
            return False
        child, parent = parent, parent.parent
    if parent is None or child.arg_key != "expressions":
        return False
    while parent is not None:
        if isinstance(parent, exp.Query) and any(parent.args.get(k) for k in ("limit", "offset", "fetch")):
            return True
        parent = parent.parent
    return False


def _divide(node: Any, ctx: Any) -> Optional[Any]:
    """The exact replacement of a division or an average node, or None when the engine's is right."""
    from sqlglot import exp

    src = ctx.source
    if isinstance(node, exp.Div):
        a, b = kind_of(node.this, src), kind_of(node.expression, src)
        if not (_exact(a) and _exact(b)):
            return None
        if src == "postgres" and a.name == "int" and b.name == "int":
            # integer division, truncating; PostgreSQL refuses a zero divisor
            den = node.expression
            zero: Any = exp.EQ(this=den.copy(), expression=exp.Literal.number(0))
            if _some_rows_only(node):
                # PostgreSQL computes a select list for every row the WHERE keeps, before ORDER BY
                # and LIMIT; the engine may compute it for the rows the LIMIT keeps only: the check
                # sees every row (a window over the whole result), so a zero divisor on any row fails
                anywhere = exp.Window(this=exp.Max(this=exp.Case(ifs=[exp.If(this=zero, true=exp.Literal.number(1))],
                                                                 default=exp.Literal.number(0))))
                zero = exp.EQ(this=anywhere, expression=exp.Literal.number(1))
            guarded = exp.Case(ifs=[exp.If(this=zero, true=_Keys(ctx).error("division by zero", den, SOURCE_ERROR,
                                                                                 "BIGINT"))],
                               default=den.copy())
            return exp.IntDiv(this=node.this.copy(), expression=guarded)
        if a.scale is None or b.scale is None:
            raise refusal(f"the division {node.sql(src)} of a result whose scale {_label(src)} picks per value",
                          src)
        scale = kind_of(node, src).scale
        return _call(ctx, node.this.copy(), node.expression.copy(), scale)
    window = node if isinstance(node, exp.Window) else None
    avg = node.this if window is not None else node
    if not isinstance(avg, exp.Avg):
        return None
    k = kind_of(_arg(avg), src)
    if not _exact(k):
        return None
    if k.scale is None:
        raise refusal(f"{avg.sql(src)} of a result whose scale {_label(src)} picks per value", src)
    arg = avg.this.copy()
    total: Any = exp.Sum(this=arg)
    count: Any = exp.Count(this=arg.copy())
    if window is not None:
        total = window.copy()
        total.set("this", exp.Sum(this=arg.copy()))
        count = window.copy()
        count.set("this", exp.Count(this=arg.copy()))
    return _call(ctx, total, count, kind_of(avg, src).scale)


def _label(src: str) -> str:
    from lakepkg.query.dialects import label

    return label(src)


def _exact_division(tree: Any, ctx: Any) -> Any:
    from sqlglot import exp

    for node in reversed(list(tree.walk())):
        if isinstance(node, exp.Avg) and isinstance(node.parent, exp.Window):
            continue  # the window is replaced as a whole
        if isinstance(node, (exp.Div, exp.Avg, exp.Window)):
            new = _divide(node, ctx)
            if new is not None:
                new.type = exp.DataType.build("BIGINT" if isinstance(new, exp.IntDiv) else "DECIMAL")
                node.replace(new)
    return tree


def mysql_division(tree: Any, ctx: Any) -> Any:
    """MySQL ``/`` and ``AVG`` on exact numbers: DECIMAL at the dividend's scale +
    ``div_precision_increment`` (the server's recorded value, else 4), rounded half up."""
    if ctx.source != "mysql":
        return tree
    recorded = (getattr(ctx, "settings", None) or {}).get("div_precision_increment")
    token = _INCREMENT.set(int(recorded) if recorded is not None else DIV_PRECISION_INCREMENT)
    try:
        return _exact_division(tree, ctx)
    finally:
        _INCREMENT.reset(token)


def pg_numeric_results(tree: Any, ctx: Any) -> Any:
    """PostgreSQL numeric ``/`` and ``avg`` of integers or numerics: exact, at PostgreSQL's scale."""
    if ctx.source != "postgres":
        return tree
    return _exact_division(tree, ctx)
