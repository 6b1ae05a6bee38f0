"""From the query text in its source dialect to the engine's SQL over the snapshot's tables.

1. parse in the source dialect (:mod:`.parse`): one SELECT, nothing that writes;
2. resolve every table the query names (``public.flights``, ``db.flights``, ``flights``,
   ``catalog.ns.flights``) to a package table through its provenance name
   (:func:`lakepkg.query.names.plan_tables`); a name the snapshot lacks is an error and is
   never read from a live system;
3. qualify and type the columns from the tables' Arrow schemas (sqlglot's optimizer), keep the
   source's output column names;
4. apply the semantic fixes (:mod:`.semantics`);
5. generate the engine's SQL (``duckdb`` or ``spark``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import NotFoundError, QueryError, one_line
from lakepkg.query import semantics
from lakepkg.query.dialects import label
from lakepkg.query.parse import parse_query


@dataclass(frozen=True)
class Binding:
    """One package table as the query sees it: its original name, its engine view and schema."""

    name: str                 # original qualified name, e.g. "public.flights"
    view: str                 # the engine's name for it
    bare: Optional[str]       # the bare name it answers to unqualified (None: ambiguous)
    schema: pa.Schema         # the columns as the engine view shows them
    dialect: Optional[str]    # the dialect its provenance names

    @property
    def parts(self) -> tuple[str, ...]:
        from lakepkg.query.names import split_name

        return tuple(p.lower() for p in split_name(self.name))


@dataclass
class Transpiled:
    """The engine's SQL for one query, and what it reads."""

    sql: str
    dialect: str
    target: str
    tables: list[Binding] = field(default_factory=list)
    #: per view, (column, op, value) terms the read plan may prune fragments with
    filters: dict[str, list[tuple[str, str, Any]]] = field(default_factory=dict)
    #: a column reference the source would refuse (unknown, ambiguous), in its words: said when
    #: the engine cannot bind the query either
    column_error: Optional[str] = None


def _table_parts(t: Any) -> tuple[str, ...]:
    return tuple(p.lower() for p in (t.catalog, t.db, t.name) if p)


def _ctes(tree: Any) -> set[str]:
    from sqlglot import exp

    return {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}


def referenced(tree: Any, bindings: Sequence[Binding], snapshot_label: str) -> list[tuple[Any, Binding]]:
    """Every table node of ``tree`` with the binding it means; NotFoundError for names the snapshot lacks."""
    from sqlglot import exp

    ctes = _ctes(tree)
    out: list[tuple[Any, Binding]] = []
    unknown: list[str] = []
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            continue  # a table function: range(3), generate_series(...)
        parts = _table_parts(t)
        if len(parts) == 1 and parts[0] in ctes:
            continue
        hit = _match(parts, bindings)
        if hit is None:
            unknown.append(".".join(p for p in (t.catalog, t.db, t.name) if p))
        else:
            out.append((t, hit))
    if unknown:
        have = ", ".join(sorted(b.name for b in bindings)) or "none"
        names = ", ".join(dict.fromkeys(unknown))
        raise NotFoundError(f"the query reads {names}, which {snapshot_label} does not hold (it has: {have}); "
                            f"snapshot that table too, or map it with names={{'db.table': 'package table'}} / --name")
    return out


def _match(parts: tuple[str, ...], bindings: Sequence[Binding]) -> Optional[Binding]:
    exact = [b for b in bindings if b.parts == parts]
    if exact:
        return exact[0]
    # a catalog in front of the recorded name (lake.sales.orders for sales.orders)
    longer = [b for b in bindings if len(b.parts) >= 2 and len(parts) > len(b.parts) and parts[-len(b.parts):] == b.parts]
    if len(longer) == 1:
        return longer[0]
    if len(parts) == 1:
        bare = [b for b in bindings if b.bare and b.bare.lower() == parts[0]]
        if len(bare) == 1:
            return bare[0]
    return None


def sql_type(t: pa.DataType) -> str:
    """The SQL type sqlglot types a column of Arrow type ``t`` with (see :mod:`.source_types`)."""
    from lakepkg.query.source_types import arrow_type

    return arrow_type(t)


def _source_name(proj: Any, dialect: str) -> Optional[str]:
    """The column name the source gives an unaliased select expression (None: keep the engine's)."""
    from sqlglot import exp

    if isinstance(proj, (exp.Alias, exp.Star)) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
        return None
    if isinstance(proj, exp.Column):
        return proj.name
    if dialect == "postgres":
        node = proj
        while isinstance(node, (exp.Cast, exp.Paren)) and not (isinstance(node, exp.Cast) and not isinstance(node.this, exp.Column)):
            node = node.this
        if isinstance(node, exp.Column):
            return node.name
        if isinstance(node, exp.Cast):
            return node.to.sql("postgres").split("(")[0].lower().replace("decimal", "numeric")
        if isinstance(node, exp.Case):
            return "case"
        if isinstance(node, exp.Window):
            node = node.this
        if isinstance(node, exp.Func):
            name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
            return {"LAKEPKG_PG_TO_CHAR": "to_char"}.get(name, name).lower()
        return "?column?"
    if dialect == "mysql":
        return proj.sql("mysql")
    return None


def written_items(sql: str, dialect: str) -> Optional[list[str]]:
    """The outermost select list's items as written in ``sql`` (MySQL names an unaliased expression
    by its text), or None when the text cannot be cut into them."""
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    from lakepkg.query.parse import _dialect

    try:
        tokens = _dialect(dialect).tokenize(sql)
    except SqlglotError:
        return None
    depth, start = 0, None
    for i, t in enumerate(tokens):
        if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        elif depth == 0 and t.token_type == TokenType.SELECT:
            start = i + 1
            break
    if start is None:
        return None
    while start < len(tokens) and tokens[start].text.upper() in ("DISTINCT", "ALL", "DISTINCTROW", "STRAIGHT_JOIN",
                                                                 "HIGH_PRIORITY", "SQL_CALC_FOUND_ROWS", "SQL_NO_CACHE"):
        start += 1
    items: list[tuple[int, int]] = []
    first, depth = start, 0
    ends = {"FROM", "INTO", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "EXCEPT", "INTERSECT", "WINDOW"}
    i = start
    while i < len(tokens):
        t = tokens[i]
        if t.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif t.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            depth -= 1
        elif depth == 0 and (t.token_type == TokenType.COMMA or t.text.upper() in ends or
                             t.token_type == TokenType.SEMICOLON):
            items.append((first, i - 1))
            if t.token_type != TokenType.COMMA:
                break
            first = i + 1
        i += 1
    else:
        items.append((first, len(tokens) - 1))
    if any(b < a for a, b in items):
        return None
    return [sql[tokens[a].start:tokens[b].end + 1].strip() for a, b in items]


def keep_names(tree: Any, dialect: str, sql: Optional[str] = None) -> None:
    """Give the outermost select's unaliased expressions the names the source would show."""
    from sqlglot import exp

    node = tree
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    selects = [node] if isinstance(node, exp.Select) else []
    for select in selects:
        written = written_items(sql, dialect) if (sql and dialect == "mysql") else None
        if written is not None and len(written) != len(select.expressions):
            written = None
        new = []
        for i, proj in enumerate(select.expressions):
            name = _source_name(proj, dialect)
            if written is not None and name and not isinstance(proj, (exp.Column, exp.Alias)):
                name = proj.this if isinstance(proj, exp.Literal) and proj.is_string else written[i]
            new.append(exp.alias_(proj, name, quoted=True) if name and not isinstance(proj, exp.Column) else proj)
        select.set("expressions", new)


def output_names_first(tree: Any, schema: dict[str, dict[str, Any]]) -> None:
    """MySQL resolves a bare name in ``GROUP BY``, ``HAVING`` and ``ORDER BY`` that several joined
    tables have (``tailnum``) to the select-list item of that name (``f.tailnum``) where the engine
    would call it ambiguous: such references become that item."""
    from sqlglot import exp

    for select in tree.find_all(exp.Select):
        views = [t.name for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]
        outputs: dict[str, Any] = {}
        for proj in select.expressions:
            name = proj.alias_or_name if isinstance(proj, (exp.Alias, exp.Column)) else ""
            if name and name not in outputs:
                outputs[name] = proj.this if isinstance(proj, exp.Alias) else proj
        places = [select.args.get(k) for k in ("group", "having", "order")]
        for place in [p for p in places if p is not None]:
            for col in list(place.find_all(exp.Column)):
                if col.table or col.name not in outputs or col.find_ancestor(exp.Select) is not select:
                    continue
                if sum(col.name in schema.get(v, {}) for v in views) >= 2:
                    col.replace(outputs[col.name].copy())


def typed(tree: Any, schema: dict[str, dict[str, Any]], dialect: str) -> Any:
    """``tree`` with columns qualified and every expression typed (as far as sqlglot can)."""
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    tables: dict[str, object] = dict(schema)
    try:
        tree = qualify(tree, schema=tables, dialect=dialect, validate_qualify_columns=False,
                       quote_identifiers=True, identify=True)
    except SqlglotError as exc:
        words = column_words(str(exc), tree, schema, dialect)
        if words:
            raise QueryError(words) from None
        raise QueryError(f"the query cannot be read against the snapshot's tables ({label(dialect)}): "
                         f"{str(exc).splitlines()[0]}") from None
    return annotate_types(tree, schema=tables, dialect=dialect)


def column_problem(tree: Any, schema: dict[str, dict[str, Any]], dialect: str) -> Optional[str]:
    """A column reference of the qualified ``tree`` that names no column (or several), in the
    source's words; None when every reference resolves."""
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify_columns import validate_qualify_columns

    try:
        validate_qualify_columns(tree.copy())
    except SqlglotError as exc:
        return column_words(str(exc), tree, schema, dialect)
    return None


_CLAUSES = (("Where", "where clause"), ("Join", "on clause"), ("Group", "group statement"),
            ("Having", "having clause"), ("Order", "order clause"))


def column_words(message: str, tree: Any, schema: dict[str, dict[str, Any]], dialect: str) -> Optional[str]:
    """sqlglot's unresolved-column ``message`` as PostgreSQL or MySQL says it (None: not one)."""
    import re

    from sqlglot import exp

    m = re.match(r"Column '(.+?)' could not be resolved(?: for table: '(.+?)')?", message)
    u = re.match(r"Unknown column: (\S+)", message)
    found = m or u
    if found is None:
        return None
    name = found.group(1).strip('"`')
    table = (m.group(2) or "").strip('"`') if m else ""
    node = next((c for c in tree.find_all(exp.Column) if c.name == name and (not table or c.table == table)), None)
    if u and node is not None:
        table = node.table
    if not table:
        holders = [v for v, cols in schema.items() if name in cols]
        ambiguous = len(holders) > 1
    else:
        ambiguous = False
    clause = "field list"
    if node is not None:
        for cls, words in _CLAUSES:
            if node.find_ancestor(getattr(exp, cls)) is not None:
                clause = words
                break
    if dialect == "mysql":
        said = (f"Column '{name}' in {clause} is ambiguous" if ambiguous else
                f"Unknown column '{table + '.' if table else ''}{name}' in '{clause}'")
    elif dialect == "postgres":
        said = (f'column reference "{name}" is ambiguous' if ambiguous else
                f"column {table}.{name} does not exist" if table else f'column "{name}" does not exist')
    else:
        said = (f"ambiguous column {name}" if ambiguous else
                f"unknown column {table + '.' if table else ''}{name}")
    return f"{said} ({label(dialect)}); the snapshot's tables have the columns the source had: fix the query text"


def transpile(sql: str, bindings: Sequence[Binding], dialect: str, target: str = "duckdb",
              snapshot_label: str = "the snapshot", settings: Optional[dict[str, Any]] = None) -> Transpiled:
    """The engine SQL for ``sql`` (written in ``dialect``) over ``bindings``; see the module doc.
    ``settings``: the source server's recorded settings (:mod:`lakepkg.query.source_schema`).
    sqlglot's own log lines are not printed: what matters to the answer is refused instead."""
    import logging

    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        return _transpile(sql, bindings, dialect, target, snapshot_label, settings)
    finally:
        log.setLevel(level)


def _transpile(sql: str, bindings: Sequence[Binding], dialect: str, target: str,
               snapshot_label: str, settings: Optional[dict[str, Any]]) -> Transpiled:
    from sqlglot import exp

    tree = parse_query(sql, dialect)
    ctx = semantics.Context(dialect, target, dict(settings or {}))
    refs = referenced(tree, bindings, snapshot_label)
    used: list[Binding] = []
    for node, b in refs:
        alias = node.alias or (b.bare if b.bare else b.parts[-1])
        node.set("this", exp.to_identifier(b.view, quoted=True))
        node.set("db", None)
        node.set("catalog", None)
        if not node.alias:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
        if b not in used:
            used.append(b)
    # a column qualified by the whole original name (public.flights.dep_delay) -> by its table alias
    for col in tree.find_all(exp.Column):
        if col.args.get("db"):
            parts = _table_parts(exp.Table(this=col.args.get("table"), db=col.args.get("db"),
                                           catalog=col.args.get("catalog")))
            hit = _match(parts, bindings)
            if hit is not None:
                col.set("table", exp.to_identifier(hit.bare or hit.parts[-1]))
                col.set("db", None)
                col.set("catalog", None)
    keep_names(tree, dialect, sql)
    tree = semantics.prepare(tree, ctx)
    from lakepkg.query.source_types import column_type

    schema = {b.view: {f.name: column_type(f, dialect, b.dialect) for f in b.schema} for b in used}
    if dialect == "mysql":
        output_names_first(tree, schema)
    tree = typed(tree, schema, dialect)
    problem = column_problem(tree, schema, dialect)
    tree = semantics.apply(tree, ctx)
    from lakepkg.query.pruning import filters_by_view

    prunable = filters_by_view(tree, {b.view: b.schema for b in used})
    return Transpiled(generate(tree, dialect, target), dialect, target, used, prunable, problem)


#: what sqlglot calls unsupported but the engine does as the source does: EXTRACT of a zoned
#: timestamp falls in the session time zone, which the engine sets to the source's
_BENIGN = ("EXTRACT from TIMESTAMPTZ",)


def generate(tree: Any, dialect: str, target: str) -> str:
    """The engine's SQL for ``tree``. A construct sqlglot cannot carry over to the engine exactly is
    refused in one line (never printed as a warning and run anyway)."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import ErrorLevel

    from lakepkg.query.strings import refusal

    generator = Dialect.get_or_raise(target).generator(unsupported_level=ErrorLevel.IGNORE)
    text = generator.generate(tree, copy=False)  # the tree is this call's own: transpile parsed it
    problems = [m for m in generator.unsupported_messages if not m.startswith(_BENIGN)]
    if problems:
        engine = "Spark" if target == "spark" else "the fast engine"
        raise refusal(f"{one_line(problems[0], 160)} (sqlglot cannot carry it to {engine})", dialect)
    return text
