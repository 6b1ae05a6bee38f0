"""SQL connector: snapshot query results and whole tables from PostgreSQL, MySQL/MariaDB (and, by a
plain SQLAlchemy path, any other dialect) into package tables.

    from lakepkg_connectors.sql import snapshot_sql
    res = snapshot_sql("postgresql://app@db/shop", to="sales/orders",
                       tables={"orders": "public.orders"}, queries={"big": "SELECT ... FROM ..."},
                       key={"big": ["id"]})

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
import os
import re
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.write.chunking import ChunkingParams
from lakepkg.errors import ConfigError, LakepkgError, SourceError, one_line
from lakepkg.source.connectors import ConnectorOption
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.publish import PublishResult
from lakepkg.write.snapshotting import snapshot

from .sql_declared import my_declare, my_server_facts, pg_declare, pg_origins, pg_server_facts
from .sql_types import TYPE_MAPPING_VERSION, ColumnPlan, coerce_array, mysql_column, pg_column, to_array

log = logging.getLogger("lakepkg.sql")

SECRET_PARAMS = re.compile(r"(pass|pwd|secret|token|key|credential|auth|signature|sig)", re.I)
DEFAULT_BATCH_ROWS = 50_000
CONNECT_TIMEOUT = 30          # seconds; a URL's own connect_timeout wins
NET_WRITE_TIMEOUT = 3600      # MySQL: seconds the server waits for lakepkg to take the next rows
ADBC_ROW_BYTES = 256          # ADBC batch size hint per requested row (the driver counts bytes)
ADBC_MIN_BATCH_BYTES = 1 << 20
METHODS = ("auto", "adbc", "dbapi", "sqlalchemy")


# -- URLs and secrets ------------------------------------------------------------

def _make_url(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"not a database URL ({one_line(_scrub(str(exc), [url]))}); use e.g. "
                          "postgresql://user@host:5432/db or mysql://user@host:3306/db") from None
    name = u.drivername
    if name in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif name == "mysql":
        u = u.set(drivername="mysql+pymysql")
    elif name == "mariadb":
        u = u.set(drivername="mariadb+pymysql")
    try:
        u.get_dialect()
    except Exception as exc:  # sqlalchemy's NoSuchModuleError, or a driver that is not installed
        raise ConfigError(f"cannot read {u.drivername}:// URLs ({one_line(str(exc))}); use postgresql://, "
                          "mysql://, mariadb://, sqlite:/// or another SQLAlchemy dialect whose driver is "
                          "installed") from None
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") \
            and not u.database.startswith("file:") and not os.path.exists(u.database):
        raise ConfigError(f"no SQLite database at {u.database}; check the path (a snapshot never creates one)")
    return u


def safe_url(url: "str | Any") -> str:
    """The URL with its password and any secret-looking query parameters removed."""
    u = _make_url(url) if isinstance(url, str) else url
    q = {k: v for k, v in u.query.items() if not SECRET_PARAMS.search(k)}
    from sqlalchemy.engine import URL

    clean = URL.create(u.drivername, username=u.username, password=None, host=u.host, port=u.port,
                       database=u.database, query=q)
    out = clean.render_as_string(hide_password=False)
    for s in _secrets(u):  # belt and braces: a secret can never come back out
        out = out.replace(s, "***")
    return out


def _secrets(u: Any) -> list[str]:
    out = []
    if u.password:
        out.append(str(u.password))
    for k, v in u.query.items():
        if SECRET_PARAMS.search(k):
            out.extend([v] if isinstance(v, str) else list(v))
    return [s for s in out if s]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
        try:
            from urllib.parse import quote

            text = text.replace(quote(s, safe=""), "***")
        except Exception:
            pass
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def _first_line(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    lines = [l for l in msg.splitlines() if l.strip()]
    keep = [lines[0]] if lines else [msg]
    # keep PostgreSQL's "LINE 1: ..." context out, but keep DETAIL/HINT out as well: one line
    return keep[0]


# -- requests ---------------------------------------------------------------------

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


# -- sessions: one connection, one read-only repeatable-read transaction ---------------

@dataclass
class Described:
    req: TableRequest
    plans: list[ColumnPlan]
    key: Optional[list[str]]
    key_source: str                 # "primary key", "given", "none"
    inner_sql: str                  # the query (or SELECT * FROM the table)
    qualified_name: Optional[str] = None

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([p.arrow_field() for p in self.plans])

    @property
    def checked(self) -> list[ColumnPlan]:
        """Plans whose values are checked through a hidden extra column (see :meth:`Session.data_sql`)."""
        return [p for p in self.plans if p.check_sql]

    def verify(self, checks: Sequence[Any]) -> None:
        """Fail when a hidden check column (Arrow array or list of bools) holds FALSE for some row."""
        for plan, values in zip(self.checked, checks):
            if isinstance(values, (pa.Array, pa.ChunkedArray)):
                bad = pc.any(pc.invert(values)).as_py()
            else:
                bad = any(v is not None and not v for v in values)
            if bad:
                raise SourceError(f"table {self.req.name!r}: column {plan.name!r} {plan.check_problem}")


class Session:
    """A read-only, repeatable-read transaction on one database (base: any SQLAlchemy dialect)."""

    dialect = "generic"

    def __init__(self, url: Any, secrets: list[str], batch_rows: int) -> None:
        self.url = url
        self.secrets = secrets
        self.batch_rows = batch_rows
        self.safe = safe_url(url)
        self.engine: Any = None
        self.closed = False
        self.info: dict[str, Any] = {}
        self.server: dict[str, Any] = {}   # version, user, settings: the version record (sql_declared.py)
        self.method = "sqlalchemy"

    # errors
    def error(self, exc: BaseException, what: str, hint: str) -> SourceError:
        msg = one_line(_scrub(_first_line(exc), self.secrets + [self.url.render_as_string(hide_password=False)]))
        return SourceError(f"{what}: {msg}; {hint}")

    def connect_error(self, exc: BaseException) -> SourceError:
        return self.error(exc, f"cannot connect to {self.safe}",
                          "check that the server is running and the URL, user and password are right")

    def quote(self, ident: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(ident)

    def driver_connect(self, defaults: Mapping[str, Any]) -> Any:
        """A DB-API connection of the URL's driver, opened directly (no SQLAlchemy pool).

        SQLAlchemy only translates the URL into connect arguments; going around its pool keeps a
        connection lost mid-stream from being "reset" by the pool (which logs a traceback).
        ``defaults`` apply unless the URL sets them (e.g. a connect timeout)."""
        from sqlalchemy import create_engine

        self.engine = create_engine(self.url)  # never connects by itself
        cargs, cparams = self.engine.dialect.create_connect_args(self.url)
        cparams.pop("context", None)  # SQLAlchemy's own psycopg adapters: the driver defaults are wanted
        for k, v in defaults.items():
            cparams.setdefault(k, v)
        return self.engine.dialect.loaded_dbapi.connect(*cargs, **cparams)

    def open(self) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        level = "REPEATABLE READ"
        try:
            self.engine = create_engine(self.url, poolclass=NullPool)
            self.conn = self.engine.connect()
            try:
                self.conn = self.conn.execution_options(isolation_level=level)
                self.tx = self.conn.begin()
            except Exception:
                self.conn.close()
                level = "SERIALIZABLE"
                self.conn = self.engine.connect().execution_options(isolation_level=level)
                self.tx = self.conn.begin()
        except LakepkgError:
            raise
        except Exception as exc:
            raise self.connect_error(exc) from None
        self.info = {"server_version": str(getattr(self.engine.dialect, "server_version_info", "") or ""),
                     "database": self.url.database, "snapshot_time": None, "isolation": level}
        self.server = {"version": self.info["server_version"], "user": self.url.username}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for attr in ("tx",):
            try:
                getattr(self, attr).rollback()
            except Exception:
                pass
        try:
            self.conn.close()
        except Exception:
            pass
        if self.engine is not None:
            self.engine.dispose()

    def describe(self, req: TableRequest) -> Described:
        from sqlalchemy import text

        if req.table:
            inner = "SELECT * FROM " + ".".join(self.quote(p) for p in req.table.split("."))
        else:
            inner = req.query or ""
        try:
            res = self.conn.execute(text(f"SELECT * FROM ({inner}) AS lakepkg_q WHERE 1=0"))
            names = list(res.keys())
            res.close()
        except Exception as exc:
            raise self.error(exc, f"query for table {req.name!r} failed", "fix the query or the table name") from None
        plans = [ColumnPlan(n, "inferred", pa.null()) for n in names]
        key, key_source = req.key, "given" if req.key else "none"
        if req.table and not key:
            from sqlalchemy import inspect

            parts = req.table.split(".")
            try:
                pk = inspect(self.conn).get_pk_constraint(parts[-1], schema=parts[0] if len(parts) > 1 else None)
            except Exception:
                pk = {}
            if pk.get("constrained_columns"):
                key, key_source = list(pk["constrained_columns"]), "primary key"
        return Described(req, plans, key, key_source, inner, req.table)

    def stream(self, d: Described, sql: str) -> Iterator[pa.RecordBatch]:
        """Generic path: SQLAlchemy stream_results, Arrow types inferred from the first batch."""
        from sqlalchemy import text

        res = self.conn.execution_options(stream_results=True, yield_per=self.batch_rows).execute(text(sql))
        schema: Optional[pa.Schema] = None
        for rows in res.partitions(self.batch_rows):
            cols = list(zip(*rows)) if rows else [[] for _ in d.plans]
            if schema is None:
                arrays = [pa.array(list(c)) for c in cols]
                schema = pa.schema([pa.field(p.name, a.type if a.type != pa.null() else pa.string(),
                                             metadata={"sql_type": "inferred"}) for p, a in zip(d.plans, arrays)])
                for p, f in zip(d.plans, schema):
                    p.arrow = f.type
            yield pa.RecordBatch.from_arrays([pa.array(list(c), type=f.type) for c, f in zip(cols, schema)], schema=schema)

    def data_sql(self, d: Described, adbc: bool = False) -> str:
        proj = []
        need = False
        for p in d.plans:
            expr = p.select_adbc if adbc else p.select_dbapi
            c = self.quote(p.name)
            if expr:
                need = True
                proj.append(f"{expr.format(c=c)} AS {c}")
            else:
                proj.append(c)
        for i, p in enumerate(d.checked):
            need = True
            proj.append(f"{p.check_sql.format(c=self.quote(p.name))} AS {self.quote(f'__lakepkg_check_{i}')}")  # type: ignore[union-attr]
        sel = ", ".join(proj) if need else "*"
        sql = f"SELECT {sel} FROM ({d.inner_sql}) AS lakepkg_q"
        if d.key:
            sql += " ORDER BY " + ", ".join(self.quote(k) for k in d.key)
        return sql


class PgSession(Session):
    dialect = "postgresql"

    def open(self) -> None:
        try:
            import psycopg

            c = self.driver_connect({"connect_timeout": CONNECT_TIMEOUT})
            self.pg = c
            c.autocommit = False
            c.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            c.read_only = True
            self.pg = c
            with c.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                cur.execute("SELECT now(), current_database(), current_setting('server_version'), "
                            "current_setting('transaction_isolation'), current_setting('transaction_read_only')")
                now, db, ver, iso, ro = cur.fetchone()
            self.server = pg_server_facts(c)
        except LakepkgError:
            raise
        except Exception as exc:
            raise self.connect_error(exc) from None
        self.info = {"server_version": ver, "database": db, "snapshot_time": now.isoformat(),
                     "isolation": f"{iso}, read only={ro}"}
        self._adbc: Any = None
        self._snapshot_id: Optional[str] = None
        self._n = 0

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for c in (getattr(self, "_adbc", None),):
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass
        try:
            self.pg.close()  # ends (rolls back) the read-only transaction
        except Exception:
            pass

    def _types(self, oids: list[int]) -> dict[int, tuple[str, str, Optional[str]]]:
        with self.pg.cursor() as cur:
            cur.execute("SELECT t.oid, t.typname, t.typtype, e.typname FROM pg_type t "
                        "LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' "
                        "WHERE t.oid = ANY(%s)", (oids,))
            return {int(o): (n, tt, en) for o, n, tt, en in cur.fetchall()}

    def describe(self, req: TableRequest) -> Described:
        qualified = None
        key = req.key
        key_source = "given" if key else "none"
        try:
            with self.pg.cursor() as cur:
                if req.table:
                    cur.execute("SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)", (req.table,))
                    row = cur.fetchone()
                    if row is None:
                        raise SourceError(f"table {req.table!r} does not exist in database {self.info['database']!r}; "
                                          "check the schema and table name")
                    nsp, rel, oid = row
                    qualified = f"{nsp}.{rel}"
                    inner = f"SELECT * FROM {self.quote(nsp)}.{self.quote(rel)}"
                    if not key:
                        cur.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                                    "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary "
                                    "ORDER BY array_position(i.indkey::int2[], a.attnum)", (oid,))
                        pk = [r[0] for r in cur.fetchall()]
                        if pk:
                            key, key_source = pk, "primary key"
                else:
                    inner = req.query or ""
                cur.execute(f"SELECT * FROM ({inner}) AS lakepkg_q LIMIT 0")
                desc = cur.description or []
                origins = pg_origins(cur)
        except LakepkgError:
            raise
        except Exception as exc:
            raise self.error(exc, f"query for table {req.name!r} failed", "fix the query or the table name") from None
        types = self._types(sorted({int(c.type_code) for c in desc}))
        plans = []
        for c in desc:
            typname, typtype, elem = types.get(int(c.type_code), (f"oid {c.type_code}", "b", None))
            prec = getattr(c, "precision", None) if typname == "numeric" else None
            scale = getattr(c, "scale", None) if typname == "numeric" else None
            plans.append(pg_column(c.name, typname, typtype, elem, prec, scale))
        try:
            pg_declare(self.pg, plans, origins)
        except Exception as exc:
            raise self.error(exc, f"cannot read the declared types of table {req.name!r}", "check the query") from None
        return Described(req, plans, key, key_source, inner, qualified)

    # -- DB-API path: psycopg named (server-side) cursor
    def stream(self, d: Described, sql: str) -> Iterator[pa.RecordBatch]:
        self._n += 1
        schema = d.schema
        n = len(d.plans)
        with self.pg.cursor(name=f"lakepkg_{self._n}") as cur:
            cur.itersize = self.batch_rows
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(self.batch_rows)
                if not rows:
                    break
                cols = list(zip(*rows))
                d.verify(cols[n:])
                yield pa.RecordBatch.from_arrays([to_array(p, list(v)) for p, v in zip(d.plans, cols[:n])], schema=schema)

    # -- ADBC path: binary COPY to Arrow on a second connection sharing the exported snapshot
    def _adbc_conn(self) -> Any:
        if self._adbc is None:
            import adbc_driver_postgresql.dbapi as adbc

            with self.pg.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot()")
                self._snapshot_id = cur.fetchone()[0]
            q = dict(self.url.query)
            q.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
            u = self.url.set(drivername="postgresql", query=q)
            try:
                conn = adbc.connect(u.render_as_string(hide_password=False), autocommit=True)
            except Exception as exc:
                raise self.connect_error(exc) from None
            cur = conn.cursor()
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot_id}'")
            cur.execute("SET TIME ZONE 'UTC'")
            cur.close()
            self._adbc = conn
        return self._adbc

    def stream_adbc(self, d: Described, sql: str) -> Iterator[pa.RecordBatch]:
        conn = self._adbc_conn()
        schema = d.schema
        n = len(d.plans)
        cur = conn.cursor()
        try:
            # the driver sizes its batches in bytes: aim at batch_rows rows of ~256 bytes (at least 1 MiB)
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes":
                                              str(max(ADBC_MIN_BATCH_BYTES, self.batch_rows * ADBC_ROW_BYTES))})
            cur.execute(sql)
            reader = cur.fetch_record_batch()
            for rb in reader:
                if rb.num_rows == 0:
                    continue
                d.verify([rb.column(i) for i in range(n, rb.num_columns)])
                yield pa.RecordBatch.from_arrays([coerce_array(p, rb.column(i)) for i, p in enumerate(d.plans)],
                                                 schema=schema)
        finally:
            try:
                cur.close()
            except Exception:
                pass


class MySession(Session):
    dialect = "mysql"

    def open(self) -> None:
        try:
            c = self.driver_connect({"connect_timeout": CONNECT_TIMEOUT})
            self.my = c
            with c.cursor() as cur:
                cur.execute("SET SESSION time_zone = '+00:00'")
                # an unbuffered result makes the server wait while lakepkg writes fragments: allow it
                cur.execute(f"SET SESSION net_write_timeout = {NET_WRITE_TIMEOUT}")
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                cur.execute("SELECT NOW(6), DATABASE(), VERSION()")
                now, db, ver = cur.fetchone()
            self.server = my_server_facts(c)
        except LakepkgError:
            raise
        except Exception as exc:
            raise self.connect_error(exc) from None
        self.dialect = "mariadb" if "mariadb" in str(ver).lower() else "mysql"
        self.info = {"server_version": ver, "database": db, "snapshot_time": now.isoformat() + "+00:00",
                     "isolation": "REPEATABLE-READ, consistent snapshot, read only"}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.my.close()  # ends (rolls back) the read-only transaction
        except Exception:
            pass

    def describe(self, req: TableRequest) -> Described:
        qualified = None
        key = req.key
        key_source = "given" if key else "none"
        try:
            with self.my.cursor() as cur:
                if req.table:
                    parts = req.table.split(".")
                    if len(parts) > 2:
                        raise ConfigError(f"table {req.table!r}: use database.table or table")
                    schema = parts[0] if len(parts) == 2 else self.info["database"]
                    cur.execute("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                                "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (schema, parts[-1]))
                    row = cur.fetchone()
                    if row is None:
                        raise SourceError(f"table {req.table!r} does not exist in database {schema!r}; "
                                          "check the database and table name")
                    qualified = f"{row[0]}.{row[1]}"
                    inner = f"SELECT * FROM {self.quote(row[0])}.{self.quote(row[1])}"
                    if not key:
                        cur.execute("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
                                    "TABLE_SCHEMA = %s AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' "
                                    "ORDER BY ORDINAL_POSITION", (row[0], row[1]))
                        pk = [r[0] for r in cur.fetchall()]
                        if pk:
                            key, key_source = pk, "primary key"
                else:
                    inner = req.query or ""
                cur.execute(f"SELECT * FROM ({inner}) AS lakepkg_q LIMIT 0")
                fields = list(cur._result.fields) if cur._result is not None else []
        except LakepkgError:
            raise
        except Exception as exc:
            raise self.error(exc, f"query for table {req.name!r} failed", "fix the query or the table name") from None
        plans = [mysql_column(f.name, f.type_code, f.flags, f.length, f.scale, f.charsetnr) for f in fields]
        try:
            my_declare(self.my, plans, fields, inner, qualified)
        except Exception as exc:
            raise self.error(exc, f"cannot read the declared types of table {req.name!r}", "check the query") from None
        return Described(req, plans, key, key_source, inner, qualified)

    def stream(self, d: Described, sql: str) -> Iterator[pa.RecordBatch]:
        import pymysql.cursors

        schema = d.schema
        cur = self.my.cursor(pymysql.cursors.SSCursor)  # unbuffered: rows stream from the server
        done = False
        try:
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(self.batch_rows)
                if not rows:
                    break
                cols = list(zip(*rows))
                yield pa.RecordBatch.from_arrays([to_array(p, list(v)) for p, v in zip(d.plans, cols)], schema=schema)
            done = True
        finally:
            if done:
                cur.close()
            else:
                self._abandon(cur)

    def _abandon(self, cur: Any) -> None:
        """Drop an unbuffered result that was not read to its end, and the connection with it.

        Closing the cursor would read (and discard) every remaining row first, which for a large
        table stopped early (an error) takes as long as the snapshot; and on a lost connection
        pymysql would print tracebacks from ``__del__``. The transaction is read-only: nothing is lost."""
        result = getattr(cur, "_result", None)
        if result is not None:
            result.unbuffered_active = False
        cur.connection = None
        self.closed = True
        try:
            self.my.close()
        except Exception:
            pass


# -- the connector --------------------------------------------------------------------

def _check_unique(batches: Iterator[pa.RecordBatch], key: list[str], table: str) -> Iterator[pa.RecordBatch]:
    """Pass batches through, failing on two adjacent rows with equal keys (rows arrive ordered by key)."""
    last: Optional[pa.RecordBatch] = None
    for b in batches:
        if b.num_rows == 0:
            continue
        probe = pa.Table.from_batches([last.slice(last.num_rows - 1), b]) if last is not None else pa.Table.from_batches([b])
        n = probe.num_rows
        if n > 1:
            same = None
            for k in key:
                col = probe.column(k).combine_chunks()
                a, c = col.slice(1), col.slice(0, n - 1)
                try:
                    eq = pc.equal(a, c).fill_null(False)
                except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
                    eq = pa.array([x == y for x, y in zip(a.to_pylist(), c.to_pylist())])
                eq = pc.or_(eq, pc.and_(pc.is_null(a), pc.is_null(c)))
                same = eq if same is None else pc.and_(same, eq)
            if same is not None and pc.any(same).as_py():
                i = int(pc.index(same, True).as_py()) + 1
                val = {k: probe.column(k)[i].as_py() for k in key}
                shown = one_line(", ".join(f"{k}={v!r}" for k, v in val.items()), 120)
                raise SourceError(f"key ({', '.join(key)}) of table {table!r} is not unique ({shown} appears more than "
                                  "once); give a unique key with --key")
        last = b
        yield b


class SqlConnector:
    """Snapshot SQL query results / tables (one consistent read-only transaction)

    The ``sql`` connector (entry point ``lakepkg_connectors.sql:connector``); ``options`` make its
    ``lakepkg snapshot sql`` command."""

    name = "sql"
    options = [
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

    def cli_options(self, values: dict[str, Any]) -> dict[str, Any]:
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
                        chunking: Optional[ChunkingParams] = None, **unknown: Any) -> list[TableSnapshot]:
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


class _Batches:
    """Iterable of one table's record batches; closes the session after the last table or on error."""

    def __init__(self, sess: Session, d: Described, snap: TableSnapshot, adbc: bool, remaining: list[int]) -> None:
        self.sess, self.d, self.snap, self.adbc, self.remaining = sess, d, snap, adbc, remaining

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        sess, d = self.sess, self.d
        if sess.closed:
            raise SourceError(f"the snapshot transaction is already closed; read table {d.req.name!r} in order, once")
        sql = sess.data_sql(d, adbc=self.adbc)
        t0 = time.monotonic()
        rows = 0
        ok = False
        stream: Any = None
        it: Any = None
        try:
            stream = sess.stream_adbc(d, sql) if self.adbc else sess.stream(d, sql)  # type: ignore[attr-defined]
            inner = _check_unique(stream, d.key, d.req.name) if d.key else stream
            it = iter(inner)
            while True:
                try:
                    b = next(it)
                except StopIteration:
                    break
                except LakepkgError:
                    raise
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError,
                        OverflowError) as exc:
                    if _is_db_error(exc):
                        raise _read_error(sess, d, exc) from None
                    raise SourceError(f"table {d.req.name!r}: a value has no faithful Arrow form "
                                      f"({one_line(_scrub(str(exc), sess.secrets), 200)}); cast the column in the query "
                                      "(see docs/sql.md, type mapping)") from None
                except Exception as exc:
                    raise _read_error(sess, d, exc) from None
                rows += b.num_rows
                yield b
            ok = True
        finally:
            self.snap.volatile["rows"] = rows if ok else None
            self.snap.volatile["read_seconds"] = round(time.monotonic() - t0, 3)
            self.remaining[0] -= 1
            for g in (it, stream):  # stop the reader now (not at garbage collection), then the session
                try:
                    if g is not None and hasattr(g, "close"):
                        g.close()
                except Exception:
                    pass
            if not ok or self.remaining[0] <= 0:
                sess.close()


def _is_db_error(exc: BaseException) -> bool:
    mod = type(exc).__module__ or ""
    return mod.startswith(("psycopg", "pymysql", "adbc", "sqlalchemy", "MySQLdb"))


def _read_error(sess: Session, d: Described, exc: BaseException) -> SourceError:
    if type(exc).__name__ == "DataError":  # the driver cannot represent a value (e.g. psycopg and 'infinity')
        return sess.error(exc, f"table {d.req.name!r}: a value has no faithful Arrow form",
                          "cast the column in the query (see docs/sql.md, type mapping)")
    text = str(exc).lower()
    lost = any(s in text for s in ("terminat", "lost connection", "server closed", "connection is closed",
                                   "gone away", "connection reset", "broken pipe", "consuming input failed",
                                   "eof", "closed the connection", "io error", "connection refused"))
    if lost or type(exc).__name__ in ("OperationalError", "InterfaceError"):
        return sess.error(exc, f"connection to {sess.safe} failed while reading table {d.req.name!r}",
                          "re-run the snapshot; nothing was published")
    return sess.error(exc, f"reading table {d.req.name!r} failed", "fix the query; nothing was published")


def _close_quietly(sess: Session) -> None:
    try:
        sess.close()
    except Exception:
        pass


connector = SqlConnector()


# -- Python API -------------------------------------------------------------------------

def snapshot_sql(url: str, to: str, *, tables: Any = None, queries: Any = None, key: Any = None,
                 method: str = "auto", batch_rows: int = DEFAULT_BATCH_ROWS,
                 chunking: Optional[ChunkingParams] = None, registry: Any = None, message: str = "",
                 tags: Sequence[str] = (), run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
                 show_progress: bool = False) -> PublishResult:
    """Snapshot SQL tables/queries (one consistent transaction) and publish them as package ``to``
    (:func:`lakepkg.write.snapshotting.snapshot` with this connector).

    An unchanged source gives the same top hash and ``created=False``. Any error leaves the registry
    untouched. ``tables[name]`` of the result: rows, key, keyed, key_source, method, snapshot_time, note."""
    return snapshot(connector, to, registry=registry, message=message or "snapshot via sql", run=run,
                    inputs=inputs, tags=tags, show_progress=show_progress, url=url, tables=tables,
                    queries=queries, key=key, method=method, batch_rows=batch_rows, chunking=chunking)
