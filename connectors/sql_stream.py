"""SQL connector, streaming: one table's record batches out of its session (the key checked unique on
the way), read errors in one line without secrets, and the session closed after the last table."""
from __future__ import annotations

import time
from typing import Any, Iterator, Optional

import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import LakepkgError, SourceError, one_line
from lakepkg.source.table_snapshot import TableSnapshot

from .sql_sessions import Described, Session
from .sql_types import UnfaithfulValue
from .sql_urls import _scrub


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
                except UnfaithfulValue as exc:  # names the column, the value and the remedy
                    raise SourceError(f"table {d.req.name!r}: {one_line(_scrub(str(exc), sess.secrets), 400)}") from None
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
