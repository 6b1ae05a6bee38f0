"""SQL connector, sessions: one connection and one read-only repeatable-read transaction per snapshot
(``Session``: any SQLAlchemy dialect; ``PgSession``: psycopg and ADBC on an exported snapshot;
``MySession``: pymysql with a consistent snapshot), describing tables and streaming their rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import ConfigError, LakepkgError, SourceError, SourceNotFoundError, one_line

from .sql_declared import my_declare, my_server_facts, pg_declare, pg_origins, pg_server_facts
from .sql_options import TableRequest
from .sql_types import ColumnPlan, UnfaithfulValue, coerce_array, mysql_column, pg_column, refuse_value, remedy, to_array
from .sql_urls import _first_line, _scrub, safe_url

CONNECT_TIMEOUT = 30          # seconds; a URL's own connect_timeout wins
NET_WRITE_TIMEOUT = 3600      # MySQL: seconds the server waits for lakepkg to take the next rows
ADBC_ROW_BYTES = 256          # ADBC batch size hint per requested row (the driver counts bytes)
ADBC_MIN_BATCH_BYTES = 1 << 20


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

    def connect_error(self, exc: BaseException) -> LakepkgError:
        if isinstance(exc, ImportError) or type(exc).__name__ == "NoSuchModuleError":  # the driver is missing
            name = getattr(exc, "name", None) or one_line(_first_line(exc), 80)
            return ConfigError(f"cannot connect to {self.safe}: its database driver ({name}) is not installed; "
                               "pip install 'lakepkg[sql]'")
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
        refuse_pg_intervals(self, res, d)
        schema: Optional[pa.Schema] = None
        for rows in res.partitions(self.batch_rows):
            cols = list(zip(*rows)) if rows else [[] for _ in d.plans]
            if schema is None:
                arrays = [_inferred(p.name, list(c), None) for p, c in zip(d.plans, cols)]
                schema = pa.schema([pa.field(p.name, a.type if a.type != pa.null() else pa.string(),
                                             metadata={"sql_type": "inferred"}) for p, a in zip(d.plans, arrays)])
                for p, f in zip(d.plans, schema):
                    p.arrow = f.type
            yield pa.RecordBatch.from_arrays([_inferred(p.name, list(c), f.type) for p, c, f in zip(d.plans, cols, schema)],
                                             schema=schema)

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
                        raise SourceNotFoundError(f"table {req.table!r} does not exist in database {self.info['database']!r}; "
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
                        raise SourceNotFoundError(f"table {req.table!r} does not exist in database {schema!r}; "
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


def _inferred(name: str, values: list, arrow: Optional[pa.DataType]) -> pa.Array:
    """An Arrow array of a column the generic (SQLAlchemy) path reads, its type inferred from the
    first batch; a value that does not fit is refused naming the column, the value and the remedy."""
    try:
        return pa.array(values, type=arrow) if arrow is not None else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError,
            OverflowError) as exc:
        raise refuse_value(name, "read through SQLAlchemy", arrow, values, exc) from None


def refuse_pg_intervals(sess: Any, res: Any, d: Any) -> None:
    """PostgreSQL intervals through SQLAlchemy arrive as Python timedeltas, which fold months into
    30 days ('1 mon' and '30 days' differ in PostgreSQL's date arithmetic): refused, naming the column."""
    dialect = getattr(getattr(sess, "engine", None), "dialect", None)
    if dialect is None or dialect.name != "postgresql":
        return
    desc = getattr(getattr(res, "cursor", None), "description", None) or []
    for c, p in zip(desc, d.plans):
        if getattr(c, "type_code", None) == 1186:  # interval's type OID
            raise UnfaithfulValue(f"column {p.name!r} (interval) has no faithful Arrow form through SQLAlchemy (a "
                                  f"timedelta folds months into 30 days); {remedy(p.name, 'interval', None)}")
