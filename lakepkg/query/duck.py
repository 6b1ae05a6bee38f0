"""The embedded engine: DuckDB over the pinned fragments, one in-memory connection per query.

Each table the query reads is registered as an Arrow dataset (:func:`lakepkg.query.tables.dataset`)
behind a temporary view that shows its columns as the source dialect saw them; DuckDB pushes
filters and projections into the dataset scan, so partitions and row groups that cannot match are
not read. The session time zone is the source's (``timezone``), so ``date_trunc`` and casts of
zoned timestamps fall on the same days. Nothing but the snapshot is reachable: no extension is
loaded and the database has no file system or network access. One in-memory database per
process; each query is a session of its own (a cursor), closed afterwards.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, QueryError, one_line
from lakepkg.query.dialects import label
from lakepkg.query.tables import Bound, dataset, view_columns


def run(sql: str, bound: Sequence[Bound], dialect: str, timezone: str = "UTC",
        filters: Optional[Mapping[str, list[tuple[str, str, Any]]]] = None,
        column_error: Optional[str] = None) -> pa.Table:
    """Run the engine SQL ``sql`` (from :func:`lakepkg.query.transpile.transpile`) over ``bound``;
    ``filters``: per view, the terms its read plan prunes fragments with; ``column_error``: what
    the source says of a column reference it cannot resolve (raised when the engine cannot bind)."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a core dependency
        raise ConfigError("the embedded query engine needs duckdb; pip install duckdb") from None
    from sqlglot import exp

    con = _database().cursor()  # its own session: temporary views, registrations, time zone
    try:
        try:
            con.execute("SET SESSION TimeZone = ?", [timezone])
        except duckdb.Error:
            raise ConfigError(f"unknown time zone {timezone!r}; give an IANA name such as UTC or Europe/Paris") from None
        for b in bound:
            raw = f"{b.binding.view}__data"
            con.register(raw, dataset(b.table, (filters or {}).get(b.binding.view)))
            select = exp.select(*view_columns(b.table.schema, dialect, timezone)).from_(
                exp.to_identifier(raw, quoted=True))
            con.execute(f'CREATE TEMP VIEW "{b.binding.view}" AS {select.sql("duckdb")}')
        try:
            rel = con.sql(sql)
            return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
        except duckdb.Error as exc:
            if column_error and isinstance(exc, duckdb.BinderException):
                raise QueryError(column_error) from None
            raise error(exc, bound, dialect) from None
    finally:
        con.close()


_DB: list[Any] = []


def _database() -> Any:
    """The process's in-memory DuckDB database (opening one costs ~0.1 s; a cursor is a new session
    of it). No file system or network access, no extension loading: only registered datasets."""
    import duckdb

    if not _DB:
        from lakepkg.query.numbers import register

        con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": "false",
                                                 "autoload_known_extensions": "false",
                                                 "enable_external_access": "false"})
        register(con)
        _DB.append(con)
    return _DB[0]


def error(exc: BaseException, bound: Sequence[Bound], dialect: str) -> QueryError:
    """A one-line QueryError for an engine failure, with view names turned back into original names."""
    from lakepkg.query.strings import END, REFUSE, SOURCE_ERROR

    full = str(exc)
    for marker in (REFUSE, SOURCE_ERROR):
        if marker in full:
            said = full[full.index(marker) + len(marker):].splitlines()[0]
            said = said.split(END)[0].rstrip("'\" ")
            return QueryError(said if marker == REFUSE else f"{said} ({label(dialect)} refuses the query too)")
    text = next((ln for ln in full.splitlines() if ln.strip()), full)
    for b in sorted(bound, key=lambda b: -len(b.binding.view)):
        text = text.replace(f'"{b.binding.view}"', b.binding.name).replace(b.binding.view, b.binding.name)
    if text.startswith("Parser Error: "):  # what sqlglot let through, the engine could not read
        return QueryError(f"syntax error in the query ({label(dialect)}): {one_line(text[14:], 300)}; "
                          f"fix the query text")
    import re

    from lakepkg.query.strings import refusal

    m = re.match(r"Catalog Error: (Scalar|Aggregate|Table) Function with name (\w+) does not exist", text)
    if m:
        return refusal(f"the function {m.group(2)}", dialect)
    kind, _, reason = text.partition(": ")
    if kind in ("Binder Error", "Catalog Error", "Not implemented Error", "Conversion Error", "Out of Range Error"):
        what = {"Conversion Error": "a value conversion", "Out of Range Error": "a value beyond the engine's range"
                }.get(kind, "the query as written")
        return refusal(f"{what} ({one_line(reason, 200)})", dialect)
    return QueryError(f"the query failed on the snapshot: {one_line(text, 300)}")
