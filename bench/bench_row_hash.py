"""Row identity throughput (issue 19): rows hashed per second per core on the 10-column table of
bench_sql.py / bench_deltas.py, side by side with the rows-v1 hash it replaces and with the hashlib
fallback (the same bytes without DataFusion).

    .venv/bin/python bench/bench_row_hash.py            # BENCH_ROW_HASH_ROWS=1000000, 5 repeats

The table is generated in DuckDB with bench_sql.py's types and value shapes (bigint id, int customer,
numeric(12,2) amount, smallint qty, double price, text status, varchar note, timestamptz created,
date day, boolean flag). "Per core" is process CPU time (``time.process_time``), best of the
repeats, so other load on the machine inflates it less than wall time; the wall figure is printed too.
The last line is the figures as JSON (the smoke test reads it).
"""
from __future__ import annotations

import json
import os
import sys
import time

import duckdb
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
N = int(os.environ.get("BENCH_ROW_HASH_ROWS", "1000000"))
REPEATS = int(os.environ.get("BENCH_ROW_HASH_REPEATS", "5"))
GOAL = 2_000_000


def table(n: int):
    r = duckdb.sql(f"""
        SELECT g::BIGINT AS id, ((g * 7919) % 100000)::INT AS customer,
               (((g * 31) % 100000) / 100.0)::DECIMAL(12,2) AS amount, (g % 50)::SMALLINT AS qty,
               ((g % 997) * 1.25)::DOUBLE AS price, (['new','paid','shipped','returned'])[1 + g % 4] AS status,
               'note ' || left(md5(g::VARCHAR), 20) AS note,
               TIMESTAMPTZ '2024-01-01' + g * INTERVAL 1 SECOND AS created,
               (DATE '2024-01-01' + (g // 100000)::INT) AS day, g % 3 = 0 AS flag
        FROM range(1, {n + 1}) t(g)""").arrow()
    return r.read_all() if hasattr(r, "read_all") else r


def clock(fn, repeats: int) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds) of ``fn()``."""
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def main() -> None:
    from lakepkg.format import row_identity as ri
    from lakepkg.write.row_hash import row_hashes_v1

    t = table(N)
    ri.row_hash_matrix(t.slice(0, 1000))  # DataFusion's session starts once
    rows = {}
    v2 = clock(lambda: ri.row_hash_matrix(t), REPEATS)
    v1 = clock(lambda: row_hashes_v1(t), REPEATS)
    small = t.slice(0, min(N, 200_000))
    enc = ri.encode_rows(small)
    fallback = clock(lambda: ri._sha256_hashlib(enc, np.empty((len(enc), 32), np.uint8)), 1)
    encode = clock(lambda: [ri.encode_rows(t.slice(o, ri.SLICE_ROWS)) for o in range(0, N, ri.SLICE_ROWS)], REPEATS)
    rows["rows-v2: SHA-256 of the canonical encoding (DataFusion)"] = (N / v2[0], N / v2[1])
    rows["  of which: building the encoding"] = (N / encode[0], N / encode[1])
    rows["rows-v1: 2 x 64-bit polynomial/splitmix (replaced)"] = (N / v1[0], N / v1[1])
    rows["hashlib fallback, hashing only (no DataFusion)"] = (len(enc) / fallback[0], len(enc) / fallback[1])
    print(f"{N:,} rows, 10 columns; best of {REPEATS}; {os.cpu_count()} cores; load average {os.getloadavg()}\n")
    print(f"| hash | rows/s per core (CPU time) | rows/s (wall) |\n|---|---:|---:|")
    for k, (c, w) in rows.items():
        print(f"| {k} | {c:,.0f} | {w:,.0f} |")
    print(f"\ngoal: >= {GOAL:,} rows/s per core: {'met' if N / v2[0] >= GOAL else 'NOT met'} "
          f"({N / v2[0] / GOAL:.2f}x the goal)")
    print(json.dumps({"rows": N, "v2_rows_per_cpu_s": N / v2[0], "v2_rows_per_wall_s": N / v2[1],
                      "v1_rows_per_cpu_s": N / v1[0], "encode_rows_per_cpu_s": N / encode[0],
                      "hashlib_rows_per_cpu_s": len(enc) / fallback[0], "goal": GOAL}))


if __name__ == "__main__":
    main()
