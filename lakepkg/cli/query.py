"""``lakepkg query "SELECT ..." --package ns/name@ref``: a query written for the live tables, in their
dialect, answered from their snapshot (DuckDB by default, ``--engine spark`` for big tables)."""
from __future__ import annotations

import sys
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json


def _names(specs: List[str]) -> dict[str, str]:
    from lakepkg.errors import ConfigError

    out = {}
    for spec in specs:
        orig, sep, table = spec.partition("=")
        if not sep or not orig.strip() or not table.strip():
            raise ConfigError(f"--name {spec!r}: use db.table=PACKAGE_TABLE, e.g. --name sales.orders=orders")
        out[orig.strip()] = table.strip()
    return out


def _confs(specs: List[str]) -> dict[str, str]:
    from lakepkg.errors import ConfigError

    out = {}
    for spec in specs:
        k, sep, v = spec.partition("=")
        if not sep or not k.strip():
            raise ConfigError(f"--conf {spec!r}: use KEY=VALUE, e.g. --conf spark.sql.session.timeZone=UTC")
        out[k.strip()] = v
    return out


def _print_table(arrow: Any, truncated: bool, limit: int) -> None:
    from rich.table import Table

    t = Table(show_header=True, header_style="bold")
    for name in arrow.column_names:
        t.add_column(name)
    for row in arrow.to_pylist():
        t.add_row(*["NULL" if v is None else str(v) for v in row.values()])
    c = console()
    c.print(t)
    more = f" (first {limit}; raise --limit for more)" if truncated else ""
    c.print(f"{arrow.num_rows} row{'s' if arrow.num_rows != 1 else ''}{more}")


def query(
    sql: str = typer.Argument(..., help="The query, as it ran against the live tables (e.g. SELECT ... FROM public.flights ...)."),
    package: List[str] = typer.Option(..., "--package", "-p", help="Package version whose tables answer to their original names, e.g. sales/snap@3fa2c1. Repeatable."),
    name: List[str] = typer.Option([], "--name", help="ORIGINAL=TABLE: the package table a query name means, e.g. sales.orders=orders. Repeatable."),
    dialect: Optional[str] = typer.Option(None, "--dialect", "-d", help="The query's SQL dialect (postgres, mysql, spark, trino, sqlite, duckdb); default: from the tables' provenance."),
    engine: str = typer.Option("duckdb", "--engine", "-e", help="duckdb (embedded, default) or spark (tables larger than one machine)."),
    timezone: str = typer.Option("UTC", "--timezone", help="The source session's time zone (zoned timestamps, date_trunc)."),
    limit: int = typer.Option(1000, "--limit", "-n", help="Rows to print at most (0: all)."),
    master: str = typer.Option("local[*]", "--master", help="Spark master (--engine spark)."),
    conf: List[str] = typer.Option([], "--conf", help="Spark setting KEY=VALUE (--engine spark). Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run a query written for the live tables, in their dialect, on their snapshot; same answer."""
    from lakepkg.cli._common import registry
    from lakepkg.errors import ConfigError
    from lakepkg.query.api import plan

    if limit < 0:
        raise ConfigError("--limit must be 0 (all rows) or more")
    names, confs = _names(name), _confs(conf)
    # everything that can be checked without an engine is checked first (and Spark's JVM not started)
    t, bound = plan(sql, package, dialect=dialect, engine=engine, names=names, registry=registry(reg))
    if engine == "duckdb":
        from lakepkg.query.duck import run

        arrow = run(t.sql, bound, t.dialect, timezone, t.filters)
    else:
        from lakepkg.query.spark_engine import quiet_stderr, run as run_spark, start_spark

        with quiet_stderr():
            spark = start_spark(master, confs)
            try:
                arrow = run_spark(t.sql, bound, t.dialect, timezone, spark=spark)
            finally:
                spark.stop()
    truncated = bool(limit) and arrow.num_rows > limit
    if truncated:
        arrow = arrow.slice(0, limit)
    if as_json:
        emit_json(arrow.to_pylist())
        if truncated:
            print(f"lakepkg: first {limit} rows; raise --limit for more", file=sys.stderr)
        return
    _print_table(arrow, truncated, limit)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("query")(query)
