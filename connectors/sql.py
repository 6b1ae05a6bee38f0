"""SQL connector: snapshot query results and whole tables from PostgreSQL, MySQL/MariaDB (and, by a
plain SQLAlchemy path, any other dialect) into package tables.

    import lakepkg
    res = lakepkg.snapshot("sql", to="sales/orders", url="postgresql://app@db/shop",
                           tables={"orders": "public.orders"}, queries={"big": "SELECT ... FROM ..."},
                           key={"big": ["id"]})

The connector only describes (:meth:`SqlConnector.snapshot_tables` returns lazy
``TableSnapshot``s); the core stores and publishes. Its parts: URLs and secrets
(``sql_urls``), declared options and table requests (``sql_options``), sessions
(``sql_sessions``), streaming (``sql_stream``), type mapping (``sql_types``),
declared types and server facts (``sql_declared``).

* All queries of one snapshot run in ONE read-only transaction at REPEATABLE
  READ (PostgreSQL: ``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY``;
  MySQL/MariaDB: ``START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY``),
  so the tables of a package agree as of one moment.
* Rows stream through server-side cursors (psycopg named cursors, pymysql
  unbuffered cursors, SQLAlchemy ``stream_results``) or, for PostgreSQL, the
  ADBC driver (binary COPY straight to Arrow) reading the same exported
  transaction snapshot; memory stays bounded by the batch size.
* Rows are ordered by a key (the primary key of a table, ``key=`` for a
  query) and cut into fragments at content-defined boundaries
  (:mod:`lakepkg.write.chunking`); a non-unique key is an error. A query without a
  key is snapshotted whole into fixed-size fragments, and the result says so.
* Provenance (hashed, deterministic): dialect, database, the query, the key,
  the URL without user, password or secret parameters; each column's declared
  type and collation in the schema (:mod:`.sql_declared`). The transaction
  time, row counts, read method, server version, user and the server settings
  that change answers go to the version record.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, SourceError, one_line
from lakepkg.source.table_snapshot import TableSnapshot

from .sql_options import DEFAULT_BATCH_ROWS, METHODS, OPTIONS, TableRequest, build_requests, cli_options
from .sql_sessions import Described, MySession, PgSession, Session
from .sql_stream import _Batches
from .sql_types import TYPE_MAPPING_VERSION
from .sql_urls import _make_url, _scrub, _secrets, safe_url

__all__ = ["SqlConnector", "connector", "safe_url", "build_requests", "TableRequest", "Described", "Session",
           "PgSession", "MySession", "DEFAULT_BATCH_ROWS", "METHODS", "snapshot_sql"]

log = logging.getLogger("lakepkg.sql")


class SqlConnector:
    """Snapshot SQL query results / tables (one consistent read-only transaction)

    The ``sql`` connector (entry point ``lakepkg_connectors.sql:connector``); ``options`` make its
    ``lakepkg snapshot sql`` command."""

    name = "sql"
    options = OPTIONS

    def cli_options(self, values: dict[str, Any]) -> dict[str, Any]:
        """``lakepkg snapshot sql`` values → ``snapshot_tables`` options (pairs --query with --table-name)."""
        return cli_options(values)

    @staticmethod
    def describe(name: str, facts: dict[str, Any]) -> str:
        """The line ``lakepkg snapshot`` prints for one table."""
        keyinfo = (f"key {','.join(facts['key'])} ({facts['key_source']})" if facts.get("keyed")
                   else "NO KEY: snapshotted whole, no row-level dedup (dedup and diff --rows need a key: give --key)")
        line = f"{name}: {facts.get('rows') or 0:,} rows, {keyinfo}, read via {facts.get('method')}"
        d = facts.get("delta")
        if d:  # a delta on the previous version (docs/deltas.md)
            line += (f"\n    delta: {d['changed_rows']:,} changed/new rows in {d['new_fragments']} fragment(s), "
                     f"{d['vectors_written']} deletion vector(s), {d['fragments_compacted']} fragment(s) compacted")
        return line

    def snapshot_tables(self, url: Optional[str] = None, tables: Any = None, queries: Any = None, key: Any = None,
                        method: str = "auto", batch_rows: int = DEFAULT_BATCH_ROWS,
                        chunking: Optional[Any] = None, **unknown: Any) -> list[TableSnapshot]:
        """Open one read-only repeatable-read transaction, describe every table, return lazy snapshots.

        ``tables``: ``"schema.table"``, a list of them, or ``{name: "schema.table"}``;
        ``queries``: ``{name: "SELECT ..."}``; ``key``: columns (one table) or ``{name: columns}``;
        ``method``: ``auto`` (ADBC for PostgreSQL when installed), ``adbc``, ``dbapi`` (server-side
        cursors) or ``sqlalchemy`` (generic, any dialect)."""
        if unknown:
            raise ConfigError(f"unknown sql option(s): {', '.join(sorted(unknown))}")
        if not url:
            raise ConfigError("give the database URL (--url or url=...), e.g. postgresql://user@host/db")
        if method not in METHODS:
            raise ConfigError(f"method {method!r} is not one of {', '.join(METHODS)}")
        if batch_rows < 1:
            raise ConfigError("batch_rows must be positive")
        reqs = build_requests(tables, queries, key)
        u = _make_url(url)
        secrets = _secrets(u)
        backend = u.get_backend_name()
        driver = u.get_driver_name()
        if method == "sqlalchemy":
            cls: type[Session] = Session
        elif backend == "postgresql" and driver == "psycopg":
            cls = PgSession
        elif backend in ("mysql", "mariadb") and driver == "pymysql":
            cls = MySession
        elif method in ("adbc", "dbapi"):
            raise ConfigError(f"method {method!r} supports postgresql+psycopg and mysql+pymysql URLs; use method sqlalchemy")
        else:
            cls = Session
        if method == "adbc" and cls is not PgSession:
            raise ConfigError("method 'adbc' is available for PostgreSQL only; use dbapi or sqlalchemy")
        use_adbc = False
        if cls is PgSession and method in ("auto", "adbc"):
            try:
                import adbc_driver_postgresql.dbapi  # noqa: F401

                use_adbc = True
            except ImportError:
                if method == "adbc":
                    raise ConfigError("method 'adbc' needs adbc-driver-postgresql; pip install 'lakepkg[sql]'") from None
        try:
            sess = cls(u, secrets, batch_rows)
        except Exception as exc:  # unknown dialect / missing driver
            raise ConfigError(f"cannot use {safe_url(u)}: {one_line(_scrub(str(exc), secrets))}") from None
        sess.open()
        try:
            described = [sess.describe(r) for r in reqs]
        except BaseException:
            sess.close()
            raise
        sess.method = "adbc" if use_adbc else ("dbapi" if cls is not Session else "sqlalchemy")
        dialect = sess.dialect if cls is not Session else u.get_backend_name()
        remaining = [len(described)]
        location = safe_url(u._replace(username=None))  # the URL without its user (the user is in the record)
        log.info("snapshot of %d table(s) from %s (%s %s) in one transaction (%s), read via %s", len(described),
                 sess.safe, dialect, sess.info.get("server_version") or "", sess.info.get("isolation"), sess.method)
        snaps = []
        for d in described:
            key_cols = d.key
            if key_cols:
                missing = [k for k in key_cols if k not in [p.name for p in d.plans]]
                if missing:
                    sess.close()
                    raise ConfigError(f"key column(s) {', '.join(missing)} are not columns of table {d.req.name!r}; "
                                      f"columns are {', '.join(p.name for p in d.plans)}")
            for k in key_cols or []:
                t = next(p.arrow for p in d.plans if p.name == k)
                if pa.types.is_nested(t):
                    sess.close()
                    raise ConfigError(f"key column {k!r} of table {d.req.name!r} is of type {d.schema.field(k).metadata[b'sql_type'].decode()}, "
                                      "which cannot order and cut rows; give scalar key columns with --key")
            names = [p.name for p in d.plans]
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                sess.close()
                raise SourceError(f"query for table {d.req.name!r} returns several columns named {', '.join(dups)}; "
                                  "give each column its own alias")
            # hashed: what the rows are (no server version, no login: those go to the version record)
            prov: dict[str, Any] = {
                "connector": "sql", "dialect": dialect, "database": sess.info.get("database"), "url": location,
                "query": d.req.query, "table": d.req.table, "key": key_cols,
                "key_source": d.key_source, "type_mapping": TYPE_MAPPING_VERSION,
            }
            if d.qualified_name:
                prov["qualified_name"] = d.qualified_name
            volatile: dict[str, Any] = {"snapshot_time": sess.info.get("snapshot_time"), "rows": None,
                                        "method": sess.method, "isolation": sess.info.get("isolation"),
                                        "keyed": bool(key_cols), "server": dict(sess.server)}
            facts = {"key": key_cols or None, "keyed": bool(key_cols), "key_source": d.key_source, "method": sess.method,
                     "snapshot_time": sess.info.get("snapshot_time"),
                     "note": None if key_cols else ("no key: snapshotted whole, fixed-size fragments (no row-level dedup); "
                                                    "row-level dedup and diff --rows need a key: give --key")}
            snap = TableSnapshot(name=d.req.name, schema=d.schema if cls is not Session else None,
                                 provenance=prov, volatile=volatile, key_columns=key_cols or None,
                                 chunking=chunking, facts=facts)
            snap.batches = _Batches(sess, d, snap, use_adbc, remaining)
            snaps.append(snap)
            if not key_cols:
                log.info("table %s: no key; snapshotted whole (fixed-size fragments, no row-level dedup); deletion vectors "
                         "and diff --rows by key need a key: give --key", d.req.name)
        return snaps


connector = SqlConnector()


def snapshot_sql(url: str, to: str, *, tables: Any = None, queries: Any = None, key: Any = None,
                 method: str = "auto", batch_rows: int = DEFAULT_BATCH_ROWS, chunking: Optional[Any] = None,
                 registry: Any = None, message: str = "", tags: Sequence[str] = (),
                 run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
                 show_progress: bool = False) -> Any:
    """Deprecated shortcut (kept for one release): ``lakepkg.snapshot("sql", to=..., url=..., ...)``.

    A connector only describes; the core's :func:`lakepkg.snapshot` stores and publishes, and returns
    its ``PublishResult``."""
    warnings.warn("lakepkg_connectors.sql.snapshot_sql is deprecated; use lakepkg.snapshot(\"sql\", to=..., url=...)",
                  DeprecationWarning, stacklevel=2)
    import lakepkg

    return lakepkg.snapshot(connector, to, registry=registry, message=message or "snapshot via sql", run=run,
                            inputs=inputs, tags=tags, show_progress=show_progress, url=url, tables=tables,
                            queries=queries, key=key, method=method, batch_rows=batch_rows, chunking=chunking)
