"""SQL connector, declared options: the options of ``lakepkg snapshot sql`` (declared once, here), their
mapping onto ``snapshot_tables`` keywords, and the normalised table requests."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from lakepkg.errors import ConfigError
from lakepkg.source.connectors import ConnectorOption

DEFAULT_BATCH_ROWS = 50_000
METHODS = ("auto", "adbc", "dbapi", "sqlalchemy")

OPTIONS = [
    ConnectorOption("url", envvar="LAKEPKG_SQL_URL",
                    help="SQLAlchemy URL, e.g. postgresql://user@host:5432/db (or $LAKEPKG_SQL_URL, which keeps a "
                         "password off the command line). Never stored."),
    ConnectorOption("query", short="q", multiple=True,
                    help="A SELECT to snapshot; pair each with a --table-name. Repeatable."),
    ConnectorOption("table-name", multiple=True,
                    help="Package table name for the --query at the same position."),
    ConnectorOption("table", short="t", multiple=True,
                    help="A whole table, schema.table or NAME=schema.table. Repeatable."),
    ConnectorOption("key", short="k", multiple=True,
                    help="Key columns (comma-separated) to order and cut by; NAME=cols for one of several tables. "
                         "Default: the table's primary key; a query without a key is snapshotted whole."),
    ConnectorOption("method", default="auto",
                    help="auto (ADBC for PostgreSQL), adbc, dbapi (server-side cursor) or sqlalchemy (any dialect)."),
    ConnectorOption("batch-rows", type=int, default=DEFAULT_BATCH_ROWS, help="Rows fetched per round trip (bounds memory)."),
]


def cli_options(values: dict[str, Any]) -> dict[str, Any]:
    """``lakepkg snapshot sql`` values → ``snapshot_tables`` options (pairs --query with --table-name)."""
    query, table_name, key = values["query"], values["table_name"], values["key"]
    if len(query) != len(table_name):
        raise ConfigError("give one --table-name per --query (in the same order)")
    queries = dict(zip(table_name, query))
    if len(queries) != len(query):
        raise ConfigError("two --query options share one --table-name; give each its own name")
    tables = {}
    for spec in values["table"]:
        name, sep, src = spec.partition("=")
        if not sep:
            src, name = spec, spec.split(".")[-1]
        tables[name] = src
    keys: Any = None
    if key:
        if all("=" not in k for k in key) and len(queries) + len(tables) == 1:
            keys = [c for k in key for c in k.split(",") if c]
        else:
            keys = {}
            for k in key:
                n, sep, cols = k.partition("=")
                if not sep:
                    raise ConfigError(f"--key {k!r}: with several tables use NAME=col1,col2")
                keys[n] = [c for c in cols.split(",") if c]
    if not values["url"]:
        raise ConfigError("give --url (or set LAKEPKG_SQL_URL), e.g. postgresql://user@host:5432/db")
    return {"url": values["url"], "tables": tables or None, "queries": queries or None, "key": keys,
            "method": values["method"], "batch_rows": values["batch_rows"]}


@dataclass
class TableRequest:
    """One table of the package: a query or a whole source table, with an optional key."""

    name: str
    query: Optional[str] = None
    table: Optional[str] = None
    key: Optional[list[str]] = None


def _norm_key(k: Any) -> Optional[list[str]]:
    if k is None:
        return None
    if isinstance(k, str):
        return [c.strip() for c in k.split(",") if c.strip()]
    return [str(c) for c in k]


def build_requests(tables: Any = None, queries: Any = None, key: Any = None) -> list[TableRequest]:
    """Normalise the ``tables``/``queries``/``key`` options into requests (package table order kept)."""
    reqs: list[TableRequest] = []
    if isinstance(tables, str):
        tables = [tables]
    if isinstance(tables, Mapping):
        for n, t in tables.items():
            reqs.append(TableRequest(name=n, table=t))
    elif tables:
        for t in tables:
            reqs.append(TableRequest(name=str(t).split(".")[-1], table=str(t)))
    if isinstance(queries, Mapping):
        for n, q in queries.items():
            reqs.append(TableRequest(name=n, query=q))
    elif queries:
        raise ConfigError("queries must be a mapping of table name -> SQL text")
    if not reqs:
        raise ConfigError("nothing to snapshot: give tables (schema.table) or queries (name -> SELECT ...)")
    names = [r.name for r in reqs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"table name(s) {', '.join(sorted(dup))} used twice; give each query/table its own name")
    if isinstance(key, Mapping):
        unknown = set(key) - set(names)
        if unknown:
            raise ConfigError(f"key given for unknown table(s) {', '.join(sorted(unknown))}; tables are {', '.join(names)}")
        for r in reqs:
            r.key = _norm_key(key.get(r.name))
    elif key is not None:
        if len(reqs) != 1:
            raise ConfigError("a single key needs a single table; give key as a mapping table -> columns")
        reqs[0].key = _norm_key(key)
    for r in reqs:
        if r.query is not None:
            r.query = r.query.strip().rstrip(";").strip()
            if not r.query:
                raise ConfigError(f"query for table {r.name!r} is empty")
    return reqs
