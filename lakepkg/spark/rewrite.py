"""Point the table names in a Spark SQL query at snapshot views, changing nothing else in its text.

    rewrite_query("SELECT o.id FROM sales.orders o", [Target("sales.orders", "__lakepkg_3fa2c1d4_sales_orders")])
    -> "SELECT o.id FROM `__lakepkg_3fa2c1d4_sales_orders` o"

The query is cut into tokens by sqlglot's Spark tokenizer (string literals,
comments and backquoted names are single tokens, so a table name inside
``'...'`` or ``-- ...`` is never touched). Every dotted name — ``db.table``,
``catalog.db.table``, backquoted or not, not itself preceded by a dot — that
equals (case-insensitively) a target's original name is replaced, in the
original text, by the target's view; all other bytes stay as written:

* a table reference ``sales.orders`` becomes the view; when it has no alias,
  `` AS orders`` (the bare table name) is added so that ``orders.amount``
  still resolves, as it does against the live table;
* a qualified column ``sales.orders.amount`` (or ``sales.orders.*``) becomes
  ``orders.amount`` — the name the table answers to in the rewritten query.

A dotted name in a table position (after ``FROM``, ``JOIN`` or a comma in a
``FROM`` list) that no target has is an error: a query must not quietly read
live data next to snapshotted data. Only queries are accepted (``SELECT``,
``WITH``, ``FROM``, ``VALUES``, ``TABLE``), one at a time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from lakepkg.errors import NotFoundError, QueryError, one_line
from lakepkg.query.names import split_name

__all__ = ["QueryError", "Target", "rewrite_query", "split_name", "quote"]


@dataclass(frozen=True)
class Target:
    """One snapshotted table as the rewriter sees it.

    ``name``: its original qualified name (``sales.orders``); ``view``: the temporary view that holds
    the snapshot; ``alias``: the bare name the table answers to when the query gives it no alias
    (``orders``), or None when that name is ambiguous (then the view name is used)."""

    name: str
    view: str
    alias: Optional[str] = None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(p.lower() for p in split_name(self.name))


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
QUERY_STARTS = {"SELECT", "WITH", "FROM", "VALUES", "TABLE"}
# words that end a FROM list at its own parenthesis depth
_END_FROM = {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "WINDOW", "QUALIFY", "UNION", "EXCEPT",
             "INTERSECT", "MINUS", "SETMINUS", "CLUSTER", "DISTRIBUTE", "SORT", "SELECT"}
# words that may follow a table reference without being its alias
_NOT_ALIAS = _END_FROM | {"JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "SEMI", "ANTI", "OUTER", "ON",
                          "USING", "LATERAL", "PIVOT", "UNPIVOT", "TABLESAMPLE", "VERSION", "TIMESTAMP", "FOR",
                          "WITH", "FROM", "INSERT", "MAP", "REDUCE", "WATERMARK"}


def quote(name: str) -> str:
    """``name`` as a backquoted Spark identifier."""
    return "`" + name.replace("`", "``") + "`"


@dataclass
class _Tok:
    start: int
    end: int            # exclusive
    raw: str
    name: Optional[str]  # identifier value when the token can be a name part
    upper: str          # first word of the raw text, upper-cased ("" for punctuation, literals)


def _tokens(query: str) -> list[_Tok]:
    try:
        from sqlglot.dialects.spark import Spark
        from sqlglot.errors import SqlglotError
    except ImportError:  # pragma: no cover - depends on the install
        from lakepkg.errors import ConfigError

        raise ConfigError("query reproduction needs sqlglot; install it with `pip install 'lakepkg[spark]'`") from None
    try:
        raw_tokens = Spark().tokenize(query)
    except SqlglotError as exc:
        raise QueryError(f"the query cannot be read: {one_line(exc, 160)}; check its quotes and comments") from None
    out = []
    for t in raw_tokens:
        raw = query[t.start:t.end + 1]
        if raw.startswith("`") and raw.endswith("`") and len(raw) >= 2:
            name: Optional[str] = raw[1:-1].replace("``", "`")
            upper = ""
        elif _WORD.match(raw):
            name, upper = raw, raw.upper()
        else:
            name, upper = None, (raw.split()[0].upper() if raw[:1].isalpha() else "")
        out.append(_Tok(t.start, t.end + 1, raw, name, upper))
    return out


def _check_is_query(toks: list[_Tok]) -> None:
    if not toks:
        raise QueryError("the query is empty; give a SELECT statement")
    first = next((t for t in toks if t.raw != "("), toks[0])
    if first.upper not in QUERY_STARTS:
        raise QueryError(f"only queries run against a snapshot (SELECT, WITH, FROM, VALUES, TABLE), not "
                         f"{first.raw.upper()!r}; the snapshot is read-only")
    depth = 0
    for i, t in enumerate(toks):
        if t.raw == "(":
            depth += 1
        elif t.raw == ")":
            depth -= 1
        elif t.raw == ";" and any(u.raw != ";" for u in toks[i + 1:]):
            raise QueryError("give one query at a time (the text has several statements separated by ';')")
        elif depth == 0 and t.upper == "INSERT":
            raise QueryError("only queries run against a snapshot; the text writes a table (INSERT)")


class _Frame:
    """Parser state of one parenthesis level."""

    def __init__(self) -> None:
        self.count = 0
        self.seen_select = False
        self.in_from = False


def _has_alias(t: Optional[_Tok]) -> bool:
    if t is None:
        return False
    if t.upper == "AS":
        return True
    if t.name is None:
        return False
    return t.upper == "" or t.upper not in _NOT_ALIAS


def _match(names: list[str], targets: Sequence[Target]) -> Optional[tuple[Target, int]]:
    """The target whose name the chain starts with (optionally after one catalog part), and how many parts it uses."""
    low = [n.lower() for n in names]
    for offset in (0, 1):
        for t in sorted(targets, key=lambda t: -len(t.parts)):
            k = len(t.parts)
            if k >= 2 and tuple(low[offset:offset + k]) == t.parts:
                return t, offset + k
    return None


def _skip_parens(toks: list[_Tok], i: int) -> int:
    """Index after the parenthesised group opening at ``i`` (or ``i`` when there is none)."""
    if i >= len(toks) or toks[i].raw != "(":
        return i
    depth = 0
    for j in range(i, len(toks)):
        depth += toks[j].raw == "("
        depth -= toks[j].raw == ")"
        if depth == 0:
            return j + 1
    return len(toks)


def rewrite_query(query: str, targets: Sequence[Target], snapshot_label: str = "the snapshot") -> str:
    """``query`` with every reference to a target's original name pointed at its view.

    Raises :class:`QueryError` for text that is not one query, and :class:`NotFoundError` naming
    the dotted table names in table positions that no target has."""
    toks = _tokens(query)
    _check_is_query(toks)
    edits: list[tuple[int, int, str]] = []
    unknown: list[str] = []
    frames = [_Frame()]
    expect_table = False
    i = 0
    while i < len(toks):
        t = toks[i]
        frame = frames[-1]
        if t.raw == "(":
            frame.count += 1
            frames.append(_Frame())
            expect_table = False
            i += 1
            continue
        if t.raw == ")":
            if len(frames) > 1:
                frames.pop()
            frames[-1].count += 1
            expect_table = False
            i += 1
            continue
        j = i
        while t.name is not None and j + 2 < len(toks) and toks[j + 1].raw == "." and toks[j + 2].name is not None:
            j += 2
        if j > i and not (i > 0 and toks[i - 1].raw == "."):
            # a dotted name: name . name [. name ...]
            chain = toks[i:j + 1:2]
            after = toks[j + 1] if j + 1 < len(toks) else None
            hit = _match([c.name or "" for c in chain], targets)
            call = after is not None and after.raw == "("
            if hit is not None and not call:
                target, used = hit
                last = chain[used - 1]
                if used == len(chain) and not (after is not None and after.raw == "."):
                    # a table reference
                    text = quote(target.view)
                    prev = toks[i - 1] if i > 0 else None
                    if target.alias and not (prev is not None and prev.upper == "TABLE"):
                        k = _skip_parens(toks, j + 2) if after is not None and after.upper == "TABLESAMPLE" else j + 1
                        if not _has_alias(toks[k] if k < len(toks) else None):
                            if k == j + 1:
                                text += f" AS {quote(target.alias)}"
                            else:
                                edits.append((toks[k - 1].end, toks[k - 1].end, f" AS {quote(target.alias)}"))
                    edits.append((chain[0].start, last.end, text))
                else:
                    # a qualifier of a column or of *
                    edits.append((chain[0].start, last.end, quote(target.alias or target.view)))
            elif expect_table and not call:
                unknown.append(".".join(c.name or "" for c in chain))
            frame.count += 1
            expect_table = False
            i = j + 1
            continue
        # keywords and punctuation: track whether the next name is in a table position
        if t.upper == "SELECT":
            frame.seen_select, frame.in_from = True, False
        elif t.upper in _END_FROM:
            frame.in_from = False
        expect_table = False
        if t.upper == "FROM" and (frame.seen_select or frame.count == 0):
            frame.in_from = expect_table = True
        elif t.upper in ("JOIN", "TABLE"):
            expect_table = True
        elif t.raw == "," and frame.in_from:
            expect_table = True
        frame.count += 1
        i += 1
    if unknown:
        have = ", ".join(sorted(t.name for t in targets)) or "none"
        names = ", ".join(dict.fromkeys(unknown))
        raise NotFoundError(f"the query reads {names}, which {snapshot_label} does not hold (it has: {have}); "
                            f"snapshot that table too, or map it with names={{'db.table': 'package table'}} / --name")
    out, pos = [], 0
    for start, end, text in sorted(edits):
        out.append(query[pos:start])
        out.append(text)
        pos = end
    out.append(query[pos:])
    return "".join(out)
