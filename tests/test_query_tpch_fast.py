"""The fast engine (DuckDB) on TPC-H, a corpus nobody on the project wrote (tests/fixtures/tpch.py):
the 22 queries on both servers' snapshots must each give the live answer as of the snapshot or
refuse — never another answer — and the differential fuzzer over TPC-H's schema (CHAR(n) names,
segments, modes; DECIMAL(15,2) prices; dates) must find no query whose answers differ."""
from __future__ import annotations

import os
import random
import re

import pytest

import lakepkg
from lakepkg.errors import LakepkgError
from lakepkg.query.compare import differs
from tests.fixtures.tpch import DDL, SERVERS
from tests.query_fuzz import Col, Join, Table

QUERIES = list(range(1, 23))


@pytest.mark.parametrize("server", SERVERS)
def test_tpch_fast_engine_equal_or_refused(tpch, server):
    dialect = "postgres" if server == "pg" else "mysql"
    report = {}
    for n in QUERIES:
        sql = tpch.queries[server][n]
        try:
            fast = lakepkg.query(sql, package=tpch.refs[server], registry=tpch.registry)
        except LakepkgError as exc:
            assert "\n" not in str(exc)
            report[n] = f"refused: {exc}"
            continue
        live = tpch.before[server][n]
        if fast.column_names != live.column_names:  # names exactly as the server gives them
            report[n] = f"different: columns {fast.column_names} vs {live.column_names}"
            continue
        d = differs(fast, live, sql, dialect)
        report[n] = "equal" if d is None else "different: " + d.line("fast", "live")
    print(f"TPC-H fast engine, {server}: " + ", ".join(f"Q{n} {v.split(':')[0]}" for n, v in report.items()))
    different = {n: v for n, v in report.items() if v.startswith("different")}
    assert not different, different
    assert sum(v == "equal" for v in report.values()) >= 20, report


# -- the fuzzer over TPC-H's schema -------------------------------------------------------------------

FUZZ_TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp"]
ALIASES = {"region": "r", "nation": "n", "supplier": "s", "customer": "c", "part": "p", "partsupp": "ps"}
KEYS = [("nation", "n_regionkey", "region", "r_regionkey"), ("supplier", "s_nationkey", "nation", "n_nationkey"),
        ("customer", "c_nationkey", "nation", "n_nationkey"), ("partsupp", "ps_partkey", "part", "p_partkey"),
        ("partsupp", "ps_suppkey", "supplier", "s_suppkey")]
STRINGS = ["EUROPE", "ASIA", "europe", "GERMANY", "FRANCE", "BUILDING", "building", "MACHINERY", "Brand#23",
           "Brand#45", "MED BOX", "SM CASE", "Supplier#000000001", "Customer#000000007", "PROMO", "ECONOMY",
           "STANDARD POLISHED", "25-", "13-", "forest", "green", "Manufacturer#1"]
NUMBERS = ["0", "100.00", "2500.5", "-10", "1000", "9000.25", "0.5"]
DATES = ["1995-01-01"]


def _kind(sql_type: str) -> str:
    t = sql_type.upper()
    return "char" if t.startswith("CHAR") else "text" if t.startswith("VARCHAR") else \
        "num" if t.startswith("DECIMAL") else "date" if t.startswith("DATE") else "int"


def fuzz_schema() -> tuple[list[Table], list[Join]]:
    tables = []
    for t in FUZZ_TABLES:
        cols = []
        for part in DDL[t].split(", "):
            m = re.match(r"(\w+) (\w+)", part)
            if m and m.group(1) != "PRIMARY":
                cols.append(Col(t, m.group(1), _kind(m.group(2))))
        key = re.search(r"PRIMARY KEY \(([^)]*)\)", DDL[t])
        tables.append(Table(t, ALIASES[t], tuple(cols), tuple(k.strip() for k in key.group(1).split(",")) if key else ()))
    joins = [Join(Col(a, ac, "int"), Col(b, bc, "int")) for a, ac, b, bc in KEYS]
    return tables, joins


@pytest.fixture(scope="module")
def tpch_now(tpch):
    """The live TPC-H databases as they are now (after the refresh), snapshotted again (the tables the
    fuzzer reads), with connections to run the same queries live."""
    import psycopg
    import pymysql
    from sqlalchemy.engine import make_url

    refs = {}
    for server, dialect in (("pg", "postgres"), ("my", "mysql")):
        url = tpch.url(server)
        schema = "public" if server == "pg" else url.rsplit("/", 1)[1]
        res = lakepkg.snapshot("sql", url=url, to=f"tpch/{server}-now", tables={t: f"{schema}.{t}" for t in FUZZ_TABLES},
                               registry=tpch.registry)
        refs[dialect] = f"tpch/{server}-now@{res.record.top_hash[:12]}"
    u = make_url(tpch.my_url)
    pg = psycopg.connect(tpch.pg_url, autocommit=True)
    my = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                         database=u.database, autocommit=True)
    try:
        yield {"registry": tpch.registry, "pg": pg, "my": my, **refs}
    finally:
        pg.close()
        my.close()


def test_differential_fuzz_over_tpch(tpch_now):
    from tests.test_query_fuzz import run_fuzz

    seed = int(os.environ.get("LAKEPKG_QUERY_FUZZ_SEED") or random.randrange(1 << 30))
    seconds = float(os.environ.get("LAKEPKG_QUERY_FUZZ_SECONDS", "20"))
    count = int(os.environ.get("LAKEPKG_QUERY_FUZZ_COUNT", "200"))
    tables, joins = fuzz_schema()
    counts, failures = run_fuzz(tpch_now, seed, seconds, count, tables, joins, STRINGS, NUMBERS, DATES)
    print(f"query fuzz over TPC-H, seed {seed}: {counts}")
    shown = "; ".join(f"[{d}] {sql} -> {diff}" for d, sql, diff in failures[:3])
    assert not failures, (f"seed {seed} (replay: LAKEPKG_QUERY_FUZZ_SEED={seed}): {len(failures)} different "
                          f"answers of {counts['run']}: {shown}")
    assert counts["run"] >= 40 and counts["equal"] >= counts["run"] // 3, f"seed {seed}: {counts}"


# -- planning and memory --------------------------------------------------------------------------------

def _plan(tpch, server, n):
    from lakepkg.query.api import plan
    from lakepkg.query.duck import run

    t, bound = plan(tpch.queries[server][n], tpch.refs[server], registry=tpch.registry)
    return "\n".join(run(t.sql, bound, t.dialect, "UTC", t.filters, explain=True).column("plan").to_pylist())


@pytest.mark.parametrize("n", [5, 8, 9])
def test_multi_way_joins_are_planned_with_row_counts(tpch, n):
    """TPC-H's six- to eight-way joins: DuckDB knows each table's rows (it reads the verified fragment
    files as Parquet), so it hash-joins them — no cross product, no nested-loop join — and its
    estimates are real row counts, not one row per scan."""
    text = _plan(tpch, "pg", n)
    assert "HASH_JOIN" in text, text
    assert "CROSS_PRODUCT" not in text and "NESTED_LOOP_JOIN" not in text, text
    estimates = [int(x.replace(",", "")) for x in re.findall(r"~([\d,]+) rows", text)]
    assert estimates and max(estimates) >= 1_000, estimates  # real sizes (an Arrow scan is estimated at 1 row)


def test_queries_stay_within_a_small_memory_limit(tpch, monkeypatch):
    """With a 64 MB limit the joins and aggregates spill instead of growing: the answers are the same."""
    monkeypatch.setenv("LAKEPKG_QUERY_MEMORY", "64MB")
    from lakepkg.query import duck

    monkeypatch.setattr(duck, "_DB", [])  # the shared database is made again, with the limit
    for n in (9, 18, 21):
        fast = lakepkg.query(tpch.queries["pg"][n], package=tpch.refs["pg"], registry=tpch.registry)
        assert differs(fast, tpch.before["pg"][n], tpch.queries["pg"][n], "postgres") is None, n
    monkeypatch.setattr(duck, "_DB", [])
