"""What the exact engines share (:mod:`.exact`): the tables to create, the columns a query reads, the
answer as Arrow, the server's words for an error, the read plan's batches."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import QueryError, one_line
from lakepkg.query.dialects import label
from lakepkg.query.source_schema import SourceSchema
from lakepkg.query.tables import Bound

#: functions whose answer depends on the moment or the session, not on the snapshot
_SESSION_FUNCTIONS = {
    "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday", "random", "setseed",
    "gen_random_uuid", "uuid_generate_v4", "txid_current", "pg_backend_pid", "inet_client_addr", "version",
    "current_user", "session_user", "user", "current_database", "current_schema", "current_schemas", "pg_sleep",
    "sysdate", "curdate", "curtime", "utc_timestamp", "utc_date", "utc_time", "unix_timestamp", "rand", "uuid",
    "uuid_short", "connection_id", "database", "schema", "last_insert_id", "found_rows", "row_count", "sleep",
    "localtime", "localtimestamp", "current_date", "current_time", "current_timestamp", "random_bytes",
}


@dataclass
class ExactTable:
    """A package table the exact engine creates: where, under which name, with which columns."""

    bound: Bound
    source: SourceSchema
    schema_name: Optional[str]
    name: str
    columns: list[str] = field(default_factory=list)


@dataclass
class ExactAnswer:
    """An answer of the exact engine, and what it cost."""

    table: pa.Table
    engine: str
    rows_loaded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


# -- what the query reads ---------------------------------------------------------------------

def names_of(b: Bound, engine: str) -> tuple[Optional[str], str]:
    from lakepkg.query.names import split_name

    parts = split_name(b.binding.name)
    if engine == "mysql":
        return None, parts[-1]
    return (parts[-2] if len(parts) >= 2 else None), parts[-1]


def check_session_functions(sql: str, dialect: str) -> Optional[Any]:
    """The parsed query (None when sqlglot cannot read it); QueryError for a time- or
    session-dependent function."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, ValueError):
        return None
    kinds = tuple(c for c in (getattr(exp, n, None) for n in (
        "CurrentTimestamp", "CurrentDate", "CurrentTime", "CurrentDatetime", "CurrentUser", "CurrentSchema",
        "Rand", "Random", "Uuid", "Localtimestamp", "Localtime", "UnixTimestamp", "CurrentTimestampLTZ"))
                  if isinstance(c, type))
    for node in tree.walk():
        name = None
        if kinds and isinstance(node, kinds):
            name = node.sql(dialect)
        elif isinstance(node, exp.Anonymous) and str(node.name).lower() in _SESSION_FUNCTIONS:
            name = f"{node.name}()"
        elif isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous) and \
                str(node.sql_name()).lower() in _SESSION_FUNCTIONS:
            name = node.sql(dialect)
        if name:
            raise QueryError(f"{one_line(name, 60)} depends on when and where the query runs, not on the snapshot, "
                             f"so no engine can give the answer {label(dialect)} gave; write the value it had as a literal")
    return tree


def needed_columns(tree: Any, tables: Sequence[ExactTable], dialect: str) -> Optional[dict[int, set[str]]]:
    """Columns the query reads, per table index; None when they cannot be told (then all are loaded)."""
    if tree is None:
        return None
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import traverse_scope

    from lakepkg.query.transpile import sql_type

    schema: dict[str, Any] = {}
    key: dict[tuple[str, ...], int] = {}
    for i, t in enumerate(tables):
        cols = {f.name: sql_type(f.type) for f in t.bound.table.schema}
        names = [t.schema_name, t.name] if t.schema_name else [t.name]
        node = schema
        for p in names[:-1]:
            node = node.setdefault(p, {})
        node[names[-1]] = cols
        key[tuple(n.lower() for n in names)] = i
        key.setdefault((t.name.lower(),), i)
    try:
        tree = qualify(tree.copy(), schema=schema, dialect=dialect, validate_qualify_columns=True,
                       quote_identifiers=False)
        out: dict[int, set[str]] = {}
        for scope in traverse_scope(tree):
            for col in scope.columns:
                src = scope.sources.get(col.table)
                if isinstance(src, exp.Table):
                    parts = tuple(p.lower() for p in (src.db, src.name) if p)
                    i = key.get(parts, key.get(parts[-1:], -1))
                    if i < 0:
                        return None
                    out.setdefault(i, set()).add(col.name)
            for src in scope.sources.values():
                if isinstance(src, exp.Table):
                    parts = tuple(p.lower() for p in (src.db, src.name) if p)
                    i = key.get(parts, key.get(parts[-1:], -1))
                    if i >= 0:
                        out.setdefault(i, set())
        return out
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return None


def union_needed(each: Sequence[Optional[dict[int, set[str]]]]) -> Optional[dict[int, set[str]]]:
    """The columns several queries read (None: some query's could not be told: load everything)."""
    out: dict[int, set[str]] = {}
    for n in each:
        if n is None:
            return None
        for i, cols in n.items():
            out.setdefault(i, set()).update(cols)
    return out


def tables_to_load(tables: Sequence[ExactTable], need: Optional[dict[int, set[str]]]
                   ) -> Iterator[tuple[int, ExactTable, list[str]]]:
    """(index, table, columns) for each table the query reads, in order: the columns it names (at least
    one, so the table exists), or all of them when ``need`` is None. Sets ``table.columns``."""
    for i, t in enumerate(tables):
        if need is not None and i not in need:
            continue
        names = [f.name for f in t.bound.table.schema]
        cols = names if need is None else [c for c in names if c in need[i]] or names[:1]
        t.columns = cols
        yield i, t, cols


# -- shared helpers ---------------------------------------------------------------------------

def arrow_of_rows(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    """An answer's rows as an Arrow table: decimals stay decimals (precision and scale to fit the
    column), a column Arrow cannot type keeps its values' text."""
    import decimal

    cols: list[list[Any]] = [list(c) for c in zip(*rows)] if rows else [[] for _ in names]
    arrays = []
    for values in cols:
        if values and any(isinstance(v, decimal.Decimal) and not v.is_finite() for v in values):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
            continue
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type) and values:
                arr = pa.array(values, pa.string())
            arrays.append(arr)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], pa.string()))
    if not rows:
        arrays = [pa.array([], pa.string()) for _ in names]
    return pa.Table.from_arrays(arrays, schema=pa.schema([pa.field(n, a.type) for n, a in zip(names, arrays)]))


def source_words(message: str, sql: str, position: Optional[int] = None) -> str:
    """The server's message as one line, a character position turned into line and column."""
    text = one_line(message, 300)
    if position:
        before = sql[: max(position - 1, 0)]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        text += f" (line {line}, column {col})"
    return text


def batches_of(t: ExactTable, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
    """The table's rows, only ``columns``, through the read plan (verified fragments, deletion vectors)."""
    plan = t.bound.table.scan(columns=list(columns))
    yield from plan.to_batches(batch_size=131072)


def scratch_name() -> str:
    return f"lakepkg_scratch_{uuid.uuid4().hex[:10]}"


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 4)


def is_undefined_column(message: str) -> bool:
    m = message.lower()
    return bool(re.search(r"column .* does not exist|unknown column", m))
