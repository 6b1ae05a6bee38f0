"""Deletion-vector benchmark (issue 12): store growth over 30 days, read time, snapshot time, memory.

    .venv/bin/python bench/bench_deltas.py

Two 30-day workloads on the 1,000,000-row, 10-column PostgreSQL table of bench_sql.py:

* **today's**: each day 1% appended rows and 0.5% updated rows chosen among the newest 5% of keys;
* **scattered**: each day 1% appended, 0.5% updated uniformly over all keys, 0.05% deleted.

Each day the same source state is snapshotted twice, in two registries: with deletion vectors
(the default) and with today's code path (``LAKEPKG_DELTAS=0``: key-range chunking only, every
touched fragment rewritten), alternating which goes first (the second finds PostgreSQL's cache warm). Reported per workload: mean daily store growth as a % of a full
snapshot of that day's table, next to the changed-rows ideal ((appended + updated) / rows); the
snapshot time per day of both; the peak RSS of a delta snapshot; after day 30 the time to read
the 30th version (``to_arrow()``, median of ``BENCH_DELTAS_READS`` = 7, each in a fresh process with its imports done, alternating; and read again in the same process) against a compacted copy
of it (``lakepkg compact``). Last, one delta re-snapshot of a 10,000,000-row table for peak memory
(``BENCH_DELTAS_BIG=0`` skips it).

Environment: ``BENCH_SQL_PG`` (server URL without database), ``BENCH_DELTAS_ROWS`` (1000000),
``BENCH_DELTAS_DAYS`` (30), ``BENCH_DELTAS_BIG`` (10000000), ``BENCH_DELTAS_READS`` (7), ``BENCH_DELTAS_WORKLOADS``
("today,scattered"). The database ``lakepkg_bench_sql`` is shared with bench_sql.py and dropped at
the end (``BENCH_SQL_KEEP=1`` keeps it); registries go under bench/data/deltas/ (removed at the end).
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
tiny_env(BENCH_DELTAS_ROWS=2000, BENCH_DELTAS_DAYS=1, BENCH_DELTAS_BIG=2000, BENCH_DELTAS_READS=1,
         BENCH_DELTAS_WORKLOADS="today",  # big_memory() runs the scattered day: both change paths run
         BENCH_SQL_DB="lakepkg_bench_deltas_smoke")
os.environ.setdefault("BENCH_SQL_ROWS", os.environ.get("BENCH_DELTAS_ROWS", "1000000"))
import bench_sql as base  # noqa: E402  (the table, its fill statement and the admin helpers)

DATA = os.path.join(HERE, "data", "deltas")
N = int(os.environ.get("BENCH_DELTAS_ROWS", "1000000"))
DAYS = int(os.environ.get("BENCH_DELTAS_DAYS", "30"))
N_BIG = int(os.environ.get("BENCH_DELTAS_BIG", "10000000"))
WORKLOADS = [w for w in os.environ.get("BENCH_DELTAS_WORKLOADS", "today,scattered").split(",") if w]
READS = int(os.environ.get("BENCH_DELTAS_READS", "7"))

SNAP = r"""
import os, sys, json, time, resource
os.environ["LAKEPKG_HOME"] = sys.argv[1]
os.environ["LAKEPKG_DELTAS"] = sys.argv[4]
from lakepkg_connectors.sql import snapshot_sql
from lakepkg.read.package import Package
from lakepkg.registry import open_registry
t0 = time.perf_counter()
res = snapshot_sql(sys.argv[2], "bench/days", tables={"t": sys.argv[3]})
dt = time.perf_counter() - t0
t = Package(open_registry(), res.record.top_hash)["t"]
entries = list(t.iter_entries())
print(json.dumps({"seconds": dt, "rows": t.node.rows, "fragments": len(entries), "top": res.record.top_hash,
                  "vectors": sum(1 for e in entries if e.get("deletes")),
                  "fragment_bytes": sum(e["size"] for e in entries), "created": res.created,
                  "delta": (res.record.sources.get("t") or {}).get("volatile", {}).get("delta"),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READ = r"""
import os, sys, json, time
os.environ["LAKEPKG_HOME"] = sys.argv[1]
import lakepkg
import pyarrow.dataset, pandas  # imports are not the read (pyarrow.dataset pulls in pandas: ~0.4 s)
t = lakepkg.load(sys.argv[2])["t"]
t0 = time.perf_counter()
n = t.to_arrow().num_rows
cold = time.perf_counter() - t0
warm = []
for _ in range(3):  # the same read again in this process (a notebook's second look)
    t0 = time.perf_counter()
    t.to_arrow()
    warm.append(time.perf_counter() - t0)
print(json.dumps({"seconds": cold, "warm": min(warm), "rows": n}))
"""

COMPACT = r"""
import os, sys, json, time
os.environ["LAKEPKG_HOME"] = sys.argv[1]
from lakepkg.write.compaction import compact
t0 = time.perf_counter()
r = compact(None, "bench/days")
print(json.dumps({"seconds": time.perf_counter() - t0, "top": r.record.top_hash, "created": r.created,
                  "tables": r.tables}))
"""


def run_py(code: str, *args: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"benchmark step failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fresh(name: str) -> str:
    p = os.path.join(DATA, name)
    shutil.rmtree(p, ignore_errors=True)
    os.makedirs(p)
    return p


def change_day(c: Any, table: str, workload: str, day: int, next_id: int, total: int) -> tuple[int, int, int]:
    """Apply one day of changes; returns (appended, updated, deleted)."""
    append, update, newest = total // 100, total // 200, total // 20
    deleted = 0
    if workload == "today":
        c.execute(f"UPDATE {table} SET amount = amount + 1, status = 'returned', flag = NOT flag WHERE id IN "
                  f"(SELECT id FROM {table} WHERE id > %s ORDER BY random() LIMIT %s)", (next_id - 1 - newest, update))
    else:
        c.execute(f"UPDATE {table} SET amount = amount + 1, status = 'returned', flag = NOT flag WHERE id IN "
                  f"(SELECT id FROM {table} ORDER BY random() LIMIT %s)", (update,))
        deleted = total // 2000
        c.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY random() LIMIT %s)", (deleted,))
    c.execute(base.FILL.format(t=table, lo=next_id, hi=next_id + append - 1))
    return append, update, deleted


def workload_run(workload: str) -> dict:
    import psycopg

    table = f"days_{workload}"
    base.ensure_table("orders_1m", N)
    with base.admin(base.DB) as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
        c.execute(f"CREATE TABLE {table} AS SELECT * FROM orders_1m")
        c.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (id)")
        c.execute(f"VACUUM ANALYZE {table}")
    homes = {"deltas": fresh(f"{workload}_deltas"), "today": fresh(f"{workload}_today")}
    flag = {"deltas": "1", "today": "0"}
    first = {k: run_py(SNAP, h, base.URL, f"public.{table}", flag[k]) for k, h in homes.items()}
    full0 = base.dir_bytes(os.path.join(homes["today"], "registry"))
    days = []
    next_id, total = N + 1, N
    for day in range(1, DAYS + 1):
        with psycopg.connect(base.URL, autocommit=True) as c:
            app, upd, dele = change_day(c, table, workload, day, next_id, total)
        next_id += app
        total += app - dele
        row: dict[str, Any] = {"day": day, "rows": total, "ideal_pct": (app + upd) / total * 100}
        # alternate which path reads first: the second read finds the server's cache warm
        for k in (("deltas", "today") if day % 2 else ("today", "deltas")):
            h = homes[k]
            before = base.dir_bytes(os.path.join(h, "registry"))  # the store, not the local caches
            r = run_py(SNAP, h, base.URL, f"public.{table}", flag[k])
            row[k] = {**r, "grew": base.dir_bytes(os.path.join(h, "registry")) - before}
        full = row["today"]["fragment_bytes"]  # a full snapshot of today's table (today's code cuts it whole)
        for k in homes:
            row[k]["growth_pct"] = row[k]["grew"] / full * 100
        assert row["deltas"]["rows"] == row["today"]["rows"] == total, (row, total)
        days.append(row)
        print(f"  {workload} day {day}: deltas {row['deltas']['growth_pct']:.2f}% ({row['deltas']['seconds']:.1f} s, "
              f"{row['deltas']['vectors']} vectors), today {row['today']['growth_pct']:.2f}% "
              f"({row['today']['seconds']:.1f} s), ideal {row['ideal_pct']:.2f}%", file=sys.stderr, flush=True)
    last = days[-1]["deltas"]["top"]
    comp = run_py(COMPACT, homes["deltas"])
    reads, creads = [], []
    for _ in range(READS):  # alternating, each in a fresh process: neither always finds the other's warm-up
        reads.append(run_py(READ, homes["deltas"], f"bench/days@{last}"))
        creads.append(run_py(READ, homes["deltas"], f"bench/days@{comp['top']}"))
    out = {"workload": workload, "first": first, "full0": full0, "days": days,
           "read_s": statistics.median(x["seconds"] for x in reads),
           "read_compacted_s": statistics.median(x["seconds"] for x in creads),
           "read_warm_s": statistics.median(x["warm"] for x in reads),
           "read_warm_compacted_s": statistics.median(x["warm"] for x in creads), "compact": comp,
           "store_end": {k: base.dir_bytes(os.path.join(h, "registry")) for k, h in homes.items()}}
    for h in homes.values():
        shutil.rmtree(h, ignore_errors=True)
    with base.admin(base.DB) as c:
        c.execute(f"DROP TABLE IF EXISTS {table}")
    return out


def big_memory() -> dict:
    import psycopg

    base.ensure_table("orders_big", N_BIG)
    with base.admin(base.DB) as c:
        c.execute("DROP TABLE IF EXISTS days_big")
        c.execute("CREATE TABLE days_big AS SELECT * FROM orders_big")
        c.execute("ALTER TABLE days_big ADD PRIMARY KEY (id)")
    home = fresh("big")
    first = run_py(SNAP, home, base.URL, "public.days_big", "1")
    with psycopg.connect(base.URL, autocommit=True) as c:
        change_day(c, "days_big", "scattered", 1, N_BIG + 1, N_BIG)
    delta = run_py(SNAP, home, base.URL, "public.days_big", "1")
    shutil.rmtree(home, ignore_errors=True)
    with base.admin(base.DB) as c:
        c.execute("DROP TABLE IF EXISTS days_big")
    return {"first": first, "delta": delta}


def main() -> None:
    os.makedirs(DATA, exist_ok=True)
    t_start = time.time()
    import pyarrow

    with base.admin() as c:
        server = c.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {server}; {os.cpu_count()} cores; pyarrow {pyarrow.__version__}; "
          f"load average at start {base.loadavg()}\n")
    try:
        for w in WORKLOADS:
            r = workload_run(w)
            days = r["days"]
            name = {"today": "today's workload (updates among the newest 5% of keys)",
                    "scattered": "scattered workload (updates over all keys, 0.05% deletes)"}[w]
            print(f"### {name}, {N:,} rows, {DAYS} days\n")
            print("| day | rows | ideal % | deltas: growth % | vectors | fragments | snapshot s | "
                  "today's code: growth % | fragments | snapshot s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for x in days:
                d, t = x["deltas"], x["today"]
                print(f"| {x['day']} | {x['rows']:,} | {x['ideal_pct']:.2f} | {d['growth_pct']:.2f} | {d['vectors']} | "
                      f"{d['fragments']} | {d['seconds']:.1f} | {t['growth_pct']:.2f} | {t['fragments']} | {t['seconds']:.1f} |")
            g = statistics.mean(x["deltas"]["growth_pct"] for x in days)
            gt = statistics.mean(x["today"]["growth_pct"] for x in days)
            i = statistics.mean(x["ideal_pct"] for x in days)
            sd = statistics.mean(x["deltas"]["seconds"] for x in days)
            st = statistics.mean(x["today"]["seconds"] for x in days)
            peak = max(x["deltas"]["peak_rss_mb"] for x in days)
            comp = sum(((x["deltas"].get("delta") or {}).get("fragments_compacted") or 0) > 0 for x in days)
            print(f"| mean | | {i:.2f} | {g:.2f} | | | {sd:.1f} | {gt:.2f} | | {st:.1f} |\n")
            print("| measure | value |\n|---|---:|")
            print(f"| mean daily growth with deletion vectors / changed-rows ideal | {g / i:.2f}x |")
            print(f"| mean daily growth of today's code / ideal | {gt / i:.2f}x |")
            print(f"| snapshot time per day, deletion vectors / today's code | {sd / st:.2f}x ({sd:.1f} s / {st:.1f} s) |")
            print(f"| read of the 30th version / a compacted copy (to_arrow, fresh process, median of {READS}) | "
                  f"{r['read_s'] / r['read_compacted_s']:.2f}x ({r['read_s']:.2f} s / {r['read_compacted_s']:.2f} s) |")
            print(f"| the same, read again in the same process (best of 3, median over processes) | "
                  f"{r['read_warm_s'] / r['read_warm_compacted_s']:.2f}x ({r['read_warm_s']:.2f} s / "
                  f"{r['read_warm_compacted_s']:.2f} s) |")
            print(f"| days on which the snapshot compacted by itself | {comp} |")
            print(f"| `lakepkg compact` of the 30th version | {r['compact']['seconds']:.1f} s, "
                  f"{r['compact']['tables'].get('t', {}).get('fragments_rewritten', 0)} fragments rewritten |")
            print(f"| peak RSS of a delta snapshot (max over the days) | {peak:,.0f} MB |")
            print(f"| store after {DAYS} days, deletion vectors / today's code | "
                  f"{r['store_end']['deltas'] / 1e6:.0f} MB / {r['store_end']['today'] / 1e6:.0f} MB |\n")
        if N_BIG:
            b = big_memory()
            print(f"### Peak memory, {N_BIG:,}-row table\n")
            print("| run | seconds | peak RSS MB |\n|---|---:|---:|")
            print(f"| first snapshot | {b['first']['seconds']:.1f} | {b['first']['peak_rss_mb']:,.0f} |")
            print(f"| delta re-snapshot (scattered day) | {b['delta']['seconds']:.1f} | {b['delta']['peak_rss_mb']:,.0f} |")
    finally:
        shutil.rmtree(DATA, ignore_errors=True)
        if os.environ.get("BENCH_SQL_KEEP") != "1":
            base.drop_database()
    print(f"\nLoad average at end {base.loadavg()}; total run {(time.time() - t_start) / 60:.1f} min.")


if __name__ == "__main__":
    main()
