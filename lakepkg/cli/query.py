"""``lakepkg query "SELECT ..." --package ns/name@ref``: run SQL written for live tables on a snapshot."""
from __future__ import annotations

import os
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


def start_spark(master: str, confs: dict[str, str]) -> Any:
    """A local Spark session for one query: no UI, no Hive catalog, workers on this Python."""
    from lakepkg.errors import ConfigError

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("lakepkg query needs pyspark; install it with `pip install 'lakepkg[spark]'`") from None
    b = (SparkSession.builder.master(master).appName("lakepkg query")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    for k, v in confs.items():
        b = b.config(k, v)
    try:
        spark = b.getOrCreate()
    except Exception as exc:
        from lakepkg.errors import SourceError, one_line

        raise SourceError(f"cannot start Spark (master {master}): {one_line(exc, 200)}; "
                          f"check Java 17 and --master") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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
    sql: str = typer.Argument(..., help="The query, as it ran against the live tables (e.g. SELECT ... FROM sales.orders ...)."),
    package: List[str] = typer.Option(..., "--package", "-p", help="Package version whose tables answer to their original names, e.g. sales/snap@3fa2c1. Repeatable."),
    name: List[str] = typer.Option([], "--name", help="ORIGINAL=TABLE: the package table a query name means, e.g. sales.orders=orders. Repeatable."),
    limit: int = typer.Option(1000, "--limit", "-n", help="Rows to print at most (0: all)."),
    master: str = typer.Option("local[*]", "--master", help="Spark master of the session the query runs in."),
    conf: List[str] = typer.Option([], "--conf", help="Spark setting KEY=VALUE for the session (e.g. spark.sql.session.timeZone=UTC). Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run a Spark SQL query on snapshotted tables under their original names (sales.orders -> the package's orders)."""
    from lakepkg.errors import ConfigError, LakepkgError
    from lakepkg.spark.reproduce import load_packages, plan_tables, targets
    from lakepkg.spark.rewrite import rewrite_query
    from lakepkg.cli._common import registry

    if limit < 0:
        raise ConfigError("--limit must be 0 (all rows) or more")
    names, confs = _names(name), _confs(conf)
    # everything that can be checked without Spark is checked before the JVM starts
    loaded = load_packages(package, registry(reg))
    planned = plan_tables(loaded, names)
    label = ", ".join(dict.fromkeys(t.package for t in planned))
    rewrite_query(sql, targets(planned), snapshot_label=f"snapshot {label}")

    from lakepkg.spark.reproduce import register_views

    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
    spark = start_spark(master, confs)
    try:
        with register_views(spark, loaded, tables=planned) as snap:
            df = snap.sql(sql)
            try:
                arrow = (df.limit(limit + 1) if limit else df).toArrow()
            except LakepkgError:
                raise
            except Exception as exc:
                raise snap.spark_error(exc) from None
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
