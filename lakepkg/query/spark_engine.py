"""Spark as the query engine, for tables larger than one machine: the same transpiled query (target
``spark``), each table a temporary view over the package's Spark reader with the dialect's column
view on top, the session time zone set to the source's."""
from __future__ import annotations

import os
import sys
from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, QueryError, SourceError, one_line
from lakepkg.query.tables import Bound, view_columns


def start_spark(master: str = "local[*]", confs: Optional[Mapping[str, str]] = None) -> Any:
    """A local Spark session for queries: no UI, no Hive catalog, quiet logs; its Python workers run
    the user's ``spark.pyspark.python`` / ``PYSPARK_PYTHON`` when set, else this Python
    (:mod:`lakepkg.spark.workers`)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("--engine spark needs pyspark; install it with `pip install 'lakepkg[spark]'`") from None
    from lakepkg.spark.workers import CONF, ENV, use_worker_python
    import warnings

    warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)
    b = (SparkSession.builder.master(master).appName("lakepkg query")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=ERROR -Dlog4j.rootLogger=ERROR"))
    for k, v in (confs or {}).items():
        b = b.config(k, v)
    # the JVM reads PYSPARK_PYTHON once, when it starts: set for the start only, never over the user's
    default = not os.environ.get(ENV) and not (confs or {}).get(CONF)
    if default:
        os.environ[ENV] = sys.executable
    try:
        spark = b.getOrCreate()
    except Exception as exc:
        raise SourceError(f"cannot start Spark (master {master}): {one_line(exc, 200)}; "
                          f"check Java 17 and --master") from None
    finally:
        if default:
            del os.environ[ENV]
    spark.sparkContext.setLogLevel("ERROR")
    use_worker_python(spark)
    return spark


def run(sql: str, bound: Sequence[Bound], dialect: str, timezone: str = "UTC", spark: Any = None) -> pa.Table:
    """Run the Spark SQL ``sql`` over ``bound`` in ``spark`` (a local session when None)."""
    from sqlglot import exp

    from lakepkg.spark import table_to_spark

    own = spark is None
    quiet = quiet_stderr() if own else None
    if quiet is not None:
        quiet.__enter__()
        spark = start_spark()
    old_tz = spark.conf.get("spark.sql.session.timeZone")
    views: list[str] = []
    try:
        spark.conf.set("spark.sql.session.timeZone", timezone)
        for b in bound:
            raw = f"{b.binding.view}__data"
            table_to_spark(spark, b.table).createOrReplaceTempView(raw)
            views.append(raw)
            select = exp.select(*view_columns(b.table.schema, dialect, timezone)).from_(
                exp.to_identifier(raw, quoted=True))
            spark.sql(f"CREATE OR REPLACE TEMP VIEW `{b.binding.view}` AS {select.sql('spark')}")
            views.append(b.binding.view)
        try:
            return spark.sql(sql).toArrow()
        except Exception as exc:
            raise spark_error(exc, bound, dialect) from None
    finally:
        if own:
            spark.stop()
            if quiet is not None:
                quiet.__exit__(None, None, None)
        else:
            for v in views:
                spark.catalog.dropTempView(v)
            spark.conf.set("spark.sql.session.timeZone", old_tz)


def spark_error(exc: BaseException, bound: Sequence[Bound], dialect: str) -> QueryError:
    """One line for a Spark failure, never py4j's or the JVM's text: Spark's own reason (its error
    class dropped) for a query Spark analysed and refused; for one that failed inside the JVM, a
    refusal saying which engine answers it exactly."""
    import re

    from lakepkg.query.strings import refusal

    text = next((ln for ln in str(exc).splitlines() if ln.strip()), str(exc))
    for b in sorted(bound, key=lambda b: -len(b.binding.view)):
        text = text.replace(f"`{b.binding.view}`", b.binding.name).replace(b.binding.view, b.binding.name)
    jvm = type(exc).__module__.startswith("py4j") or "An error occurred while calling" in text or \
        re.search(r"\bjava\.|Exception:", text) is not None
    if jvm:
        if dialect in ("postgres", "mysql"):
            return refusal("this query on the Spark engine (it failed inside Spark's JVM)", dialect)
        return QueryError("the query failed inside Spark on the snapshot; run it with the default engine (duckdb)")
    reason = one_line(re.sub(r"^\[[A-Z_.]+\]\s*", "", text).split(" SQLSTATE")[0], 240)
    if dialect in ("postgres", "mysql"):
        return refusal(f"this query on the Spark engine (Spark says: {reason})", dialect)
    return QueryError(f"the query failed on the snapshot (Spark): {reason}")


class quiet_stderr:
    """Send file descriptor 2 to /dev/null while Spark starts and runs: the JVM (a child process that
    inherits it) then prints none of its own log lines; Python exceptions still surface as usual."""

    def __enter__(self) -> "quiet_stderr":
        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
