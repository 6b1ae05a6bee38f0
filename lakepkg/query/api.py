"""``lakepkg.query(sql, package=...)``: the answer a query gave on the live tables, from their snapshot.

    import lakepkg
    t = lakepkg.query("SELECT carrier, count(*) FROM public.flights GROUP BY 1", package="air/flights@3fa2c1")
    t.to_pandas()

The dialect comes from the tables' provenance (:mod:`.dialects`), the text is transpiled with the
source's semantics (:mod:`.transpile`, :mod:`.semantics`) and runs on DuckDB over the pinned
fragments (:mod:`.duck`), or on Spark for tables larger than one machine (``engine="spark"``).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, QueryError
from lakepkg.query import dialects
from lakepkg.query.parse import parse_query
from lakepkg.query.tables import Bound, load, rebind
from lakepkg.query.transpile import Transpiled, referenced, transpile

ENGINES = ("duckdb", "spark")
#: the exact engines: the source's own database system (:mod:`lakepkg.query.exact`)
EXACT_ENGINES = ("postgres", "mysql")


def detect_dialect(sql: str, bound: Sequence[Bound], label: str, override: Optional[str] = None) -> str:
    """The dialect ``sql`` is written in: ``override``, or the one of the tables it reads."""
    if override:
        return dialects.normalise(override)
    candidates = list(dict.fromkeys(b.binding.dialect for b in bound if b.binding.dialect)) or [dialects.DEFAULT]
    first: Optional[QueryError] = None
    for d in candidates:
        try:
            tree = parse_query(sql, d)
        except QueryError as exc:
            first = first or exc
            continue
        refs = referenced(tree, [b.binding for b in bound], label)
        # a query that reads no table (SELECT 7/2) speaks the dialect of the package
        return dialects.choose([(b.name, b.dialect) for _, b in refs] or
                               [(b.binding.name, b.binding.dialect) for b in bound])
    assert first is not None
    raise first


def source_settings(bound: Sequence[Bound], dialect: str) -> dict[str, Any]:
    """The recorded settings of the servers the tables of ``dialect`` came from (the first table's
    where they differ: one query runs under one session's settings)."""
    from lakepkg.query.source_schema import source_schema

    out: dict[str, Any] = {}
    for b in bound:
        if b.binding.dialect == dialect:
            for k, v in source_schema(b.table).settings.items():
                out.setdefault(k, v)
    return out


def plan(sql: str, package: Any, *, dialect: Optional[str] = None, engine: str = "duckdb",
         names: Optional[Mapping[str, str]] = None, registry: Any = None) -> tuple[Transpiled, list[Bound]]:
    """Load, bind, detect the dialect and transpile — everything short of running the query."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if dialect:
        dialects.normalise(dialect)  # an unknown dialect fails before anything is loaded
    bound, label = load(package, registry, names)
    d = detect_dialect(sql, bound, label, dialect)
    t = transpile(sql, rebind(bound, d), d, target=engine, snapshot_label=label, settings=source_settings(bound, d))
    used = {b.view for b in t.tables}
    return t, [b for b in bound if b.binding.view in used]


def query(sql: str, package: Any, *, dialect: Optional[str] = None, engine: str = "duckdb",
          names: Optional[Mapping[str, str]] = None, registry: Any = None, timezone: str = "UTC",
          spark: Any = None, server: Optional[str] = None, check: bool = False) -> pa.Table:
    """Run ``sql`` — written for the live tables, in their dialect — on package version(s) ``package``.

    ``package``: ``"ns/name@ref"``, a list of references (a query joining tables snapshotted
    separately), a loaded Package or Table. ``dialect``: override the dialect the provenance names
    (``postgres``, ``mysql``, ``spark``, ``trino``, ``sqlite``, ``duckdb``). ``engine``: ``duckdb``
    (embedded, default) or ``spark`` (``spark=`` a session, else a local one is started).
    ``names``: ``{"db.table": "package table"}`` for tables whose provenance names no source.
    ``timezone``: the source session's time zone (zoned timestamps, ``date_trunc``).
    ``engine="postgres"`` / ``"mysql"`` (``server=`` a MySQL/MariaDB URL): the exact engine, the
    query unchanged in the source's own system (:mod:`.exact`). ``check=True``: the fast engine's
    answer checked against the exact engine's; QueryError naming the first differing row.
    Returns a ``pyarrow.Table``; raises QueryError / NotFoundError / ConfigError, one line each."""
    if check or engine in EXACT_ENGINES:
        return answer(sql, package, dialect=dialect, engine=engine, names=names, registry=registry,
                      timezone=timezone, server=server, check=check)
    t, bound = plan(sql, package, dialect=dialect, engine=engine, names=names, registry=registry)
    if engine == "duckdb":
        from lakepkg.query.duck import run

        return run(t.sql, bound, t.dialect, timezone, t.filters, t.column_error)
    from lakepkg.query.spark_engine import run as run_spark

    return run_spark(t.sql, bound, t.dialect, timezone, spark=spark)


def answer(sql: str, package: Any, *, dialect: Optional[str] = None, engine: str = "duckdb",
           names: Optional[Mapping[str, str]] = None, registry: Any = None, timezone: str = "UTC",
           server: Optional[str] = None, check: bool = False, notices: Optional[list[str]] = None) -> pa.Table:
    """The exact engine's answer (``engine`` postgres/mysql), or with ``check`` the fast engine's
    checked against it; ``notices`` collects what the user should know about the answer."""
    if check:
        from lakepkg.query.check import checked

        if engine not in ("duckdb", *EXACT_ENGINES):
            raise ConfigError(f"--check compares the fast engine (duckdb) with an exact one; --engine {engine} "
                              "cannot be checked")

        def fast() -> pa.Table:
            return query(sql, package, dialect=dialect, names=names, registry=registry, timezone=timezone)

        result = checked(sql, package, fast=fast, dialect=dialect, engine=engine if engine in EXACT_ENGINES else None,
                         server=server, names=names, registry=registry)
        if result.fast_refused and notices is not None:
            notices.append(f"the fast engine refused ({result.fast_refused}); this is the exact engine's answer")
        return result.answer
    from lakepkg.query.exact import run_exact

    done = run_exact(sql, package, engine=engine, server=server, names=names, registry=registry)
    if notices is not None:
        notices.extend(done.notices)
    return done.table
