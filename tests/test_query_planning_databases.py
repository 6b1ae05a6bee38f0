"""The fast engine's databases for queries over Parquet fragments (lakepkg.query.duck._Planning): one
per set of files, the last two kept open for the next query over the same files, each allowed to read
only its own files, and one pushed out closed only once no query runs on it."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakepkg.query import duck


@pytest.fixture()
def files(tmp_path):
    out = {}
    for name in "abcd":
        path = str(tmp_path / f"{name}.parquet")
        pq.write_table(pa.table({"x": [1, 2, 3]}), path)
        out[name] = {"v": [path]}
    return out


def _count(db, files) -> int:
    con = db.cursor()
    try:
        return con.execute(f"SELECT count(*) FROM read_parquet({files['v'][0]!r})").fetchone()[0]
    finally:
        con.close()


def test_same_files_same_database_and_only_its_files(files):
    p = duck._Planning()
    a = p.acquire(files["a"])
    p.release(a)
    assert p.acquire(files["a"]) is a
    p.release(a)
    assert _count(a, files["a"]) == 3
    with pytest.raises(duckdb.Error, match="(?i)permission|access|not allowed|disabled"):
        _count(a, files["b"])  # another query's file: not readable from this database


def test_the_oldest_is_closed_when_a_third_set_comes(files):
    p = duck._Planning()
    a = p.acquire(files["a"])
    p.release(a)
    b = p.acquire(files["b"])
    p.release(b)
    c = p.acquire(files["c"])
    p.release(c)
    with pytest.raises(duckdb.ConnectionException):
        a.cursor()
    assert _count(b, files["b"]) == 3 and _count(c, files["c"]) == 3
    assert p.acquire(files["a"]) is not a


def test_a_database_in_use_is_closed_only_when_its_query_ends(files):
    p = duck._Planning()
    a = p.acquire(files["a"])  # a query running on it
    for name in "bcd":
        p.release(p.acquire(files[name]))
    assert _count(a, files["a"]) == 3  # pushed out, still open for its query
    p.release(a)
    with pytest.raises(duckdb.ConnectionException):
        a.cursor()
