"""Query reproduction benchmark: TPC-H's 22 queries on PostgreSQL, live vs the snapshot's engines.

    .venv/bin/python bench/bench_query.py --sf 1            # the issue's size (6M lineitems)
    .venv/bin/python bench/bench_query.py --sf 0.1 --queries 1,3,6
    .venv/bin/python bench/bench_query.py --sf 0.01 --json  # the suite's smoke run

The data and query texts: DuckDB's ``tpch`` extension from the ``duckdb-extension-tpch`` wheel
(``CALL dbgen(sf=…)``, ``tpch_queries()``), loaded into a fresh PostgreSQL database
(``BENCH_QUERY_PG``, default postgresql://postgres@127.0.0.1:5432; database ``lakepkg_bench_tpch``,
dropped at the end) with TPC-H's own types and primary keys (tests/fixtures/tpch.py), snapshotted
through the SQL connector. Per query, side by side in one run:

* ``live``: PostgreSQL from Python, connection open (psycopg execute + fetchall; best of 2 after a
  warm-up, or the warm-up alone when it took over 2 s);
* ``fast``: ``pkg.sql(text)`` with the package loaded (DuckDB over the pinned fragments; best of 2
  after a warm-up) — or ``refused`` (the fast engine's one-line refusal);
* ``exact``: ``--engine postgres`` in-process: the embedded server's start, the load of the tables
  and columns the query reads (rows/s), and the run;
* ``command``: ``lakepkg query TEXT -p REF --format csv`` as a whole command (default engine), and
  its start-up: the command's time less the in-process fast-engine time;
* ``start-up``: once, the whole command on a tiny query (``SELECT count(*) FROM region``): best
  wall time and best CPU time (user + sys, from the child's rusage) of 3 runs.

Every answer is compared with the live one (exact comparison, lakepkg.query.compare). Goals (issue
24): fast ≤ 1x live; exact run ≤ 2x live (its load reported beside it); load ≥ 1M rows/s; the
command's own start-up ≤ 0.5 s. The last line is a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from smoke import tiny  # noqa: E402  (LAKEPKG_BENCH_SMOKE=1: tiny sizes)
sys.path.insert(0, os.path.dirname(HERE))
PG = os.environ.get("BENCH_QUERY_PG", "postgresql://postgres@127.0.0.1:5432")
DB = os.environ.get("BENCH_QUERY_DB", "lakepkg_bench_tpch")
SLOW = 2.0  # seconds: a query slower than this is timed once


def _best(fn, n: int = 2) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def startup(ref: str, n: int = 3) -> dict:
    """The whole command on a tiny query: best wall and best CPU (user + sys) seconds of ``n`` runs."""
    import resource

    cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "query", "SELECT count(*) AS n FROM region", "-p", ref,
           "--format", "csv"]
    walls, cpus = [], []
    for _ in range(n):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        walls.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
        if p.returncode != 0:
            return {"error": p.stderr.strip()[-200:]}
    return {"wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (1: 6M lineitems)")
    ap.add_argument("--queries", default="", help="comma-separated query numbers (default: all 22)")
    ap.add_argument("--no-command", action="store_true", help="skip the whole-command timing")
    ap.add_argument("--fast-only", default="", help="comma-separated query numbers run on the fast engine (and the "
                    "command) only, not live nor exact: at sf 1 PostgreSQL's plans of Q17/Q20 (correlated subqueries) "
                    "take hours; their answers are then not compared")
    ap.add_argument("--json", action="store_true", help="print only the JSON summary")
    tiny(ap, sf=0.01, queries="1,3,6")
    args = ap.parse_args()

    import psycopg

    import lakepkg
    from lakepkg.errors import QueryError
    from lakepkg.query.compare import differs
    from lakepkg.query.exact import run_exact_all
    from lakepkg.registry import open_registry
    from tests.fixtures.tpch import TABLES, _load_pg, generate, live

    say = (lambda *a, **k: None) if args.json else print
    work = tempfile.mkdtemp(prefix="lakepkg-bench-query-")
    home = os.path.join(work, "home")
    os.environ["LAKEPKG_HOME"] = home
    os.environ["LAKEPKG_NO_PROGRESS"] = "1"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB}"')
    url = f"{PG}/{DB}"
    summary: dict = {"sf": args.sf, "queries": {}}
    try:
        t0 = time.perf_counter()
        files, texts = generate(args.sf, work)
        summary["generate_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        _load_pg(url, files)
        for f in files.values():
            os.remove(f)
        with psycopg.connect(url) as c:
            n_line = c.execute("SELECT count(*) FROM lineitem").fetchone()[0]
        summary["load_pg_s"] = round(time.perf_counter() - t0, 2)
        say(f"TPC-H sf {args.sf}: {n_line:,} lineitems; generated in {summary['generate_s']} s, "
            f"loaded into PostgreSQL in {summary['load_pg_s']} s")
        reg = open_registry()
        t0 = time.perf_counter()
        res = lakepkg.snapshot("sql", url=url, to="bench/tpch", registry=reg, tables={t: f"public.{t}" for t in TABLES})
        ref = f"bench/tpch@{res.record.top_hash[:12]}"
        summary["snapshot_s"] = round(time.perf_counter() - t0, 2)
        say(f"snapshot {ref} in {summary['snapshot_s']} s")
        pkg = lakepkg.load(ref)
        wanted = [int(q) for q in args.queries.split(",") if q.strip()] or sorted(texts)
        if not args.no_command:
            summary["startup"] = startup(ref)
            say(f"start-up of `lakepkg query` on a tiny query: {summary['startup']}", flush=True)
        t0 = time.perf_counter()
        fast_only = {int(q) for q in args.fast_only.split(",") if q.strip()}
        both = [n for n in wanted if n not in fast_only]
        done = dict(zip(both, run_exact_all([texts[n] for n in both], ref, engine="postgres"))) if both else {}
        exact = [done.get(n) for n in wanted]
        say(f"exact engine, all {len(wanted)} queries over one server and one load: {time.perf_counter() - t0:.1f} s",
            flush=True)
        rows = []
        with psycopg.connect(url, autocommit=True) as conn:
            for n, ex in zip(wanted, exact):
                sql = texts[n]
                live_answer = None
                r: dict = {"live_s": None}
                if n not in fast_only:
                    t0 = time.perf_counter()
                    live_answer = live(url, sql)  # warm-up, and the answer
                    t_live = time.perf_counter() - t0
                    if t_live < SLOW:  # a slow query is timed once (its warm-up)
                        t_live, _ = _best(lambda: conn.execute(sql).fetchall())
                    r["live_s"] = round(t_live, 4)
                try:
                    t0 = time.perf_counter()
                    fast = pkg.sql(sql)
                    t_fast = time.perf_counter() - t0
                    if t_fast < SLOW:
                        t_fast, fast = _best(lambda: pkg.sql(sql))
                    if live_answer is None:
                        r.update(fast_s=round(t_fast, 4), fast="not compared")
                    else:
                        d = differs(fast, live_answer, sql, "postgres")  # type: ignore[arg-type]
                        r.update(fast_s=round(t_fast, 4),
                                 fast="equal" if d is None else "different: " + d.line("fast", "live"))
                except QueryError as exc:
                    t_fast, r["fast"], r["fast_s"] = None, "refused: " + str(exc)[:120], None
                if ex is None:
                    r["exact"] = "not run"
                elif isinstance(ex, Exception):
                    r["exact"] = "refused: " + str(ex)[:120]
                else:
                    d = differs(ex.table, live_answer, sql, "postgres")
                    r.update(exact="equal" if d is None else "different: " + d.line("exact", "live"),
                             exact_start_s=ex.seconds.get("start"), exact_load_s=ex.seconds.get("load"),
                             exact_run_s=ex.seconds.get("run"), rows_loaded=ex.rows_loaded)
                if not args.no_command:
                    cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "query", sql, "-p", ref, "--format", "csv"]
                    t0 = time.perf_counter()
                    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
                    t_cmd = time.perf_counter() - t0
                    r["command_s"] = round(t_cmd, 3)
                    r["command_exit"] = p.returncode
                    if t_fast is not None and p.returncode == 0:
                        r["startup_s"] = round(t_cmd - t_fast, 3)
                summary["queries"][n] = r
                rows.append((n, r))
                say(f"  Q{n}: {json.dumps(r, default=str)}", flush=True)
        exacts = [r for _, r in rows if r.get("exact_load_s")]
        load = exacts[0] if exacts else {}
        if load:
            summary["exact_load_rows_per_s"] = round(load["rows_loaded"] / max(load["exact_load_s"], 1e-9))
            summary["exact_load_s"] = load["exact_load_s"]
            summary["exact_start_s"] = load["exact_start_s"]
        say()
        say(f"exact engine: server start {summary.get('exact_start_s')} s; one load of what the {len(wanted)} "
            f"queries read: {load.get('rows_loaded', 0):,} rows in {summary.get('exact_load_s')} s = "
            f"{summary.get('exact_load_rows_per_s', 0):,} rows/s (goal >= 1,000,000 rows/s)")
        say(f"{'Q':>3} {'live':>8} {'fast':>8} {'fast/live':>9} (goal <= 1x)  {'exact run':>9} {'run/live':>8} "
            f"(goal <= 2x)  {'command':>8} {'start-up':>8} (goal <= 0.5 s)  answers (fast, exact)")
        for n, r in rows:
            ratio = f"{r['fast_s'] / r['live_s']:8.2f}x" if r.get("fast_s") and r.get("live_s") else "        -"
            er = f"{r['exact_run_s'] / r['live_s']:7.2f}x" if r.get("exact_run_s") and r.get("live_s") else "       -"
            say(f"{n:>3} {(r['live_s'] or 0):7.3f}s {(r.get('fast_s') or 0):7.3f}s {ratio}               "
                f"{(r.get('exact_run_s') or 0):8.3f}s {er}               {(r.get('command_s') or 0):7.2f}s "
                f"{(r.get('startup_s') or 0):7.2f}s                  {r['fast'].split(':')[0]}, {r['exact'].split(':')[0]}")
        print(json.dumps(summary, default=str))
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
