"""The plain SQLAlchemy path (any dialect): SQLite file and PostgreSQL through stream_results."""
from __future__ import annotations

import sqlite3

from lakepkg.read.package import Package
from lakepkg_connectors.sql import snapshot_sql
from tests.fixtures.databases import pg_exec


def test_generic_sqlite(tmp_path, registry):
    db = tmp_path / "x.sqlite"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, f REAL)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, f"v{i}", i / 4) for i in range(2000, 0, -1)])
    c.commit()
    c.close()
    res = snapshot_sql(f"sqlite:///{db}", "t/lite", queries={"t": "SELECT * FROM t"}, key="id", batch_rows=300,
                       registry=registry)
    assert res.tables["t"]["method"] == "sqlalchemy" and res.tables["t"]["rows"] == 2000
    t = Package(registry, res.record.top_hash)["t"].to_arrow()
    assert t["id"].to_pylist() == list(range(1, 2001)) and t["f"].to_pylist()[3] == 1.0
    again = snapshot_sql(f"sqlite:///{db}", "t/lite", queries={"t": "SELECT * FROM t"}, key="id", registry=registry)
    assert again.record.top_hash == res.record.top_hash and not again.created


def test_generic_path_on_postgres_matches_native_for_plain_types(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE t (id bigint PRIMARY KEY, v text, f double precision)",
            "INSERT INTO t SELECT g, 'v' || g, g / 4.0 FROM generate_series(1, 3000) g")
    g = snapshot_sql(pg_url, "t/g", tables="public.t", method="sqlalchemy", batch_rows=500, registry=registry)
    n = snapshot_sql(pg_url, "t/n", tables="public.t", method="dbapi", registry=registry)
    tg = Package(registry, g.record.top_hash)["t"].to_arrow()
    tn = Package(registry, n.record.top_hash)["t"].to_arrow()
    assert tg.num_rows == 3000 and g.tables["t"]["key"] == ["id"]
    assert tg.to_pylist() == tn.to_pylist()
