"""The fast engine on the cases issue 24 names, each run live on PostgreSQL or MariaDB and on the
snapshot: the source's answer (values, kinds, column names exactly) or a one-line refusal that
names the construct and says which engine answers it — and errors in the source's words."""
from __future__ import annotations

import decimal
import uuid

import pytest

import lakepkg
from lakepkg.errors import LakepkgError, QueryError
from lakepkg.registry import open_registry
from tests.fixtures.databases import MY_HOST, MY_PORT, MY_USER, PG_HOST, PG_PORT, PG_USER, mysql_admin, pg_admin
from tests.query_fuzz import difference

D = decimal.Decimal
DDL = [
    "CREATE TABLE region (k INT PRIMARY KEY, name CHAR(25))",
    "CREATE TABLE flights (id INT PRIMARY KEY, carrier VARCHAR(4), tailnum VARCHAR(8), distance BIGINT, "
    "amount NUMERIC(12,2), city VARCHAR(16), dep INT)",
    "CREATE TABLE planes (tailnum VARCHAR(8) PRIMARY KEY, seats INT)",
]
ROWS = {
    "region": [(1, "EUROPE"), (2, "ASIA")],
    "flights": [(1, "UA", "N1", 1000, D("262.00"), "Berlin", 5), (2, "AA", "N2", 1113, D("10.50"), "berlin", 7),
                (3, "UA", "N1", 1057, D("1.25"), "Paris", None), (4, "DL", "N3", 1057, D("-3.10"), "Paris", 2)],
    "planes": [("N1", 100), ("N2", 150), ("N4", 10)],
}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    import psycopg
    import pymysql

    db = f"lpsem_{uuid.uuid4().hex[:10]}"
    reg = open_registry(str(tmp_path_factory.mktemp("semreg")))
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
                pg.execute(ddl)
                cur.execute(ddl)
            for t, rows in ROWS.items():
                marks = ", ".join(["%s"] * len(rows[0]))
                with pg.cursor() as pc:
                    pc.executemany(f"INSERT INTO {t} VALUES ({marks})", rows)
                cur.executemany(f"INSERT INTO {t} VALUES ({marks})", rows)
        tables = list(ROWS)
        pg_ref = lakepkg.snapshot("sql", url=f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}", to="sem/pg",
                                  tables={t: f"public.{t}" for t in tables}, registry=reg).record.top_hash[:12]
        my_ref = lakepkg.snapshot("sql", url=f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}", to="sem/my",
                                  tables={t: f"{db}.{t}" for t in tables}, registry=reg).record.top_hash[:12]
        yield {"registry": reg, "pg": pg, "my": my, "postgres": f"sem/pg@{pg_ref}", "mysql": f"sem/my@{my_ref}"}
    finally:
        for conn in (pg, my):
            if conn is not None:
                conn.close()
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        admin.close()


def _live(case, dialect, sql):
    conn = case["pg"] if dialect == "postgres" else case["my"]
    with conn.cursor() as cur:
        cur.execute(sql)
        return [d.name if dialect == "postgres" else d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]


def _fast(case, dialect, sql):
    from tests.query_compare import arrow_rows

    return arrow_rows(lakepkg.query(sql, package=case[dialect], registry=case["registry"]))


EQUAL = [
    # CHAR(n): PostgreSQL ignores the padding in comparisons, keeps it in the answer
    ("postgres", "SELECT count(*) FROM region WHERE name = 'EUROPE'", [(1,)]),
    ("postgres", "SELECT name, length(name), name || '|' AS cat FROM region WHERE name IN ('ASIA', 'X') ", None),
    ("postgres", "SELECT count(*) FROM region WHERE name <> 'EUROPE'", [(1,)]),
    ("postgres", "SELECT count(*) FROM region WHERE name LIKE 'EUROPE'", [(0,)]),
    ("mysql", "SELECT name, CHAR_LENGTH(name) FROM region WHERE name = 'europe  '", None),
    # PostgreSQL SUM(bigint) is numeric; numeric division at PostgreSQL's scale
    ("postgres", "SELECT SUM(distance) / COUNT(*) AS avg_distance FROM flights", [(D("1056.75"),)]),
    ("postgres", "SELECT amount / 3 AS third FROM flights WHERE id = 1", [(D("87.3333333333333333"),)]),
    ("postgres", "SELECT sum(amount), avg(distance) FROM flights", None),
    ("postgres", "SELECT 7 / 2 AS i, 7.0 / 2 AS n, round(7 / 2, 2) AS r", None),
    # MariaDB: division at the dividend's scale + 4, rounded; x * 1.0000 / y keeps the product's scale
    ("mysql", "SELECT amount / 3 AS d, amount * 1.0000 / 3 AS e, AVG(dep) OVER (PARTITION BY carrier) AS w "
              "FROM flights ORDER BY id", None),
    ("mysql", "SELECT carrier, COUNT(*) FROM flights WHERE carrier NOT LIKE 'u%' GROUP BY carrier ORDER BY 1", None),
    ("mysql", "SELECT carrier, sum(distance), SUBSTRING(city, 1, 3) FROM flights GROUP BY carrier, SUBSTRING(city, 1, 3) "
              "ORDER BY 1, 3", None),
    ("mysql", "SELECT COUNT(*) FROM flights WHERE city = 'BERLIN'", [(2,)]),
    # a qualified reference to a column both joined tables have
    ("mysql", "SELECT f.tailnum, p.seats FROM flights f JOIN planes p ON p.tailnum = f.tailnum ORDER BY f.id", None),
    ("mysql", "SELECT f.tailnum, COUNT(*) AS n FROM flights f JOIN planes p ON p.tailnum = f.tailnum "
              "GROUP BY tailnum ORDER BY tailnum", None),
    ("postgres", "SELECT f.tailnum, seats FROM flights f JOIN planes p USING (tailnum) ORDER BY f.id", None),
    ("postgres", "SELECT carrier, dep FROM flights ORDER BY dep, id", None),
    ("mysql", "SELECT carrier, dep FROM flights ORDER BY dep DESC, id", None),
]


#: MySQL's GROUP BY … WITH ROLLUP (NULL-labelled super-aggregate rows, in MariaDB's order: compared
#: row by row) and GROUP_CONCAT(DISTINCT …) under the default _ci collation
ROLLUP = [
    "SELECT carrier, dep, COUNT(*) AS n, SUM(amount) AS s FROM flights GROUP BY carrier, dep WITH ROLLUP",
    "SELECT carrier, COUNT(*) FROM flights GROUP BY carrier WITH ROLLUP LIMIT 2",
    "SELECT carrier, SUM(distance) AS d FROM flights GROUP BY carrier WITH ROLLUP HAVING d > 1100",
    "SELECT city, tailnum, COUNT(*) AS n FROM flights WHERE carrier = 'ua' GROUP BY city, tailnum WITH ROLLUP",
    "SELECT UPPER(city) AS c, COUNT(*) FROM flights WHERE carrier <> 'AA' GROUP BY city WITH ROLLUP",
    "SELECT dep > 3 AS late, GROUP_CONCAT(DISTINCT carrier) AS cs FROM flights GROUP BY late ORDER BY late",
    "SELECT carrier, GROUP_CONCAT(DISTINCT city SEPARATOR '/') AS cities FROM flights GROUP BY carrier ORDER BY carrier",
    "SELECT carrier, GROUP_CONCAT(DISTINCT city ORDER BY city DESC) AS cities FROM flights GROUP BY carrier "
    "ORDER BY carrier",
]


@pytest.mark.parametrize("sql", ROLLUP, ids=[f"mysql-{i}" for i in range(len(ROLLUP))])
def test_mysql_rollup_and_group_concat_distinct(case, sql, capfd):
    live = _live(case, "mysql", sql)
    assert live[1], live  # the case has rows to compare
    if "ROLLUP" in sql and "LIMIT" not in sql:
        assert any(r[0] is None for r in live[1]), live  # a super-aggregate row
    assert difference(live, _fast(case, "mysql", sql), ordered=True) is None
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("dialect, sql, expected", EQUAL, ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(EQUAL)])
def test_source_answer(case, dialect, sql, expected, capfd):
    live = _live(case, dialect, sql)
    if expected is not None:
        assert live[1] == expected, live
    assert difference(live, _fast(case, dialect, sql), ordered="ORDER BY" in sql) is None
    assert capfd.readouterr().err == ""  # nothing from sqlglot or DuckDB on stderr


REFUSED = [
    # MariaDB shows one of 'Berlin' / 'berlin' for the group (by scan order): refused, not guessed
    ("mysql", "SELECT city, COUNT(*) FROM flights WHERE city = 'berlin' GROUP BY city", "GROUP BY over strings"),
    ("mysql", "SELECT carrier, COUNT(*) AS n FROM flights GROUP BY carrier WITH ROLLUP ORDER BY n", "WITH ROLLUP"),
    # MariaDB keeps one of 'Berlin' / 'berlin' (by scan order)
    ("mysql", "SELECT GROUP_CONCAT(DISTINCT city) FROM flights", "GROUP_CONCAT(DISTINCT"),
    ("postgres", "SELECT count(*) FROM flights WHERE id < extract(epoch FROM now())", "CURRENT_TIMESTAMP"),
    ("mysql", "SELECT MIN(city) FROM flights", "MIN over strings"),
]


@pytest.mark.parametrize("dialect, sql, words", REFUSED, ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(REFUSED)])
def test_refused_in_one_line(case, dialect, sql, words):
    with pytest.raises(QueryError) as ei:
        _fast(case, dialect, sql)
    msg = str(ei.value)
    assert words in msg and "\n" not in msg, msg
    assert ("--engine postgres" if dialect == "postgres" else "--engine mysql") in msg, msg


ERRORS = [
    ("postgres", "SELECT carier FROM flights", 'column "carier" does not exist'),
    ("mysql", "SELECT carier FROM flights", "Unknown column 'carier'"),
    ("postgres", "SELECT f.carier FROM flights f", 'column f.carier does not exist'),
    ("postgres", "SELECT carrier FROM flights WHERE", "syntax error"),
    ("mysql", "SELECT carrier FROM flights WHERE", "syntax"),
    ("postgres", "SELECT count(*) FROM flights WHERE dep / 0 > 1", "division by zero"),
    ("postgres", "SELECT count(*) FROM flights WHERE amount / 0 > 1", "division by zero"),
    # PostgreSQL computes the select list of every row the WHERE keeps, the LIMIT's or not (id 4: dep - 2 = 0)
    ("postgres", "SELECT id, distance / (dep - 2) AS q FROM flights WHERE dep IS NOT NULL ORDER BY id LIMIT 1",
     "division by zero"),
]


@pytest.mark.parametrize("dialect, sql, words", ERRORS, ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(ERRORS)])
def test_errors_in_the_source_words(case, dialect, sql, words, capfd):
    with pytest.raises(LakepkgError) as ei:
        _fast(case, dialect, sql)
    msg = str(ei.value)
    assert words in msg and "\n" not in msg, msg
    for internal in ("Binder Error", "sqlglot", "<class", "Required keyword"):
        assert internal not in msg, msg
    assert capfd.readouterr().err == ""


SPARK = [
    "SELECT carrier, rank() OVER (ORDER BY sum(amount) DESC) AS r, sum(amount)::numeric(12,2) AS s "
    "FROM flights GROUP BY carrier ORDER BY r, carrier",
    "SELECT f.id, g FROM flights f JOIN generate_series(1, 5) g ON g = f.dep ORDER BY f.id",
    "SELECT carrier, SUM(distance) / COUNT(*) AS avg_distance FROM flights GROUP BY carrier ORDER BY carrier",
]


@pytest.mark.parametrize("sql", SPARK, ids=[f"spark-{i}" for i in range(len(SPARK))])
def test_spark_engine_answers_or_refuses_in_one_line(case, spark, sql):
    """``--engine spark`` on PostgreSQL queries: the source's answer, or one line that names what it
    cannot do and which engine answers it — never py4j's or the JVM's text."""
    from tests.query_compare import arrow_rows

    live = _live(case, "postgres", sql)
    try:
        got = arrow_rows(lakepkg.query(sql, package=case["postgres"], registry=case["registry"], engine="spark",
                                       spark=spark))
    except QueryError as exc:
        msg = str(exc)
        assert "\n" not in msg and "--engine postgres" in msg, msg
        for jvm in ("py4j", "java.", "An error occurred while calling", "o8"):
            assert jvm not in msg, msg
        return
    assert difference(live, got, ordered=True) is None


def test_group_concat_over_the_recorded_max_len_is_refused_not_given_whole(case):
    """MariaDB cuts a GROUP_CONCAT at ``group_concat_max_len`` bytes: a snapshot records the server's
    value; a longer result is refused, a shorter one answered (both checked against the live server)."""
    import pymysql

    with case["my"].cursor() as cur:
        cur.execute("SELECT DATABASE(), @@GLOBAL.group_concat_max_len")
        db, before = cur.fetchone()
    long_sql = "SELECT GROUP_CONCAT(city ORDER BY id) AS c FROM flights"
    short_sql = "SELECT GROUP_CONCAT(carrier ORDER BY id) AS c FROM flights WHERE id <= 2"
    # the server's default (recorded by the module's snapshot): the whole list, as live
    assert difference(_live(case, "mysql", long_sql), _fast(case, "mysql", long_sql), ordered=True) is None
    admin = mysql_admin()
    try:
        with admin.cursor() as cur:
            cur.execute("SET GLOBAL group_concat_max_len = 12")
        ref = lakepkg.snapshot("sql", url=f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}", to="sem/my12",
                               tables={"flights": f"{db}.flights"}, registry=case["registry"]).record.top_hash[:12]
        small = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password="", database=db)
        try:
            with small.cursor() as cur:
                cur.execute(long_sql)
                cut = cur.fetchone()[0]
                cur.execute(short_sql)
                short_live = [tuple(r) for r in cur.fetchall()]
        finally:
            small.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"SET GLOBAL group_concat_max_len = {int(before)}")
        admin.close()
    assert len(cut.encode()) == 12  # the live server cut it
    pkg = f"sem/my12@{ref}"
    with pytest.raises(QueryError) as ei:
        lakepkg.query(long_sql, package=pkg, registry=case["registry"])
    msg = str(ei.value)
    assert "group_concat_max_len" in msg and "over 12 bytes" in msg and "\n" not in msg, msg
    from tests.query_compare import arrow_rows

    assert arrow_rows(lakepkg.query(short_sql, package=pkg, registry=case["registry"]))[1] == short_live
