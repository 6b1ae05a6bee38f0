"""The embedded engine: DuckDB over the pinned fragments, one in-memory connection per query.

Each table the query reads is registered as an Arrow dataset (:func:`lakepkg.query.tables.dataset`)
behind a temporary view that shows its columns as the source dialect saw them; DuckDB pushes
filters and projections into the dataset scan, so partitions and row groups that cannot match are
not read. A query that joins tables reads their verified fragment files as Parquet instead, in a
database allowed to read exactly those files, so the optimizer plans joins with real row counts
and statistics. Every database works within a memory limit (:func:`memory_limit`) and spills
joins, aggregates and sorts to a temporary directory beyond it. The session time zone is the source's (``timezone``), so ``date_trunc`` and casts of
zoned timestamps fall on the same days. Nothing but the snapshot is reachable: no extension is
loaded and the database has no file system or network access. One in-memory database per
process; each query is a session of its own (a cursor), closed afterwards.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, QueryError, one_line
from lakepkg.query.dialects import label
from lakepkg.query.tables import Bound, dataset, read_plan, view_columns


def run(sql: str, bound: Sequence[Bound], dialect: str, timezone: str = "UTC",
        filters: Optional[Mapping[str, list[tuple[str, str, Any]]]] = None,
        column_error: Optional[str] = None, explain: bool = False) -> pa.Table:
    """Run the engine SQL ``sql`` (from :func:`lakepkg.query.transpile.transpile`) over ``bound``;
    ``filters``: per view, the terms its read plan prunes fragments with; ``column_error``: what
    the source says of a column reference it cannot resolve (raised when the engine cannot bind).
    ``explain``: the engine's physical plan instead of the answer (one ``plan`` column of lines)."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - a core dependency
        raise ConfigError("the embedded query engine needs duckdb; pip install duckdb") from None
    from sqlglot import exp

    files = _parquet_files(bound, filters)
    planning = _PLANNING.acquire(files) if files else None
    try:
        con = (planning or _database()).cursor()  # its own session: temporary views, registrations, time zone
    except BaseException:
        if planning is not None:
            _PLANNING.release(planning)
        raise
    try:
        try:
            con.execute(f"SET SESSION TimeZone = {_quote(timezone)}")
        except duckdb.Error:
            raise ConfigError(f"unknown time zone {timezone!r}; give an IANA name such as UTC or Europe/Paris") from None
        _register_functions(con, sql)
        for b in bound:
            raw = f"{b.binding.view}__data"
            paths = files.get(b.binding.view)
            if paths:
                listed = ", ".join(_quote(p) for p in paths)
                con.execute(f'CREATE TEMP VIEW "{raw}" AS SELECT * FROM read_parquet([{listed}])')
                got = {r[0]: r[1] for r in con.execute(f'DESCRIBE "{raw}"').fetchall()}
                if any(got.get(f.name) != duck_type(f.type) for f in b.table.schema):
                    # files older than a column, or a type the files hold otherwise: the dataset casts
                    con.execute(f'DROP VIEW "{raw}"')
                    paths = None
            if not paths:
                con.register(raw, dataset(b.table, (filters or {}).get(b.binding.view)))
            select = exp.select(*view_columns(b.table.schema, dialect, timezone)).from_(
                exp.to_identifier(raw, quoted=True))
            con.execute(f'CREATE TEMP VIEW "{b.binding.view}" AS {select.sql("duckdb")}')
        try:
            if explain:
                text = "\n".join(str(r[-1]) for r in con.execute(f"EXPLAIN {sql}").fetchall())
                return pa.table({"plan": text.splitlines()})
            rel = con.sql(sql)
            return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
        except duckdb.Error as exc:
            if column_error and isinstance(exc, duckdb.BinderException):
                raise QueryError(column_error) from None
            raise error(exc, bound, dialect) from None
    finally:
        con.close()
        if planning is not None:
            _PLANNING.release(planning)


def _parquet_files(bound: Sequence[Bound], filters: Optional[Mapping[str, list[tuple[str, str, Any]]]]
                   ) -> dict[str, list[str]]:
    """Each table's verified local fragment files (its read plan's
    :meth:`~lakepkg.read.scan.ScanPlan.local_paths`, each hashed before its first use), so that
    DuckDB reads them as Parquet: it plans joins with their row counts and column statistics (an
    Arrow dataset scan is estimated at one row, and a multi-way join then becomes nested loops),
    skips row groups by their statistics, reads only the columns the query names, on every core.
    Tables whose files are not their rows (deletion vectors, partition values kept outside the
    files) or that have no fragments stay Arrow datasets. DuckDB binds a table's files with the
    first file's columns (it reads one footer, not all of them: ``union_by_name`` cost 0.1-0.3 s a
    query over a few hundred fragments) and matches each later file's by name: every fragment of a
    version has its table's logical schema (the builder refuses any other, ``check_schema``), and
    :func:`run` checks the first file's types are the table's."""
    out: dict[str, list[str]] = {}
    for b in bound:
        plan = read_plan(b.table, (filters or {}).get(b.binding.view))
        if plan.tasks and not plan.partition_columns and not plan.has_deletes:
            out[b.binding.view] = plan.local_paths()
    return out


#: Arrow type -> the type DuckDB gives the same column read from Parquet (others: read as a dataset)
_DUCK_TYPES = ((pa.types.is_boolean, "BOOLEAN"), (pa.types.is_int8, "TINYINT"), (pa.types.is_int16, "SMALLINT"),
               (pa.types.is_int32, "INTEGER"), (pa.types.is_int64, "BIGINT"), (pa.types.is_uint8, "UTINYINT"),
               (pa.types.is_uint16, "USMALLINT"), (pa.types.is_uint32, "UINTEGER"), (pa.types.is_uint64, "UBIGINT"),
               (pa.types.is_float32, "FLOAT"), (pa.types.is_float64, "DOUBLE"), (pa.types.is_string, "VARCHAR"),
               (pa.types.is_large_string, "VARCHAR"), (pa.types.is_binary, "BLOB"), (pa.types.is_large_binary, "BLOB"),
               (pa.types.is_date32, "DATE"))


def duck_type(t: pa.DataType) -> Optional[str]:
    """The DuckDB type of a stored column of Arrow type ``t`` as the Arrow dataset shows it (None:
    not known here; such a table is read as a dataset)."""
    if pa.types.is_decimal128(t):
        return f"DECIMAL({t.precision},{t.scale})" if t.precision <= 38 else None
    if pa.types.is_timestamp(t):
        if t.tz:
            return "TIMESTAMP WITH TIME ZONE"
        return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}.get(t.unit)
    return next((n for check, n in _DUCK_TYPES if check(t)), None)


def threads() -> int:
    """DuckDB's threads for a query: ``LAKEPKG_QUERY_THREADS``, else one per core."""
    import os

    given = os.environ.get("LAKEPKG_QUERY_THREADS", "").strip()
    return int(given) if given.isdigit() and int(given) > 0 else max(1, os.cpu_count() or 1)


def memory_limit() -> str:
    """DuckDB's memory limit for a query: ``LAKEPKG_QUERY_MEMORY`` (e.g. ``2GB``), else 40 % of the
    machine's memory (DuckDB's default, 80 %, leaves too little for everything else). Beyond it,
    joins, aggregates and sorts spill to a temporary directory."""
    import os

    given = os.environ.get("LAKEPKG_QUERY_MEMORY")
    if given:
        return given
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return "2GB"
    return f"{max(total * 2 // 5 // (1 << 20), 256)}MB"


def _spill_directory() -> str:
    """One temporary directory per process for DuckDB's spill files, removed at exit."""
    if not _SPILL:
        import atexit
        import shutil
        import tempfile

        path = tempfile.mkdtemp(prefix="lakepkg-query-")
        atexit.register(shutil.rmtree, path, True)
        _SPILL.append(path)
    return _SPILL[0]


_SPILL: list[str] = []


def _quote(text: str) -> str:
    """A SQL string literal (no bound parameters: binding one makes DuckDB import pandas, ~0.3 s)."""
    return "'" + text.replace("'", "''") + "'"
_CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def _configure(con: Any, allowed: Sequence[str] = ()) -> Any:
    """Memory limit, spill directory, the engine functions; then no file system access beyond
    ``allowed`` (DuckDB only lets the allow-list be set while access is still on)."""
    con.execute(f"SET memory_limit = '{memory_limit()}'")
    con.execute(f"SET threads = {threads()}")
    con.execute(f"SET temp_directory = {_quote(_spill_directory())}")
    # a table scanned twice in one query (TPC-H Q21 reads lineitem three times) parses its
    # fragments' footers once; the files are content-addressed and checked, so never stale
    con.execute("SET parquet_metadata_cache = true")
    if allowed:
        con.execute(f"SET allowed_paths = [{', '.join(_quote(p) for p in allowed)}]")
    con.execute("SET enable_external_access = false")
    return con


def _register_functions(con: Any, sql: str) -> None:
    """The engine's own functions (:mod:`lakepkg.query.numbers`) in the query's session, those it
    calls only (registering one costs time, and a query without them needs none)."""
    import duckdb

    from lakepkg.query import numbers

    for name in (numbers.PG_FUNCTION, numbers.MYSQL_FUNCTION):
        if name in sql.lower():
            try:
                numbers.register(con, name)
            except duckdb.CatalogException:  # the process's database has it from an earlier query
                pass


class _Planning:
    """Databases for queries that read Parquet files, each allowed to read exactly its files. The
    last :data:`PLANNING_KEPT` stay open for a query over the same files (a notebook re-running or
    refining a query): opening and closing one costs ~0.03 s, and DuckDB keeps the files' parsed
    footers. The files are content-addressed and hashed before a query hands them out. A database
    pushed out is closed once no query uses it."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}          # files -> database, the newest last
        self._users: dict[int, int] = {}         # id(database) -> queries running on it
        self._retired: dict[int, Any] = {}       # pushed out, still in use

    def acquire(self, files: Mapping[str, Sequence[str]]) -> Any:
        import duckdb

        allowed = sorted({p for ps in files.values() for p in ps})
        key = "\n".join(allowed)
        with self._lock:
            db = self._open.pop(key, None)
            if db is None:
                db = _configure(duckdb.connect(":memory:", config=dict(_CONFIG)), allowed)
            self._open[key] = db
            self._users[id(db)] = self._users.get(id(db), 0) + 1
            while len(self._open) > PLANNING_KEPT:
                old = self._open.pop(next(iter(self._open)))
                if self._users.get(id(old), 0):
                    self._retired[id(old)] = old
                else:
                    old.close()
            return db

    def release(self, db: Any) -> None:
        with self._lock:
            self._users[id(db)] -= 1
            if not self._users[id(db)]:
                del self._users[id(db)]
                if id(db) in self._retired:
                    self._retired.pop(id(db)).close()


#: planning databases kept open per process (see :class:`_Planning`)
PLANNING_KEPT = 2
_PLANNING = _Planning()


_DB: list[Any] = []


def _database() -> Any:
    """The process's in-memory DuckDB database (opening one costs ~0.1 s; a cursor is a new session
    of it). No file system or network access, no extension loading: only registered datasets."""
    import duckdb

    if not _DB:
        _DB.append(_configure(duckdb.connect(":memory:", config=dict(_CONFIG))))
    return _DB[0]


def error(exc: BaseException, bound: Sequence[Bound], dialect: str) -> QueryError:
    """A one-line QueryError for an engine failure, with view names turned back into original names."""
    from lakepkg.query.strings import END, REFUSE, SOURCE_ERROR

    full = str(exc)
    for marker in (REFUSE, SOURCE_ERROR):
        if marker in full:
            said = full[full.index(marker) + len(marker):].splitlines()[0]
            said = said.split(END)[0].rstrip("'\" ")
            return QueryError(said if marker == REFUSE else f"{said} ({label(dialect)} refuses the query too)")
    text = next((ln for ln in full.splitlines() if ln.strip()), full)
    for b in sorted(bound, key=lambda b: -len(b.binding.view)):
        text = text.replace(f'"{b.binding.view}"', b.binding.name).replace(b.binding.view, b.binding.name)
    if text.startswith("Parser Error: "):  # what sqlglot let through, the engine could not read
        return QueryError(f"syntax error in the query ({label(dialect)}): {one_line(text[14:], 300)}; "
                          f"fix the query text")
    import re

    from lakepkg.query.strings import refusal

    m = re.match(r"Catalog Error: (Scalar|Aggregate|Table) Function with name (\w+) does not exist", text)
    if m:
        return refusal(f"the function {m.group(2)}", dialect)
    kind, _, reason = text.partition(": ")
    if kind in ("Binder Error", "Catalog Error", "Not implemented Error", "Conversion Error", "Out of Range Error"):
        what = {"Conversion Error": "a value conversion", "Out of Range Error": "a value beyond the engine's range"
                }.get(kind, "the query as written")
        return refusal(f"{what} ({one_line(reason, 200)})", dialect)
    return QueryError(f"the query failed on the snapshot: {one_line(text, 300)}")
