"""The exact engine on PostgreSQL: an embedded server (:mod:`.embedded_pg`), the snapshot's tables
created with their declared types (UNLOGGED) and bulk-loaded side by side over several connections
(binary ``COPY`` built column-wise by :mod:`.pg_binary` where every column has an exact binary form,
else CSV ``COPY`` written by pyarrow, else ADBC ingest), the query run unchanged
in a read-only transaction with the source session's settings (:mod:`.exact` has the whole story)."""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import QueryError, one_line
from lakepkg.query import pg_binary
from lakepkg.query.exact_common import (ExactAnswer, ExactTable, arrow_of_rows, batches_of, elapsed, is_undefined_column,
                                        needed_columns, source_words, tables_to_load, union_needed)

#: Arrow type -> PostgreSQL type, for columns whose declared type was not recorded
_ARROW_PG = ((pa.types.is_boolean, "boolean"), (pa.types.is_int8, "smallint"), (pa.types.is_int16, "smallint"),
             (pa.types.is_int32, "integer"), (pa.types.is_int64, "bigint"), (pa.types.is_uint8, "smallint"),
             (pa.types.is_uint16, "integer"), (pa.types.is_uint32, "bigint"), (pa.types.is_uint64, "numeric(20,0)"),
             (pa.types.is_float32, "real"), (pa.types.is_float64, "double precision"), (pa.types.is_date, "date"),
             (pa.types.is_time, "time"), (pa.types.is_string, "text"), (pa.types.is_large_string, "text"),
             (pa.types.is_binary, "bytea"), (pa.types.is_large_binary, "bytea"))
#: session settings of the source (version record) -> SET statements
_SETTINGS = (("time_zone", "TimeZone"), ("datestyle", "DateStyle"), ("intervalstyle", "IntervalStyle"),
             ("extra_float_digits", "extra_float_digits"), ("search_path", "search_path"))
#: result types read as their text (psycopg would build Python objects Arrow cannot hold exactly)
_TEXT_RESULTS = ("json", "jsonb", "uuid", "interval", "inet", "cidr", "macaddr", "money", "xml", "tsvector",
                 "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange", "timetz", "bit", "varbit")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_type(t: ExactTable, column: str) -> str:
    """The column's type for CREATE TABLE: as declared, else from the stored Arrow type."""
    c = t.source.columns[column]
    if c.declared and c.type:
        text = c.type
    elif c.type and t.source.server == "postgresql" and not c.type.startswith(("enum ", "oid ")):
        text = c.type  # sql_type of older versions: int4, numeric(15,2), bpchar, timestamptz ...
    else:
        at = c.arrow_type
        if pa.types.is_decimal(at):
            return f"numeric({at.precision},{at.scale})"
        if pa.types.is_timestamp(at):
            return "timestamp with time zone" if at.tz else "timestamp without time zone"
        text = next((n for check, n in _ARROW_PG if check(at)), "text")
    if c.collation and c.collation != "default":
        text += f" COLLATE {ident(c.collation)}"
    return text


def qualified(t: ExactTable) -> str:
    return (ident(t.schema_name) + "." if t.schema_name else "") + ident(t.name)


def create_sql(t: ExactTable, columns: Sequence[str]) -> str:
    cols = ", ".join(f"{ident(c)} {pg_type(t, c)}" for c in columns)
    return f"CREATE UNLOGGED TABLE {qualified(t)} ({cols})"  # a throw-away copy: no WAL


def _error(exc: Any, sql: str, tables: Sequence[ExactTable], snapshot_label: str) -> QueryError:
    diag = getattr(exc, "diag", None)
    msg = (getattr(diag, "message_primary", None) or str(exc).strip().splitlines()[0]) if diag else str(exc)
    pos = getattr(diag, "statement_position", None) if diag else None
    words = source_words(msg, sql, int(pos) if pos else None)
    hint = ""
    state = getattr(exc, "sqlstate", None) or ""
    if state == "42P01":
        have = ", ".join(sorted(".".join(p for p in (t.schema_name, t.name) if p) for t in tables)) or "none"
        hint = f"; {snapshot_label} holds {have}"
    elif state == "25006":
        hint = "; only a query runs against a snapshot"
    return QueryError(f"the query failed on PostgreSQL (exact engine): {words}{hint}")


def _apply_settings(cur: Any, settings: dict[str, Any], tables: Sequence[ExactTable] = ()) -> None:
    """The source session's settings; the schemas of the snapshot's tables go after the recorded
    ``search_path``, so a bare name means the one table of the snapshot it names (as the fast engine
    binds it; the source session had that schema on its path for the query to run)."""
    for key, name in _SETTINGS:
        v = settings.get(key)
        if key == "search_path":
            extra = [ident(t.schema_name) for t in tables if t.schema_name]
            v = ", ".join(dict.fromkeys([p for p in [str(v or '"$user", public')] + extra if p]))
        if v not in (None, ""):
            cur.execute("SELECT set_config(%s, %s, false)", (name, str(v)))


def run_on_postgres(sqls: Sequence[str], trees: Sequence[Any], tables: Sequence[ExactTable],
                    snapshot_label: str) -> list["ExactAnswer | QueryError"]:
    """Each query's answer (or its refusal), over one server and one load of what they read."""
    import psycopg

    from lakepkg.query.embedded_pg import EmbeddedPostgres

    settings: dict[str, Any] = next((dict(t.source.settings) for t in tables if t.source.settings), {})
    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    pg = EmbeddedPostgres(locale=settings.get("database_collation") or None, ctype=settings.get("database_ctype") or None)
    pg.start()
    out: list["ExactAnswer | QueryError"] = []
    try:
        seconds["start"] = elapsed(t0)
        with psycopg.connect(pg.dsn, autocommit=True) as conn:
            for name in _TEXT_RESULTS:
                _text_loader(conn, name)
            notices: list[str] = []
            conn.add_notice_handler(lambda d: notices.append(one_line(d.message_primary or "", 200)))
            cur = conn.cursor()
            # 1. each query against the empty tables: the server's own words for what it refuses
            schemas = sorted({t.schema_name for t in tables if t.schema_name and t.schema_name != "public"})
            for s in schemas:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(s)}")
            for t in tables:
                cur.execute(create_sql(t, [f.name for f in t.bound.table.schema]))
            _apply_settings(cur, settings, tables)
            valid: list[Optional[QueryError]] = []
            for sql in sqls:
                try:
                    _run(cur, sql, tables, snapshot_label)
                    valid.append(None)
                except QueryError as exc:
                    valid.append(exc)
            # 2. only the tables and columns the valid queries read
            need = union_needed([needed_columns(tr, tables, "postgres") for tr, v in zip(trees, valid) if v is None])
            t1 = time.monotonic()
            for t in tables:
                cur.execute(f"DROP TABLE {qualified(t)}")
            rows_loaded = _load(pg, cur, tables, need) if any(v is None for v in valid) else 0
            seconds["load"] = elapsed(t1)
            full = need is None
            for sql, v in zip(sqls, valid):
                if v is not None:
                    out.append(v)
                    continue
                t2 = time.monotonic()
                notices.clear()
                try:
                    try:
                        names, rows = _run(cur, sql, tables, snapshot_label)
                    except QueryError as exc:
                        if full or not is_undefined_column(str(exc)):
                            raise
                        for t in tables:  # the analysis missed a column: every column, once more
                            cur.execute(f"DROP TABLE IF EXISTS {qualified(t)}")
                        rows_loaded += _load(pg, cur, tables, None)
                        full = True
                        names, rows = _run(cur, sql, tables, snapshot_label)
                except QueryError as exc:
                    out.append(exc)
                    continue
                out.append(ExactAnswer(arrow_of_rows(names, rows), "postgres", rows_loaded,
                                       {**seconds, "run": elapsed(t2)}, list(notices)))
    finally:
        t3 = time.monotonic()
        pg.stop()
        for a in out:
            if isinstance(a, ExactAnswer):
                a.seconds["stop"] = elapsed(t3)
    return out


def _text_loader(conn: Any, name: str) -> None:
    from psycopg.types.string import TextLoader

    try:
        conn.adapters.register_loader(name, TextLoader)
    except Exception:
        pass


def _run(cur: Any, sql: str, tables: Sequence[ExactTable], snapshot_label: str) -> tuple[list[str], list[tuple]]:
    import psycopg

    try:
        cur.execute("BEGIN READ ONLY")
        try:
            cur.execute(sql, prepare=True)
            names = [d.name for d in cur.description] if cur.description else []
            rows = cur.fetchall() if cur.description else []
        finally:
            cur.execute("ROLLBACK")
    except psycopg.Error as exc:
        try:
            cur.execute("ROLLBACK")
        except psycopg.Error:
            pass
        raise _error(exc, sql, tables, snapshot_label) from None
    if not names:
        raise QueryError("the statement returns no rows; only a query (SELECT …) runs against a snapshot")
    return names, rows


#: rows per load job: a larger table is cut (by fragments) into jobs that load side by side
JOB_ROWS = 1_000_000


def part_rows() -> int:
    """Rows per part of a table's load (``LAKEPKG_EXACT_PART_ROWS``, default :data:`JOB_ROWS`)."""
    import os

    env = os.environ.get("LAKEPKG_EXACT_PART_ROWS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else JOB_ROWS


def workers() -> int:
    """How many connections load side by side: one per core, at most 4 (``LAKEPKG_EXACT_WORKERS``)."""
    import os

    env = os.environ.get("LAKEPKG_EXACT_WORKERS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


def _jobs(t: ExactTable, cols: Sequence[str], n_workers: int) -> list[Any]:
    """The table's read plan cut into parts of about :func:`part_rows` rows (whole fragments), at
    least one part per worker for a table over a quarter of that, so a large table loads on every core."""
    plan = t.bound.table.scan(columns=list(cols))
    tasks = plan.tasks
    rows, size = _rows(plan), part_rows()
    parts = max(-(-rows // size), n_workers if rows > size // 4 else 1)
    if parts > 1:  # a multiple of the workers: no part left to load alone at the end
        parts = -(-parts // n_workers) * n_workers
    parts = max(1, min(parts, len(tasks)))
    if parts == 1:
        return [plan]
    size = -(-len(tasks) // parts)
    return [plan.with_tasks(tasks[i:i + size]) for i in range(0, len(tasks), size)]


def _rows(plan: Any) -> int:
    return sum(max(int(k.rows or 0), 0) for k in plan.tasks)


def _load(pg: Any, cur: Any, tables: Sequence[ExactTable], need: Optional[dict[int, set[str]]]) -> int:
    """Create and fill the tables the query reads; returns the rows loaded.

    Each table is created UNLOGGED with its declared types; its rows go in by COPY (:func:`_ingest`),
    large tables cut into parts by fragments, the parts loaded over ``workers()``
    connections side by side (the server runs one backend per connection, so the cores share the
    work); then the source's primary keys and ANALYZE, again side by side. A table's key and
    statistics are built as soon as its last part is in, while other tables still load."""
    todo = list(tables_to_load(tables, need))
    n = workers()
    parts: dict[int, list[Any]] = {}
    for _, t, cols in todo:
        cur.execute(create_sql(t, cols))
        parts[id(t)] = _jobs(t, cols, n)
    size = {id(t): sum(_rows(p) for p in parts[id(t)]) for _, t, _ in todo}
    # the largest table first, so its key and statistics overlap the other tables' loads
    order = sorted(todo, key=lambda x: -size[id(x[1])])
    jobs = [(1, (t, cols, p)) for _, t, cols in order for p in parts[id(t)]]
    return run_jobs(n, jobs, lambda job: _ingest(pg, *job), lambda t, cols: _finish(pg, t, cols))


def run_jobs(n: int, jobs: Sequence[tuple[int, Any]], ingest: Any, finish: Any) -> int:
    """Run ``ingest`` on every job ``(t, cols, part)`` over ``n`` threads; when a table's last part
    is in, its ``finish(t, cols)`` goes ahead of every part still waiting (a priority queue).
    Returns the sum of what ``ingest`` returned; the first failure is raised once every thread stopped."""
    import itertools
    import queue
    import threading

    q: "queue.PriorityQueue[tuple[int, int, Any]]" = queue.PriorityQueue()
    seq = itertools.count()
    left: dict[int, int] = {}
    for _, (t, _, _) in jobs:
        left[id(t)] = left.get(id(t), 0) + 1
    for prio, job in jobs:
        q.put((prio, next(seq), ("ingest", job)))
    lock = threading.Lock()
    total, open_jobs = [0], [len(jobs)]
    error: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if open_jobs[0] == 0 or error:
                    return
            try:
                _, _, (kind, job) = q.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                if kind == "ingest":
                    got = ingest(job)
                    t, cols, _ = job
                    with lock:
                        total[0] += got
                        left[id(t)] -= 1
                        if left[id(t)] == 0:
                            open_jobs[0] += 1
                            q.put((0, next(seq), ("finish", (t, cols))))
                else:
                    finish(*job)
            except BaseException as exc:  # noqa: BLE001 - raised by the caller below
                with lock:
                    error.append(exc)
            finally:
                with lock:
                    open_jobs[0] -= 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, n))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if error:
        raise error[0]
    return total[0]


def _load_as() -> str:
    """``LAKEPKG_EXACT_LOAD`` (``binary``, ``csv`` or ``adbc``: the first way a part is tried; for
    measurements), else "" (binary where every column has a binary form, else CSV, else ADBC)."""
    import os

    return os.environ.get("LAKEPKG_EXACT_LOAD", "").strip().lower()


def _as_csv(schema: pa.Schema) -> bool:
    """Whether a part goes in as CSV text (pyarrow's writer, PostgreSQL's COPY parser: the least work
    on both sides) rather than by ADBC's binary COPY: only types whose CSV text PostgreSQL reads
    back to the same value (integers, decimals, text, dates; a string is always quoted, so an
    unquoted empty field is NULL and a quoted one the empty string)."""
    if _load_as() == "adbc":
        return False
    ok = (pa.types.is_integer, pa.types.is_decimal, pa.types.is_string, pa.types.is_large_string, pa.types.is_date32)
    return all(any(check(f.type) for check in ok) for f in schema)


def _ingest(pg: Any, t: ExactTable, cols: Sequence[str], plan: Any) -> int:
    """One part of a table over its own connection: binary COPY where every column has an exact
    binary form, else (or when PostgreSQL refuses a value) CSV COPY, else ADBC ingest (a failed COPY
    leaves no row); the rows loaded."""
    schema = pa.schema([t.bound.table.schema.field(c).remove_metadata() for c in cols])

    def batches() -> Any:
        for b in plan.to_batches(batch_size=131072):
            b = pa.RecordBatch.from_arrays(b.columns, schema=schema)
            yield b.cast(schema) if b.schema != schema else b

    try:
        import psycopg

        declared = [pg_type(t, c) for c in cols]
        if _load_as() in ("", "binary") and pg_binary.encodable_schema(schema, declared):
            try:
                return _copy(pg, t, cols, "binary", batches(), pg_binary.Encoder(schema, declared).rows,
                             pg_binary.HEADER, pg_binary.TRAILER)
            except psycopg.DataError:
                pass
        if _as_csv(schema):
            try:
                return _copy(pg, t, cols, "csv", batches(), _csv_text())
            except psycopg.DataError:
                pass
        import adbc_driver_postgresql.dbapi as adbc

        reader = pa.RecordBatchReader.from_batches(schema, batches())
        with adbc.connect(pg.uri) as a:
            with a.cursor() as ac:
                n = ac.adbc_ingest(t.name, reader, mode="append", db_schema_name=t.schema_name or "public")
            a.commit()
        return max(int(n or 0), 0)
    except QueryError:
        raise
    except Exception as exc:
        raise QueryError(f"the exact engine could not load table {t.bound.binding.name!r} "
                         f"({one_line(exc, 200)}); answer it with the default engine") from None


def _copy(pg: Any, t: ExactTable, cols: Sequence[str], fmt: str, batches: Any, encode: Any,
          head: bytes = b"", tail: bytes = b"") -> int:
    """The batches, each written as ``encode(batch)`` between ``head`` and ``tail``, into one
    ``COPY … FROM STDIN (FORMAT fmt)``; the rows loaded."""
    import psycopg

    total = 0
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY {qualified(t)} ({', '.join(ident(c) for c in cols)}) FROM STDIN "
                                f"(FORMAT {fmt})") as cp:
            if head:
                cp.write(head)
            for b in batches:
                cp.write(encode(b))
                total += b.num_rows
            if tail:
                cp.write(tail)
    return total


def _csv_text() -> Any:
    """A batch as CSV text for COPY (pyarrow writes, PostgreSQL parses; no header)."""
    import io

    import pyarrow.csv as pcsv

    opts = pcsv.WriteOptions(include_header=False, batch_size=16384, quoting_style="needed")

    def encode(b: pa.RecordBatch) -> Any:
        buf = io.BytesIO()
        pcsv.write_csv(b, buf, opts)
        return buf.getbuffer()

    return encode


def _finish(pg: Any, t: ExactTable, cols: Sequence[str]) -> None:
    """The source's primary key (the planner's and GROUP BY's knowledge of it) and the statistics."""
    import psycopg

    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        key = primary_key(t, cols)
        if key:
            conn.execute(f"ALTER TABLE {qualified(t)} ADD PRIMARY KEY ({', '.join(ident(k) for k in key)})")
        conn.execute(f"ANALYZE {qualified(t)}")


def primary_key(t: ExactTable, columns: Sequence[str]) -> Optional[list[str]]:
    """The source's primary key when the snapshot recorded one and every key column is loaded."""
    prov = t.bound.table.provenance or {}
    key = prov.get("key") if prov.get("key_source") == "primary key" else None
    return list(key) if key and all(k in columns for k in key) else None
