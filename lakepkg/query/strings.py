"""How the source compares and shows strings, by each column's declared type and collation.

PostgreSQL ``character(n)`` (``bpchar``, :func:`pg_char_blanks`). The snapshot keeps the value as
PostgreSQL shows it, blank-padded to ``n``. PostgreSQL ignores the trailing blanks wherever it
compares two ``character`` values or one with a string literal or a ``varchar`` (``=``, ``<``,
``IN``, ``BETWEEN``, joins, ``ORDER BY``) and drops them wherever the value becomes text (``||``,
``length()``, ``upper()``, ``substring()``, a cast to text); ``LIKE``, ``GROUP BY``, ``DISTINCT``,
``MIN``/``MAX`` and the answer itself use the padded value. So a ``character`` expression is
right-trimmed in exactly the first two kinds of places.

MySQL/MariaDB collations (:func:`mysql_case_insensitive`). A column compares under its collation
(``utf8mb4_general_ci`` unless another was recorded): ``_ci`` collations compare upper-cased,
PAD SPACE collations (all of MariaDB's but the ``nopad`` ones) ignore trailing blanks — in
``=``, ``<>``, ``<``, ``IN``, ``BETWEEN``, joins, ``ORDER BY``, ``GROUP BY``, ``DISTINCT``,
``COUNT(DISTINCT)``, ``MIN``/``MAX`` and window partitions; ``LIKE`` is case-insensitive but
never pads. Each such place compares a key: ``UPPER(RTRIM(x))``. Where MySQL shows one value
for several that compare equal (a ``GROUP BY`` or ``MIN`` over 'Berlin' and 'berlin') the answer
depends on the server's scan order, so the engine refuses the query when that happens, at run
time, instead of picking one. Text outside printable ASCII under a case-insensitive collation
(accent and case folding by the collation's own tables) is refused the same way.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from lakepkg.errors import QueryError
from lakepkg.query.dialects import label
from lakepkg.query.source_types import Collation, collation_of

#: engine errors starting with this are refusals (raised by the query at run time)
REFUSE = "lakepkg-refuse: "
#: ... and end here
END = " ~"
#: engine errors starting with this are the source's own errors (division by zero)
SOURCE_ERROR = "lakepkg-error: "


def _types() -> Any:
    from sqlglot import exp

    return exp.DataType.Type


def dtype(node: Any) -> Any:
    from sqlglot import exp

    t = getattr(node, "type", None)
    return t if isinstance(t, exp.DataType) else exp.DataType.build("UNKNOWN")


def is_char(node: Any) -> bool:
    T = _types()
    return dtype(node).this in (T.CHAR, T.NCHAR)


def is_text(node: Any) -> bool:
    from sqlglot import exp

    return dtype(node).this in exp.DataType.TEXT_TYPES or (isinstance(node, exp.Literal) and node.is_string)


def is_string_literal(node: Any) -> bool:
    from sqlglot import exp

    return isinstance(node, exp.Literal) and node.is_string


def engine_hint(source: str) -> str:
    """What answers a refused query exactly."""
    return {"postgres": "--engine postgres answers it exactly",
            "mysql": "--engine mysql --server URL answers it exactly"}.get(source, "the source itself answers it")


def refusal(what: str, source: str) -> QueryError:
    """The one-line refusal of a construct the fast engine does not model for ``source``."""
    return QueryError(f"{what} is not reproduced exactly by the fast engine for {label(source)}; "
                      f"{engine_hint(source)}")


def _replace(child: Any, make: Callable[[Any], Any]) -> Any:
    """Put ``make(copy of child)`` where ``child`` is; the new node keeps the child's type."""
    new = make(child.copy())
    if getattr(new, "type", None) is None and getattr(child, "type", None) is not None:
        new.type = child.type.copy()
    child.replace(new)
    return new


def _when(cond: Any, then: Any, otherwise: Any, like: Any) -> Any:
    """``CASE WHEN cond THEN then ELSE otherwise END``, typed as ``like`` (the value it stands for)."""
    from sqlglot import exp

    out = exp.Case(ifs=[exp.If(this=cond, true=then)], default=otherwise)
    out.type = dtype(like).copy()
    return out


def _rtrim(e: Any) -> Any:
    from sqlglot import exp

    if isinstance(e, exp.Trim) and e.args.get("position") == "TRAILING":
        return e
    if is_string_literal(e):
        return exp.Literal.string(e.this.rstrip(" "))
    t = exp.Trim(this=e, position="TRAILING")
    t.type = exp.DataType.build("VARCHAR")
    return t


# -- PostgreSQL character(n) ------------------------------------------------------------------------

def pg_char_blanks(tree: Any, ctx: Any) -> Any:
    """PostgreSQL ``character(n)``: trailing blanks ignored in comparisons, dropped as text."""
    from sqlglot import exp

    if ctx.source != "postgres":
        return tree
    compare = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
    keep = (exp.Min, exp.Max, exp.Coalesce, exp.Nullif, exp.Count, exp.AnyValue, exp.First, exp.Last,
            exp.Greatest, exp.Least, exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue, exp.If,
            exp.Window)

    def partner(e: Any) -> bool:  # compared as character too: literals, character and varchar columns
        return is_char(e) or is_string_literal(e) or (isinstance(e, exp.Column) and is_text(e)
                                                        and dtype(e).this != _types().TEXT)

    for node in reversed(list(tree.walk())):
        if isinstance(node, compare):
            if is_char(node.this) or is_char(node.expression):
                for side in (node.this, node.expression):
                    if partner(side):
                        _replace(side, _rtrim)
        elif isinstance(node, exp.Between):
            if is_char(node.this):
                for side in (node.this, node.args.get("low"), node.args.get("high")):
                    if side is not None and partner(side):
                        _replace(side, _rtrim)
        elif isinstance(node, exp.In):
            items = node.expressions
            if is_char(node.this) or any(is_char(e) for e in items):
                for side in [node.this, *items]:
                    if partner(side):
                        _replace(side, _rtrim)
                query = node.args.get("query")
                if query is not None:
                    _trim_projections(query.this if isinstance(query, exp.Subquery) else query, partner)
        elif isinstance(node, exp.Ordered):
            if is_char(node.this):
                _replace(node.this, _rtrim)
        elif isinstance(node, (exp.Like, exp.ILike)):
            if is_char(node.expression):
                _replace(node.expression, _rtrim)
        elif isinstance(node, exp.DPipe) or (isinstance(node, exp.Func) and not isinstance(node, keep)):
            if isinstance(node, exp.Cast) and dtype(node).this in (_types().CHAR, _types().NCHAR):
                continue
            for value in list(node.args.values()):
                for arg in (value if isinstance(value, list) else [value]):
                    if isinstance(arg, exp.Expression) and not isinstance(arg, exp.DataType) and is_char(arg):
                        _replace(arg, _rtrim)
    return tree


def _trim_projections(select: Any, partner: Callable[[Any], bool]) -> None:
    from sqlglot import exp

    if not isinstance(select, exp.Select):
        return
    for proj in select.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if partner(inner):
            _replace(inner, _rtrim)


#: PostgreSQL collations that order text by its bytes, as the engine does
BYTE_ORDER = {"c", "posix", "c.utf-8", "c.utf8", "ucs_basic", "pg_c_utf8"}


def pg_text_order(tree: Any, ctx: Any) -> Any:
    """PostgreSQL orders text by the database's collation; the engine orders by bytes, which is the
    ``C`` collation's order. Under another collation (``en_US.UTF-8``: 'a' < 'B'), ordering text
    (``<``, ``BETWEEN``, ``ORDER BY``, ``MIN``/``MAX``) is refused."""
    from sqlglot import exp

    if ctx.source != "postgres":
        return tree
    coll = str((getattr(ctx, "settings", None) or {}).get("database_collation") or "C")
    if coll.lower() in BYTE_ORDER:
        return tree
    ordering = (exp.GT, exp.GTE, exp.LT, exp.LTE)
    for node in tree.walk():
        text = (isinstance(node, ordering) and (is_text(node.this) or is_text(node.expression))) or \
            (isinstance(node, (exp.Between, exp.Ordered, exp.Min, exp.Max)) and is_text(node.this))
        if text:
            raise refusal(f"ordering text ({node.sql('postgres')}) under the database collation {coll}", "postgres")
    return tree


# -- MySQL/MariaDB collations -----------------------------------------------------------------------

class _Keys:
    """Comparison keys and run-time refusals for one query (engine: duckdb or spark)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def error(self, message: str, value: Any, marker: str = REFUSE, as_type: str = "VARCHAR") -> Any:
        """An expression that fails the query with ``message`` when evaluated. For DuckDB a failing
        conversion of a text that depends on ``value`` (``error()`` would make the expression
        volatile, and an alias of it could not be referred to)."""
        from sqlglot import exp

        text = exp.Literal.string(marker + message + END)
        if self.ctx.target == "spark":
            return exp.Anonymous(this="RAISE_ERROR", expressions=[text])
        raw = exp.DPipe(this=text, expression=exp.cast(value.copy(), "VARCHAR"), safe=True)
        return exp.cast(exp.cast(exp.Paren(this=raw), "INT"), as_type)

    def guard(self, e: Any, coll: Collation, keyed: Any) -> Any:
        """``keyed`` unless ``e`` holds text the model does not cover (then a run-time refusal)."""
        from sqlglot import exp

        pattern = "[^ -~]" if coll.case_insensitive else "[\\x00-\\x1f]"
        bad = exp.RegexpLike(this=e.copy(), expression=exp.Literal.string(pattern))
        what = ("text outside printable ASCII" if coll.case_insensitive else "control characters") + \
            f" compared under collation {coll.name}"
        return exp.Case(ifs=[exp.If(this=bad, true=self.error(refusal(what, "mysql").args[0], e))], default=keyed)

    def key(self, e: Any, coll: Collation) -> Any:
        """The value ``e`` compares as under ``coll``."""
        from sqlglot import exp

        if not coll.modelled:
            raise refusal(f"a comparison under collation {coll.name}", "mysql")
        if is_string_literal(e):
            text = e.this
            if coll.case_insensitive and any(not (" " <= ch <= "~") for ch in text):
                raise refusal(f"the literal {e.sql('mysql')} compared under collation {coll.name} "
                              f"(text outside printable ASCII)", "mysql")
            if coll.pad_space:
                text = text.rstrip(" ")
            return exp.Literal.string(text.upper() if coll.case_insensitive else text)
        if not coll.case_insensitive and not coll.pad_space:
            return e.copy()
        keyed: Any = e.copy()
        if coll.pad_space:
            keyed = exp.Trim(this=keyed, position="TRAILING")
        if coll.case_insensitive:
            keyed = exp.Upper(this=keyed)
        out = self.guard(e, coll, keyed)
        out.type = exp.DataType.build("VARCHAR")
        return out


def _collation(*nodes: Any) -> Collation:
    """The collation a comparison of ``nodes`` uses: a column's over a literal's; two columns of
    different collations are refused (MySQL refuses most such mixes too)."""
    from sqlglot import exp

    found: dict[str, Collation] = {}
    for n in nodes:
        if n is None or is_string_literal(n):
            continue
        kind = dtype(n).args.get("kind")
        if kind is not None:
            c = collation_of(dtype(n))
            found[c.name] = c
    if len(found) > 1:
        raise refusal(f"a comparison of strings of collations {' and '.join(sorted(found))}", "mysql")
    if found:
        return next(iter(found.values()))
    del exp
    return collation_of(None)


def mysql_case_insensitive(tree: Any, ctx: Any) -> Any:
    """MySQL/MariaDB: every string comparison under the column's collation (see the module doc)."""
    from sqlglot import exp

    if ctx.source != "mysql":
        return tree
    k = _Keys(ctx)
    compare = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
    numeric = exp.DataType.NUMERIC_TYPES

    def keyed(nodes: list[Any], coll: Collation) -> None:
        for n in nodes:
            if n is not None:
                _replace(n, lambda e: k.key(e, coll))

    for node in reversed(list(tree.walk())):
        if isinstance(node, compare):
            a, b = node.this, node.expression
            if is_text(a) and is_text(b):
                keyed([a, b], _collation(a, b))
            elif (is_text(a) and dtype(b).this in numeric) or (is_text(b) and dtype(a).this in numeric):
                raise refusal(f"the comparison {node.sql('mysql')} of a string with a number (MySQL compares "
                              f"them as doubles)", "mysql")
        elif isinstance(node, exp.Between) and is_text(node.this):
            sides = [node.this, node.args.get("low"), node.args.get("high")]
            keyed(sides, _collation(*sides))
        elif isinstance(node, exp.In) and is_text(node.this):
            query = node.args.get("query")
            select = query.this if isinstance(query, exp.Subquery) else query
            projs = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions] \
                if isinstance(select, exp.Select) else []
            coll = _collation(node.this, *node.expressions, *projs)
            keyed([node.this, *node.expressions, *projs], coll)
        elif isinstance(node, (exp.Like, exp.ILike)) and is_text(node.this):
            coll = _collation(node.this, node.expression)
            if not coll.modelled:
                raise refusal(f"LIKE under collation {coll.name}", "mysql")
            pattern = node.expression
            if is_string_literal(pattern) and "\\" in pattern.this:
                raise refusal(f"a LIKE pattern with a backslash escape ({pattern.sql('mysql')})", "mysql")
            if coll.case_insensitive:
                for side in (node.this, pattern):
                    _replace(side, lambda e: _upper_guarded(k, e, coll))
        elif isinstance(node, exp.Ordered) and is_text(node.this):
            _unalias(node)
            keyed([node.this], _collation(node.this))
        elif isinstance(node, exp.Window):
            for p in node.args.get("partition_by") or []:
                if is_text(p):
                    keyed([p], _collation(p))
            if isinstance(node.this, (exp.Min, exp.Max)) and is_text(node.this.this):
                raise refusal(f"{node.this.sql('mysql')} as a window function on strings", "mysql")
        elif isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
            args = node.this.expressions
            for a in args:
                if is_text(a):
                    keyed([a], _collation(a))
        elif isinstance(node, (exp.Min, exp.Max)) and is_text(node.this) and not isinstance(node.parent, exp.Window):
            coll = _collation(node.this)
            if coll.case_insensitive or coll.pad_space:
                _replace(node, lambda e: _min_max(k, e, coll))
        elif isinstance(node, exp.Join) and node.args.get("using"):
            raise refusal("JOIN … USING on MySQL (it compares under the columns' collations)", "mysql")
        elif isinstance(node, exp.SetOperation) and node.args.get("distinct") is not False:
            if any(is_text(p.this if isinstance(p, exp.Alias) else p) for p in node.selects):
                raise refusal(f"{type(node).__name__.upper()} of strings (distinct rows compare under "
                              f"collations)", "mysql")
        elif isinstance(node, exp.Case) and node.this is not None and is_text(node.this):
            raise refusal("a simple CASE on a string", "mysql")
        elif isinstance(node, (exp.Nullif, exp.Greatest, exp.Least, exp.StrPosition)) and \
                any(is_text(a) for a in node.args.values() if isinstance(a, exp.Expression)):
            raise refusal(f"{node.sql('mysql')} on strings (it compares under the collation)", "mysql")
        elif isinstance(node, exp.GroupConcat):
            _group_concat_limit(k, _group_concat(k, node))
        elif isinstance(node, exp.Select):
            _group_by(node, k)
    return tree


def _unalias(ordered: Any) -> None:
    """An ``ORDER BY`` key that names a select-list item by its alias becomes that item's expression
    (the key wraps it in an expression, where the engine does not resolve aliases)."""
    from sqlglot import exp

    col, select = ordered.this, ordered.find_ancestor(exp.Select)
    if not isinstance(col, exp.Column) or col.table or select is None:
        return
    for proj in select.expressions:
        if isinstance(proj, exp.Alias) and proj.alias == col.name:
            new = proj.this.copy()
            new.type = dtype(proj.this).copy()
            col.replace(new)
            return


def _upper_guarded(k: _Keys, e: Any, coll: Collation) -> Any:
    """LIKE's operands under a case-insensitive collation: upper-cased, never trimmed."""
    from sqlglot import exp

    if is_string_literal(e):
        if any(not (" " <= ch <= "~") for ch in e.this):
            raise refusal(f"LIKE {e.sql('mysql')} under collation {coll.name} (text outside printable ASCII)",
                          "mysql")
        return exp.Literal.string(e.this.upper())
    return k.guard(e, Collation(coll.name, True, False, True), exp.Upper(this=e.copy()))


def _one_of(k: _Keys, e: Any, coll: Collation, what: str) -> Any:
    """``MIN(e)`` when every value of ``e`` in the group is the same string, else a run-time refusal."""
    from sqlglot import exp

    distinct_raw = exp.Count(this=exp.Distinct(expressions=[e.copy()]))
    same = exp.LTE(this=distinct_raw, expression=exp.Literal.number(1))
    msg = refusal(f"{what} over strings that compare equal under collation {coll.name} but differ "
                  f"(MySQL shows one of them, by scan order)", "mysql").args[0]
    return _when(same, exp.Min(this=e.copy()), k.error(msg, exp.Min(this=e.copy())), e)


def _min_max(k: _Keys, node: Any, coll: Collation) -> Any:
    from sqlglot import exp

    e = node.this
    raw = exp.Count(this=exp.Distinct(expressions=[e.copy()]))
    keys = exp.Count(this=exp.Distinct(expressions=[k.key(e, coll)]))
    pick = (exp.ArgMin if isinstance(node, exp.Min) else exp.ArgMax)(this=e.copy(), expression=k.key(e, coll))
    msg = refusal(f"{type(node).__name__.upper()} over strings that compare equal under collation {coll.name} "
                  f"but differ (MySQL shows one of them, by scan order)", "mysql").args[0]
    return _when(exp.EQ(this=raw, expression=keys), pick, k.error(msg, exp.Min(this=e.copy())), node)


def _keyer(k: _Keys, coll: Collation) -> Callable[[Any], Any]:
    return lambda e: k.key(e, coll)


def _one_ofer(k: _Keys, coll: Collation) -> Callable[[Any], Any]:
    return lambda e: _one_of(k, e, coll, "GROUP BY")


def _group_by(select: Any, k: _Keys) -> None:
    """GROUP BY (and DISTINCT) on strings: group by the collation key; the grouped value shown is the
    group's one string, or a run-time refusal when the group holds several."""
    from sqlglot import exp

    group = select.args.get("group")
    if select.args.get("distinct") and not group and not select.args.get("distinct").args.get("on"):
        projs = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
        if any(is_text(p) for p in projs):
            if any(p.find(exp.AggFunc, exp.Window) for p in projs) or any(isinstance(p, exp.Star) for p in projs):
                raise refusal("SELECT DISTINCT over strings with aggregates or *", "mysql")
            select.set("distinct", None)
            select.set("group", exp.Group(expressions=[p.copy() for p in projs]))
            group = select.args["group"]
    if group is None:
        return
    if group.args.get("cube") or group.args.get("grouping_sets"):
        raise refusal("GROUP BY … WITH CUBE or GROUPING SETS", "mysql")
    rollup = bool(group.args.get("rollup"))
    if rollup:
        _check_rollup(select, group)
    texts = [g for g in group.expressions if is_text(g)]
    originals = [(g.copy(), _collation(g)) for g in texts]
    keys = [_replace(g, _keyer(k, coll)) for g, (_, coll) in zip(texts, originals)]
    places = list(select.expressions)
    for key in ("having", "order", "qualify"):
        if select.args.get(key) is not None:
            places.append(select.args[key])
    for place in places:
        for (orig, coll), keyed in zip(originals, keys):
            for hit in [n for n in place.walk() if n == orig and not n.find_ancestor(exp.AggFunc)
                        and n.find_ancestor(exp.Select) is select]:
                one = _replace(hit, _one_ofer(k, coll))
                if rollup:  # a super-aggregate row shows NULL for the columns rolled up
                    _replace(one, _nulled_by(keyed))
    if rollup:
        _rollup(select, group)


def _check_rollup(select: Any, group: Any) -> None:
    """What of ``GROUP BY … WITH ROLLUP`` the fast engine does not model: refused in one line."""
    from sqlglot import exp

    if select.args.get("order") is not None:
        raise refusal("GROUP BY … WITH ROLLUP with ORDER BY (MariaDB refuses it, MySQL 8 sorts the "
                      "super-aggregate rows its own way)", "mysql")
    if any(isinstance(g, exp.Ordered) for g in group.expressions):
        raise refusal("GROUP BY … ASC/DESC WITH ROLLUP", "mysql")
    if select.args.get("distinct") is not None:
        raise refusal("SELECT DISTINCT with GROUP BY … WITH ROLLUP", "mysql")


def _nulled_by(key: Any) -> Callable[[Any], Any]:
    return lambda e: _unless_rolled_up(e, key)


def _unless_rolled_up(e: Any, key: Any) -> Any:
    """``e``, or NULL in a super-aggregate row of ``ROLLUP`` where ``key`` is rolled up."""
    from sqlglot import exp

    rolled = exp.EQ(this=exp.Grouping(expressions=[key.copy()]), expression=exp.Literal.number(1))
    return _when(rolled, exp.Null(), e, e)


def _rollup(select: Any, group: Any) -> None:
    """MySQL's ``GROUP BY a, b WITH ROLLUP`` as the engine's ``GROUP BY ROLLUP(a, b)``, in MySQL's
    order (MariaDB sorts by the GROUP BY list, each group's super-aggregate row after its rows,
    the grand total last; a NULL of the data before the other values): ``ORDER BY GROUPING(a), a
    NULLS FIRST, GROUPING(b), b NULLS FIRST``."""
    from sqlglot import exp

    keys = [g.copy() for g in group.expressions]
    group.set("expressions", [exp.Rollup(expressions=[g.copy() for g in keys])])
    group.set("rollup", None)
    order = []
    for g in keys:
        order.append(exp.Ordered(this=exp.Grouping(expressions=[g.copy()]), desc=False, nulls_first=True))
        order.append(exp.Ordered(this=g.copy(), desc=False, nulls_first=True))
    select.set("order", exp.Order(expressions=order))


#: MySQL's default ``group_concat_max_len`` (MariaDB's since 10.2.4 is 1,048,576): the limit assumed when
#: the snapshot did not record the server's, so a result the source might have cut is refused, never given whole
GROUP_CONCAT_MAX_LEN = 1024


def _group_concat_limit(k: _Keys, node: Any) -> None:
    """MySQL cuts a ``GROUP_CONCAT`` result at ``group_concat_max_len`` bytes (with a warning): a result
    longer than the recorded limit (else MySQL's default, 1024) is refused when the query runs, as the
    engine would give it whole."""
    from sqlglot import exp

    recorded = (getattr(k.ctx, "settings", None) or {}).get("group_concat_max_len")
    limit = int(recorded) if recorded is not None else GROUP_CONCAT_MAX_LEN
    msg = refusal(f"a GROUP_CONCAT result over {limit} bytes (MySQL cuts it at group_concat_max_len"
                  f"{'' if recorded is not None else ', not recorded by this snapshot; 1024 assumed'})",
                  "mysql").args[0]

    def checked(g: Any) -> Any:
        size = exp.Anonymous(this="OCTET_LENGTH" if k.ctx.target == "spark" else "STRLEN", expressions=[g.copy()])
        return _when(exp.GT(this=size, expression=exp.Literal.number(limit)), k.error(msg, exp.Literal.string("")),
                     g, g)

    _replace(node, checked)


def _group_concat(k: _Keys, node: Any) -> Any:
    """``GROUP_CONCAT(DISTINCT x …)`` on a string under a case-insensitive or PAD SPACE collation:
    MySQL keeps one of the values that compare equal (which one depends on the scan), listed in
    the collation's order unless the call says otherwise. Answered when no two distinct values of
    a group compare equal (then DISTINCT on the value is DISTINCT under the collation), else refused
    at run time; several arguments are refused. Returns the node now in ``node``'s place."""
    from sqlglot import exp

    inner = node.this
    order = inner if isinstance(inner, exp.Order) else None
    distinct = order.this if order is not None else inner
    if not isinstance(distinct, exp.Distinct):
        return node
    args = distinct.expressions
    if not any(is_text(a) for a in args):
        return node
    colls = [_collation(a) for a in args if is_text(a)]
    if not any(c.case_insensitive or c.pad_space for c in colls):
        return node
    if len(args) != 1:
        raise refusal("GROUP_CONCAT(DISTINCT …) of several strings under a case-insensitive or PAD SPACE "
                      "collation", "mysql")
    e, coll = args[0], colls[0]
    if order is None:  # the distinct values in the collation's order, as MySQL lists them
        node.set("this", exp.Order(this=distinct.copy(), expressions=[
            exp.Ordered(this=k.key(e.copy(), coll), desc=False, nulls_first=True)]))
    raw = exp.Count(this=exp.Distinct(expressions=[e.copy()]))
    keys = exp.Count(this=exp.Distinct(expressions=[k.key(e.copy(), coll)]))
    msg = refusal(f"GROUP_CONCAT(DISTINCT …) over strings that compare equal under collation {coll.name} but "
                  f"differ (MySQL keeps one of them, by scan order)", "mysql").args[0]
    return _replace(node, lambda g: _concat_checked(k, g, raw, keys, msg, e))


def _concat_checked(k: _Keys, g: Any, raw: Any, keys: Any, msg: str, e: Any) -> Any:
    from sqlglot import exp

    return _when(exp.EQ(this=raw, expression=keys), g, k.error(msg, exp.Min(this=e.copy())), g)
