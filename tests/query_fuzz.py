"""A seeded generator of random queries over a schema, written the way a PostgreSQL or MariaDB user
writes them, and the strict comparison of two answers (names, kinds and values exactly; row order
only where the query orders every row)."""
from __future__ import annotations

import datetime as dt
import decimal
import math
import random
from dataclasses import dataclass
from typing import Any, Optional, Sequence


@dataclass(frozen=True)
class Col:
    table: str
    name: str
    kind: str          # "char", "text", "num", "int", "date"


@dataclass(frozen=True)
class Table:
    name: str
    alias: str
    cols: tuple[Col, ...]
    #: the columns of its primary key (default: the first column named *id or *key)
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class Join:
    left: Col
    right: Col


class Generator:
    """Random SELECTs over ``tables`` (joined only along ``joins``), for ``dialect`` (postgres or mysql).
    ``strings``/``numbers``/``dates``: literal values worth comparing with (the data's own)."""

    def __init__(self, seed: int, tables: Sequence[Table], joins: Sequence[Join], dialect: str,
                 strings: Sequence[str], numbers: Sequence[str], dates: Sequence[str]) -> None:
        self.r = random.Random(seed)
        self.tables, self.joins, self.dialect = list(tables), list(joins), dialect
        self.strings, self.numbers, self.dates = list(strings), list(numbers), list(dates)

    # -- pieces ----------------------------------------------------------------------------------
    def ref(self, c: Col, alias: dict[str, str]) -> str:
        return f"{alias[c.table]}.{c.name}"

    def literal(self, kind: str) -> str:
        r = self.r
        if kind in ("char", "text"):
            return "'" + r.choice(self.strings).replace("'", "''") + "'"
        if kind == "date":
            return f"DATE '{r.choice(self.dates)}'"
        if kind == "int":
            return str(r.randint(-2, 40))
        return r.choice(self.numbers)

    def predicate(self, cols: list[Col], alias: dict[str, str]) -> str:
        r = self.r
        c = r.choice(cols)
        x = self.ref(c, alias)
        if c.kind in ("char", "text"):
            form = r.choice(["=", "<>", "<", "in", "notin", "like", "notlike", "null", "between", "coalesce"])
            if form in ("in", "notin"):
                items = ", ".join(self.literal(c.kind) for _ in range(r.randint(1, 3)))
                return f"{x} {'NOT ' if form == 'notin' else ''}IN ({items})"
            if form == "coalesce":
                return f"COALESCE({x}, {self.literal(c.kind)}) = {self.literal(c.kind)}"
            if form in ("like", "notlike"):
                pat = r.choice(self.strings)
                pat = r.choice([pat[:2] + "%", "%" + pat[-2:], "_" + pat[1:3] + "%", pat])
                return f"{x} {'NOT ' if form == 'notlike' else ''}LIKE '{pat}'"
            if form == "null":
                return f"{x} IS {'NOT ' if r.random() < 0.5 else ''}NULL"
            if form == "between":
                a, b = sorted([r.choice(self.strings), r.choice(self.strings)])
                return f"{x} BETWEEN '{a}' AND '{b}'"
            return f"{x} {form} {self.literal(c.kind)}"
        op = r.choice(["=", "<>", "<", "<=", ">", ">="])
        if c.kind in ("num", "int") and r.random() < 0.3:
            return f"{x} * 2 {op} {self.literal(c.kind)}"
        return f"{x} {op} {self.literal(c.kind)}"

    def where(self, cols: list[Col], alias: dict[str, str]) -> str:
        r = self.r
        n = r.choice([0, 1, 1, 2, 2, 3])
        if not n:
            return ""
        parts = [self.predicate(cols, alias) for _ in range(n)]
        glue = " AND " if r.random() < 0.75 else " OR "
        return " WHERE " + glue.join(f"({p})" for p in parts)

    def scalar(self, cols: list[Col], alias: dict[str, str]) -> str:
        """A row-level expression (aliased by the caller)."""
        r = self.r
        nums = [c for c in cols if c.kind in ("num", "int")]
        texts = [c for c in cols if c.kind in ("char", "text")]
        choice = r.choice(["col", "col", "arith", "div", "case", "len", "concat", "upper", "round", "label"])
        if choice == "label" and nums:
            n = r.choice(nums)
            return f"CASE WHEN {self.ref(n, alias)} > {self.literal(n.kind)} THEN 'high' ELSE 'low' END"
        if choice == "arith" and nums:
            a, b = r.choice(nums), r.choice(nums)
            return f"{self.ref(a, alias)} {r.choice(['+', '-', '*'])} {self.ref(b, alias)}"
        if choice == "div" and nums:
            a, b = r.choice(nums), r.choice(nums)
            den = self.ref(b, alias) if r.random() < 0.5 else self.literal(b.kind).lstrip("-") or "3"
            if den in ("0", "0.00", "0.0"):
                den = "7"
            return f"{self.ref(a, alias)} / {den}"
        if choice == "round" and nums:
            a = r.choice(nums)
            return f"ROUND({self.ref(a, alias)} / 3, {r.randint(0, 3)})"
        if choice == "case" and texts:
            t = r.choice(texts)
            return f"CASE WHEN {self.ref(t, alias)} = {self.literal(t.kind)} THEN 1 ELSE 0 END"
        if choice == "len" and texts:
            return f"{'CHAR_LENGTH' if self.dialect == 'mysql' else 'length'}({self.ref(r.choice(texts), alias)})"
        if choice == "concat" and texts:
            a = self.ref(r.choice(texts), alias)
            return f"CONCAT({a}, '|')" if self.dialect == "mysql" else f"{a} || '|'"
        if choice == "upper" and texts:
            return f"UPPER({self.ref(r.choice(texts), alias)})"
        return self.ref(r.choice(cols), alias)

    def aggregate(self, cols: list[Col], alias: dict[str, str]) -> str:
        r = self.r
        nums = [c for c in cols if c.kind in ("num", "int")]
        texts = [c for c in cols if c.kind in ("char", "text")]
        choice = r.choice(["count", "sum", "avg", "min", "max", "ratio", "countd", "sumcase"])
        if choice == "sum" and nums:
            return f"SUM({self.ref(r.choice(nums), alias)})"
        if choice == "avg" and nums:
            return f"AVG({self.ref(r.choice(nums), alias)})"
        if choice in ("min", "max"):
            return f"{choice.upper()}({self.ref(r.choice(cols), alias)})"
        if choice == "ratio" and nums:
            return f"SUM({self.ref(r.choice(nums), alias)}) / COUNT(*)"
        if choice == "countd" and texts:
            return f"COUNT(DISTINCT {self.ref(r.choice(texts), alias)})"
        if choice == "sumcase" and texts and nums:
            t = r.choice(texts)
            return (f"SUM(CASE WHEN {self.ref(t, alias)} LIKE '{r.choice(self.strings)[:1]}%' THEN "
                    f"{self.ref(r.choice(nums), alias)} ELSE 0 END)")
        return "COUNT(*)"

    # -- a query ---------------------------------------------------------------------------------
    def query(self) -> tuple[str, bool]:
        """(query text, whether its ORDER BY fixes the order of every row)."""
        r = self.r
        t = r.choice(self.tables)
        alias = {t.name: t.alias}
        frm = f"{t.name} {t.alias}"
        cols = list(t.cols)
        js = [j for j in self.joins if t.name in (j.left.table, j.right.table)]
        if js and r.random() < 0.4:
            j = r.choice(js)
            other = j.right if j.left.table == t.name else j.left
            mine = j.left if other is j.right else j.right
            o = next(x for x in self.tables if x.name == other.table)
            alias[o.name] = o.alias
            kind = r.choice(["JOIN", "JOIN", "LEFT JOIN"])
            frm += f" {kind} {o.name} {o.alias} ON {self.ref(mine, alias)} = {self.ref(other, alias)}"
            cols += list(o.cols)
        where = self.where(cols, alias)
        shape = r.choice(["rows", "group", "group", "distinct", "agg"])
        if shape == "rows":
            items = [f"{self.scalar(cols, alias)} AS e{i}" for i in range(r.randint(1, 3))]
            key = next(c for c in t.cols if c.name.endswith(("id", "key")))
            items.append(f"{self.ref(key, alias)} AS k")
            if len(alias) == 1 and r.random() < 0.4:  # one table: its whole key orders every row
                desc = " DESC" if r.random() < 0.5 else ""
                order = ", ".join(f"{t.alias}.{k}{desc}" for k in (t.key or (key.name,)))
                return f"SELECT {', '.join(items)} FROM {frm}{where} ORDER BY {order} LIMIT {r.randint(1, 12)}", True
            return f"SELECT {', '.join(items)} FROM {frm}{where}", False
        if shape == "agg":
            items = [f"{self.aggregate(cols, alias)} AS a{i}" for i in range(r.randint(1, 3))]
            return f"SELECT {', '.join(items)} FROM {frm}{where}", False
        g = r.choice(cols)
        if shape == "distinct":
            extra = r.choice([c for c in cols if c != g])
            return f"SELECT DISTINCT {self.ref(g, alias)}, {self.ref(extra, alias)} FROM {frm}{where}", False
        aggs = [self.aggregate(cols, alias) for _ in range(r.randint(1, 2))]
        unaliased = r.random() < 0.3
        items = [self.ref(g, alias)] + [a if unaliased and i == 0 else f"{a} AS a{i}" for i, a in enumerate(aggs)]
        having = f" HAVING COUNT(*) > {r.randint(0, 2)}" if r.random() < 0.3 else ""
        order = f" ORDER BY 1{' DESC' if r.random() < 0.5 else ''}" if r.random() < 0.5 else ""
        return f"SELECT {', '.join(items)} FROM {frm}{where} GROUP BY {self.ref(g, alias)}{having}{order}", False


# -- comparing ---------------------------------------------------------------------------------------

def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, decimal.Decimal):
        return "decimal"
    if isinstance(v, float):
        return "float"
    if isinstance(v, dt.datetime):
        return "datetime"
    if isinstance(v, dt.date):
        return "date"
    return type(v).__name__


def same(a: Any, b: Any) -> bool:
    """``b`` (the snapshot's) is ``a`` (the source's): the same kind and value (doubles to 12 digits)."""
    if a is None or b is None:
        return a is None and b is None
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
    return bool(a == b)


def _sort_text(v: Any) -> str:
    """What an unordered answer is sorted by: values ``same`` calls equal sort alike (a decimal by its
    value, not its scale: PostgreSQL gives ``0E-16`` and ``0E-20`` on two rows of one column, Arrow one
    scale for the column; a double to the 12 digits ``same`` compares)."""
    if isinstance(v, decimal.Decimal) and v.is_finite():
        return str(v.normalize()) if v else "0"
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:.11e}"
    return str(v)


def _sort_key(row: tuple) -> tuple:
    return tuple((v is not None, _kind(v), _sort_text(v)) for v in row)


def difference(live: tuple[list[str], list[tuple]], snap: tuple[list[str], list[tuple]],
               ordered: bool) -> Optional[str]:
    """None when the answers are the same, else what differs (one line)."""
    names, rows = live
    snames, srows = snap
    if list(snames) != list(names):
        return f"columns {list(snames)} != {list(names)}"
    if len(srows) != len(rows):
        return f"{len(srows)} rows, the source gave {len(rows)}"
    if not ordered:
        rows, srows = sorted(rows, key=_sort_key), sorted(srows, key=_sort_key)
    for i, (a, b) in enumerate(zip(rows, srows)):
        bad = [(names[j], x, y) for j, (x, y) in enumerate(zip(a, b)) if not same(x, y)]
        if bad:
            return f"row {i}: (column, source, snapshot) {bad[:3]}"
    return None
