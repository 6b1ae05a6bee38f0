"""Query reproduction: the SQL text that ran against live tables (Hive metastore tables, PostgreSQL)
runs unchanged on their snapshot and gives the original answer after the live tables changed;
``lakepkg query`` does the same from the command line; bad queries and references are one-line errors."""
from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
import uuid

import pyarrow as pa
import pytest

from lakepkg.write.build import PackageBuilder
from lakepkg.errors import ConfigError, LakepkgError, NotFoundError
from lakepkg.write.snapshotting import snapshot
from lakepkg.spark import use_snapshot
from lakepkg.spark.reproduce import QueryError, load_packages, plan_tables
from lakepkg.spark.rewrite import Target, rewrite_query
from lakepkg_connectors.hive import snapshot_hive
from tests.fixtures.databases import pg_exec

D = decimal.Decimal


def rows(df) -> list[tuple]:
    """A Spark result as plain tuples (Decimals normalised), in the query's order."""
    return [tuple(D(str(v)).normalize() if isinstance(v, D) else v for v in r) for r in df.collect()]


# -- the rewriter on its own (no Spark) ----------------------------------------------------------

TARGETS = [Target("sales.orders", "__v_o", "orders"), Target("sales.customers", "__v_c", "customers")]


@pytest.mark.parametrize("query, expected", [
    # aliases, backquotes, literals and comments untouched
    ("SELECT c.name, sum(o.amount) -- sales.orders\nFROM sales.orders o JOIN `sales`.`customers` AS c "
     "ON o.cid = c.id WHERE o.note <> 'sales.orders' /* sales.customers */ GROUP BY c.name",
     "SELECT c.name, sum(o.amount) -- sales.orders\nFROM `__v_o` o JOIN `__v_c` AS c "
     "ON o.cid = c.id WHERE o.note <> 'sales.orders' /* sales.customers */ GROUP BY c.name"),
    # unaliased tables keep answering to their bare names; qualified columns follow; catalog prefix
    ("SELECT orders.id, sales.orders.amount, SALES.Orders.* FROM spark_catalog.sales.orders, sales.customers "
     "WHERE orders.cid = customers.id",
     "SELECT orders.id, `orders`.amount, `orders`.* FROM `__v_o` AS `orders`, `__v_c` AS `customers` "
     "WHERE orders.cid = customers.id"),
    ("SELECT * FROM sales.orders TABLESAMPLE (50 PERCENT) WHERE EXTRACT(YEAR FROM ts) = 2026",
     "SELECT * FROM `__v_o` TABLESAMPLE (50 PERCENT) AS `orders` WHERE EXTRACT(YEAR FROM ts) = 2026"),
    ("WITH big AS (SELECT * FROM sales.orders WHERE amount > 1) SELECT * FROM big, orders",
     "WITH big AS (SELECT * FROM `__v_o` AS `orders` WHERE amount > 1) SELECT * FROM big, orders"),
    ("TABLE sales.orders", "TABLE `__v_o`"),
    ("SELECT a.b.c, 'héllo' FROM t a JOIN range(3) ON true", "SELECT a.b.c, 'héllo' FROM t a JOIN range(3) ON true"),
])
def test_rewrite_changes_only_table_names(query, expected):
    assert rewrite_query(query, TARGETS) == expected


@pytest.mark.parametrize("query, error, words", [
    ("SELECT * FROM sales.orders o JOIN sales.returns r ON o.id = r.id, live.other", NotFoundError,
     ["sales.returns", "live.other", "sales.customers, sales.orders"]),
    ("DROP TABLE sales.orders", QueryError, ["only queries", "DROP"]),
    ("INSERT INTO sales.orders SELECT 1", QueryError, ["only queries"]),
    ("FROM sales.orders INSERT INTO t SELECT *", QueryError, ["INSERT"]),
    ("SELECT 1; SELECT 2", QueryError, ["one query at a time"]),
    ("SELECT 'unterminated FROM sales.orders", QueryError, ["cannot be read"]),
    ("   ", QueryError, ["empty"]),
])
def test_rewrite_refuses(query, error, words):
    with pytest.raises(error) as ei:
        rewrite_query(query, TARGETS)
    assert all(w in str(ei.value) for w in words), str(ei.value)
    assert "\n" not in str(ei.value)


# -- Hive metastore tables ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hive_db(spark):
    db = "q" + uuid.uuid4().hex[:10]
    q = spark.sql
    q(f"CREATE DATABASE {db}")
    q(f"CREATE TABLE {db}.orders (id INT, cid INT, amount DECIMAL(10,2), ds STRING) USING parquet PARTITIONED BY (ds)")
    q(f"INSERT INTO {db}.orders VALUES (1, 1, 10.50, '2026-11-01'), (2, 2, 4.25, '2026-11-01'), "
      f"(3, 1, 1.00, '2026-11-02'), (4, 3, 7.75, '2026-10-31')")
    q(f"CREATE TABLE {db}.customers (id INT, name STRING, region STRING) STORED AS PARQUET")
    q(f"INSERT INTO {db}.customers VALUES (1, 'ann', 'east'), (2, 'bob', 'west'), (3, 'cy', 'west')")
    yield db
    q(f"DROP DATABASE {db} CASCADE")


def hive_query(db: str) -> str:
    return (f"SELECT c.region, count(*) AS n, sum(o.amount) AS total\n"
            f"FROM {db}.orders o JOIN {db}.customers AS c ON o.cid = c.id\n"
            f"WHERE o.ds >= '2026-11-01'  -- November only; {db}.orders in a comment stays as is\n"
            f"GROUP BY c.region ORDER BY c.region")


def test_hive_query_reproduced_after_the_live_tables_changed(spark, hive_db, metastore, registry):
    db = hive_db
    query = hive_query(db)
    # unqualified references to the table names, qualified columns, a subquery
    query2 = (f"SELECT customers.name, {db}.orders.amount FROM {db}.orders JOIN {db}.customers "
              f"ON orders.cid = customers.id WHERE orders.cid IN (SELECT id FROM {db}.customers WHERE region = 'east') "
              f"ORDER BY 2")
    live_before, live2_before = rows(spark.sql(query)), rows(spark.sql(query2))
    assert live_before == [("east", 2, D("11.5")), ("west", 1, D("4.25"))]
    assert live2_before == [("ann", D("1")), ("ann", D("10.5"))]

    res = snapshot_hive([f"{db}.orders", f"{db}.customers"], metastore=metastore, to="sales/snap", registry=registry)
    assert sorted(res.tables) == ["customers", "orders"]
    ref = f"sales/snap@{res.record.top_hash[:8]}"

    # the live tables move on: a partition rewritten, a new partition, a customer changes region
    spark.sql(f"INSERT OVERWRITE {db}.orders PARTITION (ds='2026-11-01') VALUES (1, 1, 99.00), (5, 2, 3.00)")
    spark.sql(f"INSERT INTO {db}.orders VALUES (6, 3, 2.50, '2026-11-03')")
    spark.sql(f"INSERT OVERWRITE {db}.customers VALUES (1, 'ann', 'east'), (2, 'bob', 'east'), (3, 'cy', 'west')")
    live_after = rows(spark.sql(query))
    assert live_after != live_before

    with use_snapshot(spark, ref, registry=registry) as snap:
        assert {t.name: (t.table, t.bare) for t in snap.tables} == {
            f"{db}.orders": ("orders", "orders"), f"{db}.customers": ("customers", "customers")}
        assert all(t.view.startswith(f"__lakepkg_{res.record.top_hash[:8]}_") for t in snap.tables)
        assert rows(snap.sql(query)) == live_before          # the original answer
        assert rows(snap.sql(query2)) == live2_before
        assert rows(snap.sql("SELECT count(*) FROM orders")) == [(4,)]  # bare names resolve to the snapshot
        assert rows(spark.sql(query)) == live_after           # the live tables are untouched by the views
        views = [t.view for t in snap.tables]
    assert not any(spark.catalog.tableExists(v) for v in views + ["orders", "customers"])
    assert spark.catalog.tableExists(f"{db}.orders")


def test_hive_bad_queries_are_one_line_errors(spark, hive_db, metastore, registry):
    db = hive_db
    spark.sql(f"CREATE TABLE IF NOT EXISTS {db}.returns (id INT) USING parquet")
    res = snapshot_hive([f"{db}.orders", f"{db}.customers"], metastore=metastore, to="sales/snap2",
                        registry=registry)
    with use_snapshot(spark, f"sales/snap2@{res.record.top_hash[:8]}", registry=registry) as snap:
        with pytest.raises(NotFoundError, match=rf"reads {db}\.returns, which snapshot sales/snap2@\w+ does not "
                                                rf"hold \(it has: {db}\.customers, {db}\.orders\)"):
            snap.sql(f"SELECT * FROM {db}.orders o JOIN {db}.returns r ON o.id = r.id")
        # a live table named in a way the text does not show (IDENTIFIER clause) is caught in the plan
        with pytest.raises(QueryError, match=rf"reads spark_catalog\.{db}\.returns from the live catalog"):
            snap.sql(f"SELECT * FROM orders WHERE id IN (SELECT id FROM IDENTIFIER('{db}.returns'))")
        with pytest.raises(QueryError, match=r"syntax error in the query: .*PARSE_SYNTAX_ERROR"):
            snap.sql(f"SELECT * FROM {db}.orders WHERE amount >")
        with pytest.raises(QueryError, match=rf"cannot run the query .*nope") as ei:
            snap.sql(f"SELECT nope FROM {db}.orders")
        assert "__lakepkg_" not in str(ei.value) and "\n" not in str(ei.value)
        with pytest.raises(QueryError, match="only queries"):
            snap.sql(f"DROP TABLE {db}.orders")
    assert spark.catalog.tableExists(f"{db}.orders")
    with pytest.raises(NotFoundError, match="sales/nope"):
        use_snapshot(spark, "sales/nope@abc123", registry=registry)
    with pytest.raises(NotFoundError, match="nope"):
        use_snapshot(spark, f"sales/snap2@{res.record.top_hash[:8]}/nope", registry=registry)


# -- PostgreSQL through the SQL connector ---------------------------------------------------------

PG_QUERY = ("SELECT c.region, count(*) AS n, sum(o.amount) AS total "
            "FROM sales.orders o JOIN sales.customers c ON o.cid = c.id "
            "WHERE o.ds >= DATE '2026-11-01' GROUP BY c.region ORDER BY c.region")


def pg_rows(url: str, query: str) -> list[tuple]:
    return [tuple(D(v).normalize() if isinstance(v, D) else v for v in r) for r in pg_exec(url, query)]


def test_postgres_query_reproduced_in_spark(spark, pg_url, registry):
    pg_exec(pg_url,
            "CREATE SCHEMA sales",
            "CREATE TABLE sales.customers (id int PRIMARY KEY, name text, region text)",
            "CREATE TABLE sales.orders (id int PRIMARY KEY, cid int, amount numeric(10,2), ds date)",
            "INSERT INTO sales.customers VALUES (1, 'ann', 'east'), (2, 'bob', 'west')",
            "INSERT INTO sales.orders VALUES (1, 1, 10.50, '2026-11-01'), (2, 2, 4.25, '2026-11-02'), "
            "(3, 1, 1.00, '2026-10-30')")
    live_before = pg_rows(pg_url, PG_QUERY)
    assert live_before == [("east", 1, D("10.5")), ("west", 1, D("4.25"))]
    _res = snapshot("sql", to="sales/pg", registry=registry, url=pg_url,
                            tables={"orders": "sales.orders", "customers": "sales.customers"})
    rec, created = _res.record, _res.created
    assert created
    pg_exec(pg_url, "UPDATE sales.orders SET amount = 20 WHERE id = 1",
            "INSERT INTO sales.orders VALUES (4, 2, 5.00, '2026-11-05')",
            "UPDATE sales.customers SET region = 'north' WHERE id = 2")
    live_after = pg_rows(pg_url, PG_QUERY)
    assert live_after != live_before

    with use_snapshot(spark, f"sales/pg@{rec.top_hash[:8]}", registry=registry) as snap:
        assert sorted(t.name for t in snap.tables) == ["sales.customers", "sales.orders"]
        assert rows(snap.sql(PG_QUERY)) == live_before


# -- the command line --------------------------------------------------------------------------

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]


def run_cli(args, home, timeout=600):
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    return subprocess.run(LAKEPKG + args, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture()
def query_pkg(registry):
    """A package whose tables carry no source names: --name maps the query's names onto them."""
    b = PackageBuilder(registry)
    b.add_table("orders", pa.table({"id": [1, 2, 3], "cid": [1, 2, 1], "amount": [10.5, 4.25, 1.0]}))
    b.add_table("customers", pa.table({"id": [1, 2], "region": ["east", "west"]}))
    rec = b.publish("sales/cli")
    return f"sales/cli@{rec.top_hash[:8]}"


CLI_QUERY = ("SELECT c.region, count(*) AS n, sum(o.amount) AS total FROM sales.orders o "
             "JOIN sales.customers c ON o.cid = c.id GROUP BY c.region ORDER BY c.region")
NAMES = ["--name", "sales.orders=orders", "--name", "sales.customers=customers"]


def test_cli_query_json(query_pkg, home):
    p = run_cli(["query", CLI_QUERY, "--package", query_pkg, *NAMES, "--master", "local[1]", "--json"], home)
    assert p.returncode == 0, p.stderr[-3000:]
    assert json.loads(p.stdout) == [{"region": "east", "n": 2, "total": 11.5}, {"region": "west", "n": 1, "total": 4.25}]


def test_cli_query_errors_before_spark_starts(query_pkg, home):
    p = run_cli(["query", CLI_QUERY, "--package", query_pkg], home, timeout=120)
    assert p.returncode == 1
    err = p.stderr.strip()
    assert err.startswith("lakepkg: error: the query reads sales.orders, sales.customers, which snapshot sales/cli@")
    assert "(it has: customers, orders)" in err and len(err.splitlines()) == 1
    p = run_cli(["query", "SELECT 1", "--package", "sales/missing@abc123"], home, timeout=120)
    assert p.returncode == 1 and p.stderr.startswith("lakepkg: error: ") and "sales/missing" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run_cli(["query", CLI_QUERY, "--package", query_pkg, "--name", "sales.orders"], home, timeout=120)
    assert p.returncode == 1 and "--name 'sales.orders': use db.table=PACKAGE_TABLE" in p.stderr


def test_plan_tables_names_and_conflicts(registry):
    b = PackageBuilder(registry)
    b.add_table("orders", pa.table({"id": [1]}))
    b.add_table("orders_old", pa.table({"id": [0]}))
    rec = b.publish("sales/names")
    loaded = load_packages(f"sales/names@{rec.top_hash[:8]}", registry)
    plan = {t.name: t for t in plan_tables(loaded)}
    assert set(plan) == {"orders", "orders_old"} and plan["orders"].bare == "orders"
    plan = {t.name: t for t in plan_tables(loaded, {"sales.orders": "orders", "archive.orders": "orders_old"})}
    assert set(plan) == {"sales.orders", "archive.orders"}
    assert plan["sales.orders"].bare is None and plan["archive.orders"].bare is None  # "orders" is ambiguous
    assert plan["sales.orders"].view != plan["archive.orders"].view
    with pytest.raises(NotFoundError, match="no package table 'nope'"):
        plan_tables(loaded, {"sales.x": "nope"})
    b = PackageBuilder(registry)
    b.add_table("orders", pa.table({"id": [2]}))
    other = b.publish("sales/names2")
    both = loaded + load_packages(f"sales/names2@{other.top_hash[:8]}", registry)
    with pytest.raises(ConfigError, match="two tables answer to 'orders'"):
        plan_tables(both)
    plan = plan_tables(both, {"new.orders": "sales/names2/orders"})
    assert {t.name: t.package.split("@")[0] for t in plan} == {
        "orders": "sales/names", "orders_old": "sales/names", "new.orders": "sales/names2"}
    assert issubclass(QueryError, LakepkgError)


# -- Iceberg through pyiceberg's SQL catalog ----------------------------------------------------

def test_iceberg_table_answers_to_its_namespace_name(spark, registry, tmp_path):
    import pyarrow.compute as pc
    from pyiceberg.catalog.sql import SqlCatalog

    props = {"uri": f"sqlite:///{tmp_path}/catalog.db", "warehouse": f"file://{tmp_path}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "amount": [1.5, 2.5, 4.0]})
    tbl = cat.create_table("sales.orders", schema=data.schema)
    tbl.append(data)

    def live() -> list[tuple]:  # the query's answer on the live table, computed with Arrow
        t = tbl.refresh().scan().to_arrow().filter(pc.field("id") >= 2)
        return [(t.num_rows, pc.sum(t["amount"]).as_py())]

    before = live()
    _res = snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake",
                      tables=["sales.orders"])
    rec, _ = _res.record, _res.created
    tbl.append(pa.table({"id": pa.array([4], pa.int64()), "amount": [10.0]}))
    assert live() != before
    # as a Spark session with an Iceberg catalog named "lake" would have run it
    query = "SELECT count(*) AS n, sum(o.amount) AS total FROM lake.sales.orders AS o WHERE o.id >= 2"
    with use_snapshot(spark, f"lake/orders@{rec.top_hash[:8]}", registry=registry) as snap:
        assert [t.name for t in snap.tables] == ["sales.orders"]
        assert rows(snap.sql(query)) == before == [(2, 6.5)]
