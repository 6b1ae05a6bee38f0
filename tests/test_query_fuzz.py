"""The seeded differential fuzzer: random queries over a snapshot's schema, run live on PostgreSQL and
MariaDB and on the snapshot with the fast engine. Every answer is the source's or a refusal, never
another answer.

Schema: a small one of our own with the columns whose rules differ between engines — CHAR(n) with
padding, VARCHAR with trailing blanks and case variants (MariaDB's case-insensitive PAD SPACE
collation), NUMERIC(12,2) with negatives, INT with zeros (division), BIGINT (PostgreSQL's numeric
SUM), dates, NULLs. A run draws queries for ``LAKEPKG_QUERY_FUZZ_SECONDS`` (default 30) or
``LAKEPKG_QUERY_FUZZ_COUNT`` (default 300) queries, whichever comes first; the seed is random per
run, printed, and replayed with ``LAKEPKG_QUERY_FUZZ_SEED=<seed>``."""
from __future__ import annotations

import datetime as dt
import decimal
import os
import random
import time
import uuid

import pytest

from lakepkg.registry import open_registry
from lakepkg.write.snapshotting import snapshot
from tests.fixtures.databases import MY_HOST, MY_PORT, MY_USER, PG_HOST, PG_PORT, PG_USER, mysql_admin, pg_admin
from tests.query_fuzz import Col, Generator, Join, Table, difference

TABLES = [
    Table("acct", "a", (Col("acct", "acct_id", "int"), Col("acct", "code", "char"), Col("acct", "name", "text"),
                        Col("acct", "city", "text"), Col("acct", "amount", "num"), Col("acct", "qty", "int"),
                        Col("acct", "big", "int"), Col("acct", "opened", "date"), Col("acct", "tag", "text"))),
    Table("city", "c", (Col("city", "city_id", "int"), Col("city", "city", "text"), Col("city", "region", "char"),
                        Col("city", "rate", "num"))),
]
JOINS = [Join(Col("acct", "city", "text"), Col("city", "city", "text"))]
#: ``tag``: MariaDB's binary collation (case-sensitive, PAD SPACE) next to the default case-insensitive one
DDL = [
    "CREATE TABLE acct (acct_id INT PRIMARY KEY, code CHAR(6), name VARCHAR(20), city VARCHAR(16), "
    "amount NUMERIC(12,2), qty INT, big BIGINT, opened DATE, tag VARCHAR(8) {bin})",
    "CREATE TABLE city (city_id INT PRIMARY KEY, city VARCHAR(16), region CHAR(4), rate NUMERIC(6,3))",
]
CITIES = ["Berlin", "berlin", "Paris", "Rome", "Oslo", "Lima", "Oslo "]
CODES = ["AB", "AB1", "XY", "xy", "Q", "LONG6"]
TAGS = ["x", "X", "y ", "y", "Z"]
NAMES = ["ann", "Ann", "bob", "carl ", "dora", "eve", "Zed"]
STRINGS = ["x", "X", "y", "Berlin", "berlin", "BERLIN", "Paris", "Oslo", "Oslo ", "AB", "ab", "XY", "Q", "ann", "bob", "Zed",
           "EU", "eu", "AS", "Lima", "carl"]
NUMBERS = ["0", "1", "2.5", "10.00", "-3.25", "100", "0.5"]
DATES = ["2024-01-01", "2024-02-15", "2024-06-30", "2023-12-31"]


def _rows() -> tuple[list[tuple], list[tuple]]:
    r = random.Random(11)
    acct = []
    for i in range(1, 81):
        pick = lambda xs, p=0.08: None if r.random() < p else r.choice(xs)  # noqa: E731
        amount = None if r.random() < 0.08 else decimal.Decimal(r.randint(-50000, 900000)) / 100
        qty = None if r.random() < 0.08 else r.choice([0, 1, 2, 3, 7, 12, 40])
        big = r.choice([10 ** 12 + 7, 3, 5, 1234567890123, -17])
        opened = dt.date(2023, 12, 1) + dt.timedelta(days=r.randint(0, 240))
        acct.append((i, pick(CODES), pick(NAMES), pick(CITIES), amount, qty, big, opened, pick(TAGS)))
    city = [(1, "Berlin", "EU", decimal.Decimal("1.250")), (2, "Paris", "EU", decimal.Decimal("0.333")),
            (3, "Rome", "eu", decimal.Decimal("2.000")), (4, "Oslo", "EU", None), (5, "Lima", "AS", decimal.Decimal("7.125")),
            (6, "Tokyo", "AS", decimal.Decimal("0.010"))]
    return acct, city


@pytest.fixture(scope="module")
def fuzz_case(tmp_path_factory):
    """Both servers loaded with the schema, each snapshotted once."""
    import psycopg
    import pymysql

    acct, city = _rows()
    db = f"lpfz_{uuid.uuid4().hex[:10]}"
    reg = open_registry(str(tmp_path_factory.mktemp("fuzzreg")))
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{db}"')
    admin = mysql_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    pg = my = None
    try:
        pg = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db, autocommit=True)
        my = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password="", database=db, autocommit=True)
        with my.cursor() as cur:
            for ddl in DDL:
                pg.execute(ddl.format(bin=""))
                cur.execute(ddl.format(bin="COLLATE utf8mb4_bin"))
            for name, rows in (("acct", acct), ("city", city)):
                marks = ", ".join(["%s"] * len(rows[0]))
                with pg.cursor() as pc:
                    pc.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
                cur.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        pg_rec = snapshot("sql", to="fuzz/pg", registry=reg, url=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}",
                          tables={"acct": "public.acct", "city": "public.city"}).record
        my_rec = snapshot("sql", to="fuzz/my", registry=reg, url=f"mysql+pymysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}",
                          tables={"acct": f"{db}.acct", "city": f"{db}.city"}).record
        yield {"registry": reg, "pg": pg, "my": my,
               "postgres": f"fuzz/pg@{pg_rec.top_hash[:10]}", "mysql": f"fuzz/my@{my_rec.top_hash[:10]}"}
    finally:
        for conn in (pg, my):
            if conn is not None:
                conn.close()
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()


def live_answer(case, dialect, sql):
    """(names, rows) from the live server, or None when the server refuses the query."""
    import psycopg
    import pymysql

    conn = case["pg"] if dialect == "postgres" else case["my"]
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            names = [d.name if dialect == "postgres" else d[0] for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]
    except (psycopg.Error, pymysql.MySQLError):
        return None


def run_fuzz(case, seed: int, seconds: float, count: int, tables, joins, strings, numbers, dates):
    """Run the fuzzer; (counts, failures)."""
    import lakepkg
    from lakepkg.errors import LakepkgError
    from tests.query_compare import arrow_rows

    gens = {d: Generator(seed + i, tables, joins, d, strings, numbers, dates)
            for i, d in enumerate(("postgres", "mysql"))}
    counts = {"run": 0, "equal": 0, "refused": 0, "both refused": 0, "different": 0}
    failures = []
    end = time.monotonic() + seconds
    while counts["run"] < count and time.monotonic() < end:
        for dialect, gen in gens.items():
            sql, ordered = gen.query()
            live = live_answer(case, dialect, sql)
            counts["run"] += 1
            try:
                snap = arrow_rows(lakepkg.query(sql, package=case[dialect], registry=case["registry"]))
            except LakepkgError as exc:
                counts["both refused" if live is None else "refused"] += 1
                assert "\n" not in str(exc), str(exc)
                if os.environ.get("LAKEPKG_QUERY_FUZZ_SHOW"):
                    print(f"refused [{dialect}] {sql}\n    {exc}")
                continue
            if live is None:
                counts["different"] += 1
                failures.append((dialect, sql, "the source refuses the query; the snapshot answered it"))
                continue
            diff = difference(live, snap, ordered)
            if diff is None:
                counts["equal"] += 1
            else:
                counts["different"] += 1
                failures.append((dialect, sql, diff))
    return counts, failures


def test_differential_fuzz(fuzz_case):
    seed = int(os.environ.get("LAKEPKG_QUERY_FUZZ_SEED") or random.randrange(1 << 30))
    seconds = float(os.environ.get("LAKEPKG_QUERY_FUZZ_SECONDS", "30"))
    count = int(os.environ.get("LAKEPKG_QUERY_FUZZ_COUNT", "300"))
    counts, failures = run_fuzz(fuzz_case, seed, seconds, count, TABLES, JOINS, STRINGS, NUMBERS, DATES)
    print(f"query fuzz seed {seed}: {counts}")
    shown = "; ".join(f"[{d}] {sql} -> {diff}" for d, sql, diff in failures[:3])
    assert not failures, (f"seed {seed} (replay: LAKEPKG_QUERY_FUZZ_SEED={seed}): {len(failures)} different "
                          f"answers of {counts['run']}: {shown}")
    assert counts["run"] >= 40, f"seed {seed}: only {counts['run']} queries ran in {seconds} s"
    assert counts["equal"] >= counts["run"] // 3, f"seed {seed}: too few answered: {counts}"
