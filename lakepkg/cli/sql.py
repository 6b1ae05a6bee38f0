"""``lakepkg snapshot sql``: snapshot PostgreSQL / MySQL / MariaDB queries and tables into a package."""
from __future__ import annotations

from typing import List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json, show_progress


def sql(
    to: str = typer.Option(..., "--to", help="Package name to publish, namespace/name."),
    url: Optional[str] = typer.Option(None, "--url", envvar="LAKEPKG_SQL_URL",
                                      help="SQLAlchemy URL, e.g. postgresql://user@host:5432/db (or $LAKEPKG_SQL_URL, "
                                           "which keeps a password off the command line). Never stored."),
    query: List[str] = typer.Option([], "--query", "-q", help="A SELECT to snapshot; pair each with a --table-name. Repeatable."),
    table_name: List[str] = typer.Option([], "--table-name", help="Package table name for the --query at the same position."),
    table: List[str] = typer.Option([], "--table", "-t", help="A whole table, schema.table or NAME=schema.table. Repeatable."),
    key: List[str] = typer.Option([], "--key", "-k", help="Key columns (comma-separated) to order and cut by; NAME=cols for one of several tables. "
                                                          "Default: the table's primary key; a query without a key is snapshotted whole."),
    method: str = typer.Option("auto", "--method", help="auto (ADBC for PostgreSQL), adbc, dbapi (server-side cursor) or sqlalchemy (any dialect)."),
    batch_rows: int = typer.Option(50_000, "--batch-rows", help="Rows fetched per round trip (bounds memory)."),
    message: str = typer.Option("", "--message", "-m", help="Version message."),
    tag: List[str] = typer.Option([], "--tag", help="Also set this tag. Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Snapshot SQL query results / tables (one consistent read-only transaction) into a package version."""
    from lakepkg.errors import ConfigError
    from lakepkg_connectors.sql import snapshot_sql

    if len(query) != len(table_name):
        raise ConfigError("give one --table-name per --query (in the same order)")
    queries = dict(zip(table_name, query))
    if len(queries) != len(query):
        raise ConfigError("two --query options share one --table-name; give each its own name")
    tables = {}
    for spec in table:
        name, sep, src = spec.partition("=")
        if not sep:
            src, name = spec, spec.split(".")[-1]
        tables[name] = src
    keys: Optional[object] = None
    if key:
        if all("=" not in k for k in key) and len(queries) + len(tables) == 1:
            keys = [c for k in key for c in k.split(",") if c]
        else:
            keys = {}
            for k in key:
                n, sep, cols = k.partition("=")
                if not sep:
                    raise ConfigError(f"--key {k!r}: with several tables use NAME=col1,col2")
                keys[n] = [c for c in cols.split(",") if c]  # type: ignore[index]
    if not url:
        raise ConfigError("give --url (or set LAKEPKG_SQL_URL), e.g. postgresql://user@host:5432/db")
    from lakepkg.cli._common import registry

    res = snapshot_sql(url, to, tables=tables or None, queries=queries or None, key=keys, method=method,
                       batch_rows=batch_rows, registry=registry(reg), message=message, tags=tuple(tag),
                       show_progress=show_progress(as_json))
    if as_json:
        emit_json(res.to_json())
        return
    c = console()
    verb = "published" if res.created else "unchanged (same top hash as latest)"
    c.print(f"{to}@{res.record.top_hash[:10]} {verb}  top hash {res.record.top_hash}")
    for name, t in res.tables.items():
        keyinfo = f"key {','.join(t['key'])} ({t['key_source']})" if t["keyed"] else "NO KEY: snapshotted whole, no row-level dedup (dedup and diff --rows need a key: give --key)"
        c.print(f"  {name}: {t['rows']:,} rows, {keyinfo}, read via {t['method']}")
        if t.get("delta"):  # a delta on the previous version (docs/deltas.md)
            d = t["delta"]
            c.print(f"    delta: {d['changed_rows']:,} changed/new rows in {d['new_fragments']} fragment(s), "
                    f"{d['vectors_written']} deletion vector(s), {d['fragments_compacted']} fragment(s) compacted")


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    snapshot_app.command("sql")(sql)
