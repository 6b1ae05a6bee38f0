"""TPC-H's 22 queries (data and texts from DuckDB's tpch extension wheel, loaded into PostgreSQL and
MariaDB with TPC-H's own types) answered from the snapshot after the source changed: each answer
must equal the live answer as of the snapshot, row by row (tests/fixtures/tpch.py)."""
from __future__ import annotations

import uuid

import pytest

from lakepkg.query.compare import differs
from tests.fixtures.tpch import SERVERS

QUERIES = list(range(1, 23))


@pytest.mark.parametrize("server", SERVERS)
def test_tpch_control_the_live_answers_moved(tpch, server):
    """The refresh functions and updates changed the source: most live answers moved, so an answer
    from the snapshot that equals the old one was not read from the changed tables."""
    moved = [n for n in QUERIES if differs(tpch.before[server][n], tpch.after[server][n], tpch.queries[server][n],
                                           "postgres" if server == "pg" else "mysql") is not None]
    assert len(moved) >= 18, f"only queries {moved} moved"
    assert all(tpch.before[server][n].num_rows > 0 for n in QUERIES)


def _exact_all(tpch, server, scratch=None):
    from lakepkg.query.exact import run_exact_all

    qs = [tpch.queries[server][n] for n in QUERIES]
    if server == "pg":
        return run_exact_all(qs, tpch.refs["pg"], engine="postgres", registry=tpch.registry)
    return run_exact_all(qs, tpch.refs["my"], engine="mysql", server=scratch, registry=tpch.registry)


@pytest.mark.parametrize("server", SERVERS)
def test_tpch_exact_engine_gives_the_answer_of_the_snapshot_moment(tpch, server, request, monkeypatch):
    """All 22 queries, unchanged, on the exact engine (an embedded PostgreSQL; a scratch database on
    the test MariaDB) over the snapshot taken before the refresh: equal to the live answers then.
    PostgreSQL loads every table over 1,250 rows in parts of about 5,000 rows over two connections
    side by side (at this scale the default parts would hold whole tables): every row once."""
    monkeypatch.setenv("LAKEPKG_EXACT_PART_ROWS", "5000")
    monkeypatch.setenv("LAKEPKG_EXACT_WORKERS", "2")
    scratch = None
    if server == "my":
        from tests.fixtures.databases import MY_HOST, MY_PORT, MY_USER

        scratch = f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/lpscratch_{uuid.uuid4().hex[:8]}"
    answers = _exact_all(tpch, server, scratch)
    dialect = "postgres" if server == "pg" else "mysql"
    report = {}
    for n, a in zip(QUERIES, answers):
        if isinstance(a, Exception):
            report[n] = f"refused: {a}"
            continue
        d = differs(a.table, tpch.before[server][n], tpch.queries[server][n], dialect)
        report[n] = "equal" if d is None else "different: " + d.line("exact", "live")
    if server == "pg":  # every row of the eight tables the 22 queries read, once
        import lakepkg

        pkg = lakepkg.load(tpch.refs["pg"], registry=tpch.registry)
        rows = sum(pkg[t].to_arrow().num_rows for t in ("region", "nation", "part", "supplier", "partsupp",
                                                         "customer", "orders", "lineitem"))
        loaded = {a.rows_loaded for a in answers if not isinstance(a, Exception)}
        assert loaded == {rows}, (loaded, rows)
    if getattr(request.config, "cache", None) is not None:  # absent under -p no:cacheprovider
        request.config.cache.set(f"lakepkg/tpch_exact_{server}", report)
    assert all(v == "equal" for v in report.values()), {n: v for n, v in report.items() if v != "equal"}
    if scratch:  # the scratch database is gone
        from tests.fixtures.databases import mysql_exec

        name = scratch.rsplit("/", 1)[1]
        assert not mysql_exec(scratch.rsplit("/", 1)[0] + "/", f"SHOW DATABASES LIKE '{name}'")
