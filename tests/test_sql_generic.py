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


def test_unknown_dialect_and_missing_sqlite_file_are_one_line_and_create_nothing(tmp_path, home):
    import os
    import subprocess
    import sys

    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    missing = tmp_path / "no" / "such.db"
    cases = [("bogus://x", "cannot read bogus:// URLs"),
             (f"sqlite:///{missing}", f"no SQLite database at {missing}; check the path"),
             (f"sqlite:///{tmp_path / 'nothere.db'}", "no SQLite database at")]
    for url, msg in cases:
        p = subprocess.run([sys.executable, "-m", "lakepkg.cli.__main__", "snapshot", "sql", "--url", url,
                            "--table", "t", "--to", "a/b"], capture_output=True, text=True, env=env)
        assert p.returncode not in (0, 70) and msg in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not (tmp_path / "nothere.db").exists()  # a snapshot never creates a database
    from lakepkg.registry import open_registry

    assert open_registry(os.path.join(str(home), "registry")).list_packages() == []
