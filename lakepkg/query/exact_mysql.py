"""The exact engine on MySQL/MariaDB: a scratch database on a server the user names, the snapshot's
tables created there with their declared types and collations, loaded with ``LOAD DATA LOCAL
INFILE`` from the read plan's Arrow batches, the query run unchanged in a read-only transaction with
the source's ``sql_mode``, ``div_precision_increment``, time zone and connection collation, and the
database dropped afterwards (:mod:`.exact` has the whole story).

The scratch database is the ``--server`` URL's database, else the source's database name (so a
query naming ``shop.orders`` runs unchanged); one that already exists is refused — unless it is a
scratch database a killed lakepkg left behind (its marker table names a process of this machine that
is gone), which is dropped first.
"""
from __future__ import annotations

import os
import socket
import tempfile
import time
from typing import Any, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import ConfigError, QueryError, one_line
from lakepkg.processes import pid_alive
from lakepkg.query.exact_common import (ExactAnswer, ExactTable, arrow_of_rows, batches_of, elapsed,
                                        is_undefined_column, needed_columns, tables_to_load, union_needed)

MARKER = "lakepkg_scratch_owner"
_STARTS = ("select", "with", "(", "values", "table")


def ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def my_type(t: ExactTable, column: str) -> str:
    """The column's type for CREATE TABLE: as declared (with its collation), else from Arrow."""
    c = t.source.columns[column]
    at = c.arrow_type
    text = c.type if c.declared and c.type else None
    if text and text.split("(")[0].strip() in ("enum", "set") and "(" not in text:
        text = "text"  # a query's ENUM/SET column: its members are not in the result's descriptor
    if not text:
        if pa.types.is_decimal(at):
            text = f"decimal({at.precision},{at.scale})"
        elif pa.types.is_boolean(at):
            text = "tinyint(1)"
        elif pa.types.is_timestamp(at):
            text = "timestamp(6)" if at.tz else "datetime(6)"
        else:
            text = next((n for check, n in ((pa.types.is_int8, "tinyint"), (pa.types.is_int16, "smallint"),
                                            (pa.types.is_int32, "int"), (pa.types.is_int64, "bigint"),
                                            (pa.types.is_uint8, "tinyint unsigned"), (pa.types.is_uint16, "smallint unsigned"),
                                            (pa.types.is_uint32, "int unsigned"), (pa.types.is_uint64, "bigint unsigned"),
                                            (pa.types.is_float32, "float"), (pa.types.is_float64, "double"),
                                            (pa.types.is_date, "date"), (pa.types.is_duration, "time(6)"),
                                            (pa.types.is_binary, "longblob")) if check(at)), "longtext")
    if pa.types.is_timestamp(at) and text.lower().startswith(("datetime", "timestamp")) and "(" not in text:
        text += "(6)"
    if c.collation:
        text += f" COLLATE {c.collation}"
    return text


def create_sql(t: ExactTable, columns: Sequence[str], key: Optional[list[str]]) -> str:
    cols = [f"{ident(c)} {my_type(t, c)}" for c in columns]
    if key:
        cols.append(f"PRIMARY KEY ({', '.join(ident(k) for k in key)})")
    return f"CREATE TABLE {ident(t.name)} ({', '.join(cols)})"


def primary_key(t: ExactTable, columns: Sequence[str]) -> Optional[list[str]]:
    prov = t.bound.table.provenance or {}
    key = prov.get("key") if prov.get("key_source") == "primary key" else None
    return list(key) if key and all(k in columns for k in key) else None


# -- the server ---------------------------------------------------------------------------------

class _Server:
    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            self.url = make_url(url)
        except (ArgumentError, ValueError):
            raise ConfigError("--server is not a MySQL/MariaDB URL; give e.g. mysql://root@127.0.0.1:3306/lakepkg_scratch") from None
        if self.url.get_backend_name() not in ("mysql", "mariadb"):
            raise ConfigError(f"--server must be a mysql:// or mariadb:// URL, not {self.url.drivername}://")
        self.secret = str(self.url.password or "")
        self.shown = self.url._replace(password=None).render_as_string(hide_password=False)

    def scrub(self, text: str) -> str:
        return text.replace(self.secret, "***") if self.secret else text

    def connect(self, database: Optional[str] = None) -> Any:
        import pymysql

        u = self.url
        try:
            return pymysql.connect(host=u.host or "127.0.0.1", port=u.port or 3306, user=u.username or "root",
                                   password=self.secret, database=database, autocommit=True, local_infile=True,
                                   connect_timeout=30, charset="utf8mb4")
        except pymysql.MySQLError as exc:
            raise QueryError(f"cannot connect to {self.shown} for --engine mysql: "
                             f"{self.scrub(one_line(_message(exc), 200))}; check the URL, user and password") from None


def _message(exc: BaseException) -> str:
    args: Sequence[Any] = getattr(exc, "args", ()) or ()
    if len(args) >= 2 and isinstance(args[1], str):
        return str(args[1])
    return str(exc)



def _claim(cur: Any, db: str, shown: str) -> None:
    """Create the scratch database, or refuse when it exists (a leftover of a killed lakepkg of this
    machine is dropped first)."""
    cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (db,))
    if cur.fetchone() is not None:
        leftover = False
        try:
            cur.execute(f"SELECT host, pid FROM {ident(db)}.{MARKER}")
            row = cur.fetchone()
            leftover = bool(row) and row[0] == socket.gethostname() and not pid_alive(int(row[1]))
        except Exception:
            leftover = False
        if not leftover:
            raise QueryError(f"database {db!r} already exists on {shown}; --engine mysql creates and drops its own "
                             "scratch database: name one that does not exist in the --server URL "
                             "(e.g. …/lakepkg_scratch)")
        cur.execute(f"DROP DATABASE {ident(db)}")
    cur.execute(f"CREATE DATABASE {ident(db)}")
    cur.execute(f"CREATE TABLE {ident(db)}.{MARKER} (host varchar(255), pid int)")
    cur.execute(f"INSERT INTO {ident(db)}.{MARKER} VALUES (%s, %s)", (socket.gethostname(), os.getpid()))


def _session(cur: Any, settings: dict[str, Any]) -> None:
    """The source session's settings (what a new session of the source's user got)."""
    coll = settings.get("collation_connection")
    if coll:
        cur.execute("SELECT CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME = %s", (coll,))
        row = cur.fetchone()
        if row:
            cur.execute(f"SET NAMES {row[0]} COLLATE {coll}")
    if settings.get("sql_mode") is not None:
        cur.execute("SET SESSION sql_mode = %s", (settings["sql_mode"],))
    if settings.get("div_precision_increment") is not None:
        cur.execute("SET SESSION div_precision_increment = %s", (int(settings["div_precision_increment"]),))
    if settings.get("default_week_format") is not None:
        cur.execute("SET SESSION default_week_format = %s", (int(settings["default_week_format"]),))
    if settings.get("group_concat_max_len") is not None:
        cur.execute("SET SESSION group_concat_max_len = %s", (int(settings["group_concat_max_len"]),))
    tz = settings.get("time_zone")
    if tz == "SYSTEM":
        tz = settings.get("system_time_zone")
    if tz:
        for value in (tz, "+00:00" if str(tz).upper() in ("UTC", "GMT", "ETC/UTC") else None):
            if value is None:
                continue
            try:
                cur.execute("SET SESSION time_zone = %s", (value,))
                break
            except Exception:
                continue
        else:
            raise QueryError(f"the source's time zone {tz!r} is not known to the --server MySQL/MariaDB (load its "
                             "time zone tables: mysql_tzinfo_to_sql); the answer could differ")


# -- loading ------------------------------------------------------------------------------------

def _text_column(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as ``LOAD DATA``'s default text format reads it (``\\N`` for NULL, escapes)."""
    t = arr.type
    if pa.types.is_boolean(t):
        s = pc.if_else(arr, "1", "0")
    elif pa.types.is_timestamp(t):
        s = pc.cast(pc.cast(arr, pa.timestamp(t.unit)) if t.tz else arr, pa.string())  # UTC wall time
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        s = pa.chunked_array([pa.array([None if v is None else v.hex() for v in c.to_pylist()], pa.string())
                              for c in arr.chunks], pa.string())
    elif pa.types.is_duration(t):
        s = pa.chunked_array([pa.array([None if v is None else _duration(v) for v in c.to_pylist()], pa.string())
                              for c in arr.chunks], pa.string())
    else:
        s = pc.cast(arr, pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        for a, b in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n")):
            s = pc.replace_substring(s, a, b)
    return pc.fill_null(s, "\\N")


def _duration(v: Any) -> str:
    us = int(v.total_seconds() * 1_000_000) if hasattr(v, "total_seconds") else int(v)
    sign = "-" if us < 0 else ""
    us = abs(us)
    h, rem = divmod(us, 3_600_000_000)
    m, rem = divmod(rem, 60_000_000)
    s, frac = divmod(rem, 1_000_000)
    return f"{sign}{h}:{m:02d}:{s:02d}.{frac:06d}"


def _load(cur: Any, tables: Sequence[ExactTable], need: Optional[dict[int, set[str]]], tmp: str) -> int:
    total = 0
    for i, t, cols in tables_to_load(tables, need):
        cur.execute(create_sql(t, cols, primary_key(t, cols)))
        binary = {c for c in cols if pa.types.is_binary(t.bound.table.schema.field(c).type)
                  or pa.types.is_large_binary(t.bound.table.schema.field(c).type)}
        path = os.path.join(tmp, f"t{i}.tsv")
        rows = 0
        with open(path, "wb") as f:
            for b in batches_of(t, cols):
                if b.num_rows == 0:
                    continue
                parts = [_text_column(pa.chunked_array([b.column(j)])) for j in range(b.num_columns)]
                line = pc.binary_join_element_wise(*parts, "\t") if len(parts) > 1 else parts[0]
                f.write(("\n".join(line.to_pylist()) + "\n").encode("utf-8"))
                rows += b.num_rows
        targets = [f"@v{j}" if c in binary else ident(c) for j, c in enumerate(cols)]
        sets = [f"{ident(c)} = UNHEX(@v{j})" for j, c in enumerate(cols) if c in binary]
        cur.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {ident(t.name)} CHARACTER SET utf8mb4 "
                    f"({', '.join(targets)})" + (f" SET {', '.join(sets)}" if sets else ""), (path,))
        cur.execute("SHOW WARNINGS")
        warns = [w for w in cur.fetchall() if w[0] != "Note"]
        if warns:
            raise QueryError(f"the exact engine could not load table {t.bound.binding.name!r} faithfully "
                             f"({one_line(str(warns[0][2]), 200)}); answer it with the default engine")
        os.remove(path)
        total += rows
    return total


# -- running ------------------------------------------------------------------------------------

def _run(conn: Any, sql: str, tables: Sequence[ExactTable], snapshot_label: str, server: _Server) -> tuple[list[str], list[tuple]]:
    import pymysql

    cur = conn.cursor()
    try:
        cur.execute("START TRANSACTION READ ONLY")
        try:
            cur.execute(sql)
            names = [d[0] for d in cur.description] if cur.description else []
            rows = list(cur.fetchall()) if cur.description else []
        finally:
            cur.execute("ROLLBACK")
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        hint = ""
        if code == 1146:
            have = ", ".join(sorted(t.name for t in tables)) or "none"
            hint = f"; {snapshot_label} holds {have}"
        elif code == 1792:
            hint = "; only a query runs against a snapshot"
        raise QueryError(f"the query failed on MySQL/MariaDB (exact engine): "
                         f"{server.scrub(one_line(_message(exc), 300))}{hint}") from None
    finally:
        cur.close()
    if not names:
        raise QueryError("the statement returns no rows; only a query (SELECT …) runs against a snapshot")
    return names, rows


def run_on_mysql(sqls: Sequence[str], trees: Sequence[Any], tables: Sequence[ExactTable], snapshot_label: str,
                 url: str) -> list["ExactAnswer | QueryError"]:
    """Each query's answer (or its refusal), over one scratch database and one load (module doc)."""
    out: list["ExactAnswer | QueryError"] = []
    runnable: list[bool] = []
    for sql in sqls:
        first = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else ""
        ok = first.startswith(_STARTS)
        runnable.append(ok)
    server = _Server(url)
    settings: dict[str, Any] = next((dict(t.source.settings) for t in tables if t.source.settings), {})
    source_db = next(((t.bound.table.provenance or {}).get("database") for t in tables
                      if (t.bound.table.provenance or {}).get("database")), None)
    db = server.url.database or source_db or "lakepkg_scratch"
    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    if not any(runnable):
        return [_not_a_query(s) for s in sqls]
    admin = server.connect()
    claimed = False
    try:
        with admin.cursor() as cur:
            _claim(cur, db, server.shown)
            claimed = True
            if settings.get("database_collation"):
                try:
                    cur.execute(f"ALTER DATABASE {ident(db)} COLLATE {settings['database_collation']}")
                except Exception:
                    pass
        seconds["start"] = elapsed(t0)
        conn = server.connect(db)
        try:
            with conn.cursor() as cur, tempfile.TemporaryDirectory(prefix="lakepkg-exact-my-") as tmp:
                cur.execute("SET SESSION time_zone = '+00:00'")  # TIMESTAMP values load as the UTC they are
                for t in tables:  # 1. each query against the empty tables: the server's own words
                    cur.execute(create_sql(t, [f.name for f in t.bound.table.schema], None))
                _session(cur, settings)
                valid: list[Optional[QueryError]] = []
                for sql, ok in zip(sqls, runnable):
                    if not ok:
                        valid.append(_not_a_query(sql))
                        continue
                    try:
                        _run(conn, sql, tables, snapshot_label, server)
                        valid.append(None)
                    except QueryError as exc:
                        valid.append(exc)
                need = union_needed([needed_columns(tr, tables, "mysql") for tr, v in zip(trees, valid) if v is None])
                t1 = time.monotonic()
                cur.execute("SET SESSION time_zone = '+00:00'")
                for t in tables:
                    cur.execute(f"DROP TABLE {ident(t.name)}")
                loaded = _load(cur, tables, need, tmp) if any(v is None for v in valid) else 0
                seconds["load"] = elapsed(t1)
                _session(cur, settings)
                full = need is None
                for sql, v in zip(sqls, valid):
                    if v is not None:
                        out.append(v)
                        continue
                    t2 = time.monotonic()
                    try:
                        try:
                            names, rows = _run(conn, sql, tables, snapshot_label, server)
                        except QueryError as exc:
                            if full or not is_undefined_column(str(exc)):
                                raise
                            cur.execute("SET SESSION time_zone = '+00:00'")
                            for t in tables:
                                cur.execute(f"DROP TABLE IF EXISTS {ident(t.name)}")
                            loaded += _load(cur, tables, None, tmp)
                            full = True
                            _session(cur, settings)
                            names, rows = _run(conn, sql, tables, snapshot_label, server)
                    except QueryError as exc:
                        out.append(exc)
                        continue
                    out.append(ExactAnswer(arrow_of_rows(names, rows), "mysql", loaded, {**seconds, "run": elapsed(t2)}))
        finally:
            conn.close()
        return out
    finally:
        if claimed:
            try:
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS {ident(db)}")
            except Exception:
                pass
        admin.close()


def _not_a_query(sql: str) -> QueryError:
    first = sql.strip().split(None, 1)[0].upper() if sql.strip() else "an empty statement"
    return QueryError(f"only a query (SELECT …) runs against a snapshot, not {first}; the snapshot is read-only")
