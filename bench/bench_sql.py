"""SQL connector benchmark: throughput, peak memory, and dedup over 30 simulated days.

    .venv/bin/python bench/bench_sql.py            # 1M-row table, 10M-row peak memory, 30 days
    BENCH_SQL_BIG=3000000 .venv/bin/python bench/bench_sql.py   # smaller "big" table on a busy machine

Needs PostgreSQL on 127.0.0.1:5432 (user postgres). Creates the database ``lakepkg_bench``
(tables kept between runs); registries and output files go under bench/data/sql/.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "sql")
PG = os.environ.get("BENCH_SQL_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "lakepkg_bench"
URL = f"{PG}/{DB}"
N = int(os.environ.get("BENCH_SQL_ROWS", "1000000"))
N_BIG = int(os.environ.get("BENCH_SQL_BIG", "10000000"))
DAYS = int(os.environ.get("BENCH_SQL_DAYS", "30"))

COLS = """id bigint PRIMARY KEY, customer int, amount numeric(12,2), qty smallint, price double precision,
 status text, note varchar(40), created timestamptz, day date, flag boolean"""
FILL = """INSERT INTO {t} SELECT g, (g * 7919) % 100000, ((g * 31) % 100000) / 100.0, (g % 50)::smallint,
 (g % 997) * 1.25, (ARRAY['new','paid','shipped','returned'])[1 + g % 4], 'note ' || md5(g::text)::varchar(20),
 timestamptz '2024-01-01' + g * interval '1 second', date '2024-01-01' + (g / 100000)::int, g % 3 = 0
 FROM generate_series({lo}::bigint, {hi}::bigint) g"""


def admin(db: str = "postgres"):
    import psycopg

    return psycopg.connect(f"{PG}/{db}", autocommit=True)


def ensure_table(name: str, rows: int) -> None:
    with admin() as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
            c.execute(f"CREATE DATABASE {DB}")
    with admin(DB) as c:
        have = c.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
        if have and c.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == rows:
            return
        print(f"  creating {name} ({rows:,} rows)...", flush=True)
        c.execute(f"DROP TABLE IF EXISTS {name}")
        c.execute(f"CREATE TABLE {name} ({COLS})")
        step = 2_000_000
        for lo in range(1, rows + 1, step):
            c.execute(FILL.format(t=name, lo=lo, hi=min(rows, lo + step - 1)))
        c.execute(f"VACUUM ANALYZE {name}")


def dir_bytes(path: str) -> int:
    total = 0
    for root, _d, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def fresh(name: str) -> str:
    p = os.path.join(DATA, name)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


CHILD = r"""
import os, sys, time, json, resource
os.environ["LAKEPKG_HOME"] = sys.argv[1]
from lakepkg_connectors.sql import snapshot_sql
t0 = time.perf_counter()
res = snapshot_sql(sys.argv[2], "bench/t", tables=sys.argv[3], method=sys.argv[4])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": res.tables[list(res.tables)[0]]["rows"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def lakepkg_run(home: str, table: str, method: str) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, home, URL, table, method], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


PANDAS = r"""
import sys, time, json, resource
import pandas as pd
from sqlalchemy import create_engine
t0 = time.perf_counter()
eng = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://"))
df = pd.read_sql("SELECT * FROM " + sys.argv[2] + " ORDER BY id", eng)
df.to_parquet(sys.argv[3])
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(df),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COPY = r"""
import sys, time, json, resource, psycopg
t0 = time.perf_counter()
with psycopg.connect(sys.argv[1]) as c, open(sys.argv[3], "wb") as out:
    with c.cursor().copy("COPY (SELECT * FROM " + sys.argv[2] + " ORDER BY id) TO STDOUT") as cp:
        for chunk in cp:
            out.write(chunk)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": None,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_py(code: str, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def throughput() -> list[tuple]:
    ensure_table("orders_1m", N)
    out = []
    r_adbc = lakepkg_run(fresh("tp_adbc"), "public.orders_1m", "adbc")
    r_dbapi = lakepkg_run(fresh("tp_dbapi"), "public.orders_1m", "dbapi")
    r_pd = run_py(PANDAS, URL, "orders_1m", os.path.join(fresh("tp_pandas"), "orders.parquet"))
    r_copy = run_py(COPY, URL, "orders_1m", os.path.join(fresh("tp_copy"), "orders.copy"))
    for name, r in [("lakepkg snapshot (ADBC)", r_adbc), ("lakepkg snapshot (psycopg server-side cursor)", r_dbapi),
                    ("pandas.read_sql + to_parquet", r_pd), ("COPY ... TO STDOUT into a file", r_copy)]:
        out.append((name, r["seconds"], N / r["seconds"], r["seconds"] / r_adbc["seconds"], r["peak_rss_mb"]))
    return out


def memory() -> list[tuple]:
    ensure_table("orders_big", N_BIG)
    out = []
    for method in os.environ.get("BENCH_SQL_BIG_METHODS", "adbc").split(","):
        r = lakepkg_run(fresh(f"mem_{method}"), "public.orders_big", method)
        out.append((method, N_BIG, r["seconds"], r["peak_rss_mb"]))
    return out


def dedup() -> list[tuple]:
    import psycopg

    ensure_table("orders_1m", N)
    with admin(DB) as c:
        c.execute("DROP TABLE IF EXISTS orders_days")
        c.execute("CREATE TABLE orders_days AS SELECT * FROM orders_1m")
        c.execute("ALTER TABLE orders_days ADD PRIMARY KEY (id)")
    home = fresh("dedup")
    os.environ["LAKEPKG_HOME"] = home
    from lakepkg_connectors.sql import snapshot_sql

    snapshot_sql(URL, "bench/days", tables="public.orders_days")
    full = dir_bytes(home)
    rows_out = []
    next_id = N + 1
    total_rows = N
    for day in range(1, DAYS + 1):
        append = total_rows // 100
        update = total_rows // 200
        newest = total_rows // 20
        with psycopg.connect(URL, autocommit=True) as c:
            c.execute(FILL.format(t="orders_days", lo=next_id, hi=next_id + append - 1))
            c.execute("UPDATE orders_days SET amount = amount + 1, flag = NOT flag WHERE id IN "
                      "(SELECT id FROM orders_days WHERE id > %s ORDER BY random() LIMIT %s)",
                      (next_id - 1 - newest, update))
        next_id += append
        before = dir_bytes(home)
        snapshot_sql(URL, "bench/days", tables="public.orders_days")
        grew = dir_bytes(home) - before
        ideal = (append + update) / total_rows * 100
        total_rows += append
        rows_out.append((day, grew / full * 100, ideal))
    return rows_out, full


def main() -> None:
    os.makedirs(DATA, exist_ok=True)
    print(f"# SQL connector benchmark ({N:,}-row, 10-column PostgreSQL table)\n")
    tp = throughput()
    print("| path | seconds | rows/s | time vs lakepkg (ADBC) | peak RSS MB |\n|---|---:|---:|---:|---:|")
    for name, s, rps, ratio, rss in tp:
        print(f"| {name} | {s:.2f} | {rps:,.0f} | {ratio:.2f}x | {rss:,.0f} |")
    print(f"\n## Peak memory, {N_BIG:,}-row table (one process, resource.getrusage)\n")
    print("| method | rows | seconds | peak RSS MB |\n|---|---:|---:|---:|")
    for method, rows, s, rss in memory():
        print(f"| {method} | {rows:,} | {s:.1f} | {rss:,.0f} |")
    days, full = dedup()
    print(f"\n## Dedup over {DAYS} days (full snapshot = {full / 1e6:.1f} MB on disk)\n")
    print("| day | store growth % of one full snapshot | ideal (changed rows %) | whole-table snapshots |\n|---:|---:|---:|---:|")
    for d, g, ideal in days:
        print(f"| {d} | {g:.1f}% | {ideal:.2f}% | ~100% |")
    avg = sum(g for _, g, _ in days) / len(days)
    avg_ideal = sum(i for _, _, i in days) / len(days)
    print(f"| mean | {avg:.1f}% | {avg_ideal:.2f}% | ~100% |")
    print(f"\n30-day store: lakepkg {100 + sum(g for _, g, _ in days):.0f}% of one snapshot vs whole-table "
          f"snapshots ~{100 * (DAYS + 1)}%")


if __name__ == "__main__":
    main()
