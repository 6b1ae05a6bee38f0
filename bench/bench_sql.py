"""SQL connector benchmark: throughput, peak memory, and dedup over 30 simulated days.

    .venv/bin/python bench/bench_sql.py

Everything the SQL issue asks for, side by side in one run (each measurement in its own process):

1. Throughput on a 1,000,000-row, 10-column PostgreSQL table (mixed types), median of
   ``BENCH_SQL_REPEATS`` runs taken round-robin: ``lakepkg snapshot`` (ADBC path and psycopg
   server-side cursor path) against ``pandas.read_sql`` + ``DataFrame.to_parquet`` (what users do
   today) and against ``COPY ... TO STDOUT`` into a file (near the limit; also with ``ORDER BY id``,
   the order lakepkg reads in).
2. Peak memory snapshotting a 10,000,000-row table (both lakepkg paths), next to the 1M-row peak.
3. Dedup over 30 simulated days on the 1M-row table: each day appends 1% new rows and updates 0.5%
   of the rows, chosen among the newest 5%; store growth per day as a percentage of one full
   snapshot of that day's table, against the ideal (the changed rows' share) and against
   whole-table snapshots (what file-level tools store: ~100% a day).

Environment: ``BENCH_SQL_PG`` (server URL without database, default postgresql://postgres@127.0.0.1:5432),
``BENCH_SQL_ROWS`` (1000000), ``BENCH_SQL_BIG`` (10000000), ``BENCH_SQL_DAYS`` (30),
``BENCH_SQL_REPEATS`` (3), ``BENCH_SQL_MASKS`` (chunking mask_bits to simulate, default "14" = the
default; e.g. "14,12"), ``BENCH_SQL_KEEP=1`` keeps the database. The database
``lakepkg_bench_sql`` (``BENCH_SQL_DB``) is created for the run and dropped at the end; registries and output files
go under bench/data/sql/ (removed at the end too).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny_env  # noqa: E402
tiny_env(BENCH_SQL_ROWS=3000, BENCH_SQL_BIG=5000, BENCH_SQL_DAYS=2, BENCH_SQL_REPEATS=1, BENCH_SQL_DB="lakepkg_bench_sql_smoke")
DATA = os.path.join(HERE, "data", "sql")
PG = os.environ.get("BENCH_SQL_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_SQL_DB", "lakepkg_bench_sql")
URL = f"{PG}/{DB}"
N = int(os.environ.get("BENCH_SQL_ROWS", "1000000"))
N_BIG = int(os.environ.get("BENCH_SQL_BIG", "10000000"))
DAYS = int(os.environ.get("BENCH_SQL_DAYS", "30"))
REPEATS = int(os.environ.get("BENCH_SQL_REPEATS", "3"))
MASKS = [int(m) for m in os.environ.get("BENCH_SQL_MASKS", "14").split(",") if m]

COLS = """id bigint PRIMARY KEY, customer int, amount numeric(12,2), qty smallint, price double precision,
 status text, note varchar(40), created timestamptz, day date, flag boolean"""
FILL = """INSERT INTO {t} SELECT g, (g * 7919) % 100000, ((g * 31) % 100000) / 100.0, (g % 50)::smallint,
 (g % 997) * 1.25, (ARRAY['new','paid','shipped','returned'])[1 + g % 4], 'note ' || md5(g::text)::varchar(20),
 timestamptz '2024-01-01' + g * interval '1 second', date '2024-01-01' + (g / 100000)::int, g % 3 = 0
 FROM generate_series({lo}::bigint, {hi}::bigint) g"""


# -- set-up ---------------------------------------------------------------------------------

def admin(db: str = "postgres") -> Any:
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
        print(f"  creating {name} ({rows:,} rows)...", file=sys.stderr, flush=True)
        c.execute(f"DROP TABLE IF EXISTS {name}")
        c.execute(f"CREATE TABLE {name} ({COLS})")
        step = 2_000_000
        for lo in range(1, rows + 1, step):
            c.execute(FILL.format(t=name, lo=lo, hi=min(rows, lo + step - 1)))
        c.execute(f"VACUUM ANALYZE {name}")


def drop_database() -> None:
    with admin() as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    shutil.rmtree(DATA, ignore_errors=True)


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


# -- the measured programs (each runs in its own process; timing starts after imports) ------------

LAKEPKG = r"""
import os, sys, time, json, resource
os.environ["LAKEPKG_HOME"] = sys.argv[1]
from lakepkg_connectors.sql import snapshot_sql
import adbc_driver_postgresql.dbapi, psycopg  # imported before timing, as pandas is in its run
t0 = time.perf_counter()
res = snapshot_sql(sys.argv[2], "bench/t", tables=sys.argv[3], method=sys.argv[4])
dt = time.perf_counter() - t0
size = sum(os.path.getsize(os.path.join(r, f)) for r, _d, fs in os.walk(sys.argv[1]) for f in fs)
print(json.dumps({"seconds": dt, "rows": res.tables[list(res.tables)[0]]["rows"], "bytes": size,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = r"""
import os, sys, time, json, resource
import pandas as pd
from sqlalchemy import create_engine
t0 = time.perf_counter()
eng = create_engine(sys.argv[1].replace("postgresql://", "postgresql+psycopg://"))
df = pd.read_sql("SELECT * FROM " + sys.argv[2], eng)
df.to_parquet(sys.argv[3])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": len(df), "bytes": os.path.getsize(sys.argv[3]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COPY = r"""
import os, sys, time, json, resource, psycopg
t0 = time.perf_counter()
order = " ORDER BY id" if sys.argv[4] == "ordered" else ""
with psycopg.connect(sys.argv[1]) as c, open(sys.argv[3], "wb") as out:
    with c.cursor().copy("COPY (SELECT * FROM " + sys.argv[2] + order + ") TO STDOUT") as cp:
        for chunk in cp:
            out.write(chunk)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": None, "bytes": os.path.getsize(sys.argv[3]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

IMPORTS_ONLY = r"""
import json, resource
import lakepkg_connectors.sql, adbc_driver_postgresql.dbapi, psycopg, pyarrow.parquet  # noqa: F401
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_py(code: str, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"benchmark step failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def lakepkg_run(name: str, table: str, method: str) -> dict:
    return run_py(LAKEPKG, fresh(name), URL, table, method)


# -- 1. throughput ------------------------------------------------------------------------------

PATHS = [
    ("lakepkg snapshot, ADBC (default)", lambda: lakepkg_run("tp_adbc", "public.orders_1m", "adbc")),
    ("lakepkg snapshot, psycopg server-side cursor", lambda: lakepkg_run("tp_dbapi", "public.orders_1m", "dbapi")),
    ("pandas.read_sql + to_parquet", lambda: run_py(PANDAS, URL, "orders_1m", os.path.join(fresh("tp_pandas"), "o.parquet"))),
    ("COPY ... TO STDOUT into a file", lambda: run_py(COPY, URL, "orders_1m", os.path.join(fresh("tp_copy"), "o.copy"), "plain")),
    ("COPY (... ORDER BY id) TO STDOUT into a file",
     lambda: run_py(COPY, URL, "orders_1m", os.path.join(fresh("tp_copy_o"), "o.copy"), "ordered")),
]


def throughput() -> list[dict]:
    ensure_table("orders_1m", N)
    runs: dict[str, list[dict]] = {name: [] for name, _ in PATHS}
    for _ in range(REPEATS):  # round-robin, so a burst of load on the shared machine hits every path
        for name, fn in PATHS:
            runs[name].append(fn())
    out = []
    for name, _ in PATHS:
        rs = runs[name]
        out.append({"path": name, "seconds": statistics.median(r["seconds"] for r in rs),
                    "all": [round(r["seconds"], 2) for r in rs], "bytes": rs[0]["bytes"],
                    "peak_rss_mb": max(r["peak_rss_mb"] for r in rs), "rows": rs[0]["rows"]})
    return out


# -- 2. peak memory -----------------------------------------------------------------------------

def memory() -> list[dict]:
    ensure_table("orders_big", N_BIG)
    out = [{"what": "Python + lakepkg/ADBC/psycopg/pyarrow imported, nothing read",
            "rows": 0, "seconds": None, **run_py(IMPORTS_ONLY)}]
    for method in ("adbc", "dbapi"):
        r = lakepkg_run(f"mem_{method}", "public.orders_big", method)
        shutil.rmtree(os.path.join(DATA, f"mem_{method}"), ignore_errors=True)
        out.append({"what": f"lakepkg snapshot, {method}", "rows": r["rows"], "seconds": r["seconds"],
                    "peak_rss_mb": r["peak_rss_mb"], "bytes": r["bytes"]})
    return out


# -- 3. dedup over simulated days ----------------------------------------------------------------

DAY_CHILD = r"""
import os, sys, json, time
os.environ["LAKEPKG_HOME"] = sys.argv[1]
from lakepkg.write.chunking import ChunkingParams
from lakepkg_connectors.sql import snapshot_sql
from lakepkg.read.package import Package
from lakepkg.registry import open_registry
t0 = time.perf_counter()
res = snapshot_sql(sys.argv[2], "bench/days", tables="public.orders_days", chunking=ChunkingParams(mask_bits=int(sys.argv[3])))
dt = time.perf_counter() - t0
t = Package(open_registry(), res.record.top_hash)["orders_days"]
entries = list(t.iter_entries())
print(json.dumps({"seconds": dt, "rows": t.node.rows, "fragments": len(entries),
                  "fragment_bytes": sum(e["size"] for e in entries), "created": res.created}))
"""


def dedup(mask_bits: int) -> dict:
    import psycopg

    ensure_table("orders_1m", N)
    with admin(DB) as c:
        c.execute("DROP TABLE IF EXISTS orders_days")
        c.execute("CREATE TABLE orders_days AS SELECT * FROM orders_1m")
        c.execute("ALTER TABLE orders_days ADD PRIMARY KEY (id)")
        c.execute("VACUUM ANALYZE orders_days")
    home = fresh(f"dedup_{mask_bits}")
    first = run_py(DAY_CHILD, home, URL, str(mask_bits))
    full0 = dir_bytes(home)
    same = run_py(DAY_CHILD, home, URL, str(mask_bits))  # unchanged table: nothing new
    unchanged_growth = dir_bytes(home) - full0
    days = []
    next_id = N + 1
    total = N
    for day in range(1, DAYS + 1):
        append, update, newest = total // 100, total // 200, total // 20
        with psycopg.connect(URL, autocommit=True) as c:
            # yesterday's and older recent orders change (0.5% of rows, among the newest 5%) ...
            c.execute("UPDATE orders_days SET amount = amount + 1, status = 'returned', flag = NOT flag WHERE id IN "
                      "(SELECT id FROM orders_days WHERE id > %s ORDER BY random() LIMIT %s)", (next_id - 1 - newest, update))
            # ... and 1% new orders arrive
            c.execute(FILL.format(t="orders_days", lo=next_id, hi=next_id + append - 1))
        next_id += append
        before = dir_bytes(home)
        r = run_py(DAY_CHILD, home, URL, str(mask_bits))
        grew = dir_bytes(home) - before
        total += append
        days.append({"day": day, "rows": r["rows"], "grew": grew, "full": r["fragment_bytes"],
                     "growth_pct": grew / r["fragment_bytes"] * 100, "ideal_pct": (append + update) / total * 100,
                     # any store of row ranges rewrites the whole updated range (the newest 5%) plus the new rows
                     "range_pct": (newest + append) / total * 100,
                     "seconds": r["seconds"], "fragments": r["fragments"]})
    return {"mask_bits": mask_bits, "first": first, "full0": full0, "unchanged_growth": unchanged_growth,
            "unchanged_same_hash": not same["created"], "days": days, "store_end": dir_bytes(home)}


# -- report -------------------------------------------------------------------------------------

def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    os.makedirs(DATA, exist_ok=True)
    t_start = time.time()
    import adbc_driver_postgresql
    import pandas
    import pyarrow

    with admin() as c:
        server = c.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {server}; {os.cpu_count()} cores; pyarrow {pyarrow.__version__}, "
          f"adbc-driver-postgresql {adbc_driver_postgresql.__version__}, pandas {pandas.__version__}; "
          f"load average at start {loadavg()}\n")
    try:
        tp = throughput()
        base = tp[0]["seconds"]
        print(f"### Throughput: {N:,}-row, 10-column table (median of {REPEATS}, round-robin)\n")
        print("| path | seconds (median) | runs | rows/s | time / lakepkg ADBC | peak RSS MB | output MB |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for r in tp:
            print(f"| {r['path']} | {r['seconds']:.2f} | {', '.join(map(str, r['all']))} | {N / r['seconds']:,.0f} | "
                  f"{r['seconds'] / base:.2f}x | {r['peak_rss_mb']:,.0f} | {r['bytes'] / 1e6:,.1f} |")
        by = {r["path"]: r["seconds"] for r in tp}
        pandas_s, copy_s, copy_o = by[PATHS[2][0]], by[PATHS[3][0]], by[PATHS[4][0]]
        print("\n| ratio | value |\n|---|---:|")
        print(f"| lakepkg (ADBC) speed-up over pandas.read_sql + to_parquet | {pandas_s / base:.2f}x |")
        print(f"| lakepkg (psycopg cursor) speed-up over pandas | {pandas_s / by[PATHS[1][0]]:.2f}x |")
        print(f"| lakepkg (ADBC) time / COPY TO STDOUT | {base / copy_s:.2f}x |")
        print(f"| lakepkg (ADBC) time / COPY (ORDER BY id) TO STDOUT | {base / copy_o:.2f}x |")
        print(f"| pandas peak RSS / lakepkg (ADBC) peak RSS | {tp[2]['peak_rss_mb'] / tp[0]['peak_rss_mb']:.1f}x |")

        mem = memory()
        print(f"\n### Peak memory: {N_BIG:,}-row table (one process, getrusage ru_maxrss)\n")
        print("| run | rows | seconds | rows/s | peak RSS MB |\n|---|---:|---:|---:|---:|")
        for m in mem:
            secs = f"{m['seconds']:.1f}" if m["seconds"] else "-"
            rps = f"{m['rows'] / m['seconds']:,.0f}" if m["seconds"] else "-"
            print(f"| {m['what']} | {m['rows']:,} | {secs} | {rps} | {m['peak_rss_mb']:,.0f} |")
        print(f"| (for scale) lakepkg ADBC on the {N:,}-row table | {N:,} | {tp[0]['seconds']:.1f} | "
              f"{N / tp[0]['seconds']:,.0f} | {tp[0]['peak_rss_mb']:,.0f} |")
        print(f"| (for scale) pandas.read_sql on the {N:,}-row table | {N:,} | {pandas_s:.1f} | "
              f"{N / pandas_s:,.0f} | {tp[2]['peak_rss_mb']:,.0f} |")

        for mask in MASKS:
            d = dedup(mask)
            days = d["days"]
            print(f"\n### Dedup over {DAYS} days, chunking mask_bits={mask}"
                  f"{' (default)' if mask == 14 else ''}\n")
            print(f"First snapshot: {d['first']['rows']:,} rows, {d['first']['fragments']} fragments, "
                  f"store {d['full0'] / 1e6:.1f} MB. Re-snapshot unchanged: store grew {d['unchanged_growth']} bytes, "
                  f"same top hash: {d['unchanged_same_hash']}.\n")
            print("| day | rows | fragments | store growth | growth, % of a full snapshot | ideal (changed rows %) | "
                  "updated range + new rows % | whole-table snapshots | snapshot s |\n"
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for x in days:
                print(f"| {x['day']} | {x['rows']:,} | {x['fragments']} | {x['grew'] / 1e6:.2f} MB | {x['growth_pct']:.1f}% | "
                      f"{x['ideal_pct']:.2f}% | {x['range_pct']:.1f}% | ~100% | {x['seconds']:.1f} |")
            g = statistics.mean(x["growth_pct"] for x in days)
            i = statistics.mean(x["ideal_pct"] for x in days)
            rg = statistics.mean(x["range_pct"] for x in days)
            print(f"| mean | | | {statistics.mean(x['grew'] for x in days) / 1e6:.2f} MB | {g:.1f}% | {i:.2f}% | {rg:.1f}% | "
                  f"~100% | {statistics.mean(x['seconds'] for x in days):.1f} |")
            whole = d["full0"] + sum(x["full"] for x in days)
            print(f"\nAfter {DAYS} days the store holds {d['store_end'] / 1e6:.0f} MB: "
                  f"{d['store_end'] / d['full0']:.2f}x one first snapshot; whole-table snapshots would hold "
                  f"~{whole / 1e6:.0f} MB ({whole / d['full0']:.1f}x). Growth / ideal = {g / i:.1f}x; "
                  f"whole-table / lakepkg daily growth = {100 / g:.1f}x.")
    finally:
        if os.environ.get("BENCH_SQL_KEEP") != "1":
            drop_database()
    print(f"\nLoad average at end {loadavg()}; total run {(time.time() - t_start) / 60:.1f} min.")


if __name__ == "__main__":
    main()
