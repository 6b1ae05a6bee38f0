"""``lakepkg query "SELECT ..." --package ns/name@ref``: a query written for the live tables, in their
dialect, answered from their snapshot (DuckDB by default, ``--engine spark`` for big tables)."""
from __future__ import annotations

import sys
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt


def _names(tables: List[str], specs: List[str]) -> dict[str, str]:
    """Query name → package table, from ``--table TABLE=ORIGINAL`` and the deprecated ``--name ORIGINAL=TABLE``."""
    from lakepkg.cli._common import renamed
    from lakepkg.errors import ConfigError

    out = {}
    for spec in tables:
        table, sep, orig = spec.partition("=")
        if not sep or not orig.strip() or not table.strip():
            raise ConfigError(f"--table {spec!r}: use PACKAGE_TABLE=db.table, e.g. --table orders=sales.orders")
        out[orig.strip()] = table.strip()
    for spec in renamed([], specs, "--name ORIGINAL=TABLE", "--table TABLE=ORIGINAL") or []:
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


def _on_termination() -> None:
    """SIGTERM / SIGHUP end the command through its clean-up (a started server stopped, a scratch
    database dropped), as Ctrl-C does."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, stop)
        except (ValueError, OSError):  # not the main thread
            pass


def query(
    sql: str = typer.Argument(..., help="The query, as it ran against the live tables (e.g. SELECT ... FROM public.flights ...)."),
    package: List[str] = typer.Option(..., "--package", "-p", help="Package version whose tables answer to their original names, e.g. sales/snap@3fa2c1. Repeatable."),
    table: List[str] = typer.Option([], "--table", "-t", help="TABLE=ORIGINAL: the package table a query name means, e.g. orders=sales.orders (as `snapshot sql --table`). Repeatable."),
    name: List[str] = typer.Option([], "--name", hidden=True, help="ORIGINAL=TABLE: deprecated spelling of --table TABLE=ORIGINAL."),
    dialect: Optional[str] = typer.Option(None, "--dialect", "-d", help="The query's SQL dialect (postgres, mysql, spark, trino, sqlite, duckdb); default: from the tables' provenance."),
    engine: str = typer.Option("duckdb", "--engine", "-e", help="duckdb (fast, embedded, default), postgres (exact: an embedded PostgreSQL), mysql (exact: a scratch database on --server) or spark (tables larger than one machine)."),
    server: Optional[str] = typer.Option(None, "--server", envvar="LAKEPKG_QUERY_SERVER", help="--engine mysql: a MySQL/MariaDB server URL where a scratch database is created, loaded and dropped (its database name, default the source's; refused when it exists). Or $LAKEPKG_QUERY_SERVER."),
    check: bool = typer.Option(False, "--check", help="Run the fast and the exact engine; exit 1 showing the first differing row when they differ."),
    fmt: str = typer.Option("table", "--format", help="table (aligned text), csv, json or parquet (needs -o)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the answer to this file instead of stdout."),
    timezone: str = typer.Option("UTC", "--timezone", help="The source session's time zone (zoned timestamps, date_trunc); default engine."),
    limit: int = typer.Option(0, "--limit", "-n", help="Rows to write at most (0: all, the default)."),
    master: str = typer.Option("local[*]", "--master", help="Spark master (--engine spark)."),
    conf: List[str] = typer.Option([], "--conf", help="Spark setting KEY=VALUE (--engine spark). Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run a query written for the live tables, in their dialect, on their snapshot; same answer."""
    from lakepkg.cli._common import registry
    from lakepkg.cli.output import make_output
    from lakepkg.errors import ConfigError
    from lakepkg.query.api import EXACT_ENGINES, answer, plan
    from lakepkg.query.output import FORMATS, write_answer

    if limit < 0:
        raise ConfigError("--limit must be 0 (all rows) or more")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r}; use one of {', '.join(FORMATS)}")
    fmt = make_output(as_json).answer_format(fmt)  # --json: the answer as JSON
    names, confs = _names(table, name), _confs(conf)
    notices: list[str] = []
    if check or engine in EXACT_ENGINES:
        _on_termination()
        arrow = answer(sql, package, dialect=dialect, engine=engine, names=names, registry=registry(reg),
                       timezone=timezone, server=server, check=check, notices=notices)
    else:
        if server:
            raise ConfigError("--server is for --engine mysql (or --check on a MySQL/MariaDB snapshot)")
        # everything that can be checked without an engine is checked first (and Spark's JVM not started)
        t, bound = plan(sql, package, dialect=dialect, engine=engine, names=names, registry=registry(reg))
        if engine == "duckdb":
            from lakepkg.query.duck import run

            arrow = run(t.sql, bound, t.dialect, timezone, t.filters, t.column_error)
        else:
            from lakepkg.query.spark_engine import quiet_stderr, run as run_spark, start_spark

            with quiet_stderr():
                spark = start_spark(master, confs)
                try:
                    arrow = run_spark(t.sql, bound, t.dialect, timezone, spark=spark)
                finally:
                    spark.stop()
    note = ""
    if limit and arrow.num_rows > limit:
        note = f"; the first {limit} shown (--limit)"
        arrow = arrow.slice(0, limit)
    for n in notices:
        print(f"notice: {n}", file=sys.stderr)
    write_answer(arrow, fmt, output, note=note)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("query")(query)
