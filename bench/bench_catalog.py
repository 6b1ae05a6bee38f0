"""Catalog benchmark (issue 22): server time per page, next to `lakepkg show` for the same version.

    .venv/bin/python bench/bench_catalog.py [--fragments 1000000] [--packages 10000]

A. a version of one table with FRAGMENTS fragments (a synthetic manifest over 64 real Parquet objects,
   like bench_core.py part B), and a second version with 1% of the fragments changed. Pages: the
   version page, the table page (preview + statistics + a fragments page), a deep fragments page,
   one fragment's rows, the history, the compare page; each cold (the first request of a fresh app:
   nothing cached, its listing and indexes only just begun in the background) and warm (asked again
   on an app whose listing and indexes are built). Next to them: `lakepkg show --json` of the same version (a process, wall time)
   and the same reads in-process.
B. a registry of PACKAGES packages (one version each, their own root and metadata): the packages
   list (first page, a page deep in the list), a version page, a search over metadata (cold: the
   text index is being built in the background, the page waits at most 2 s and says when it matched
   names only), and how long the listing and the background indexes take.

Server time is the app's own measure (its ``Server-Timing: app;dur=`` header), through the ASGI app
in-process (Starlette's test client: no socket). Goals: version page < 300 ms, table preview < 1 s.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def _objects(reg, n_objects: int = 64, rows: int = 1000) -> list[tuple[str, int]]:
    out = []
    for j in range(n_objects):
        buf = io.BytesIO()
        pq.write_table(pa.table({"v": pa.array(range(j * rows, (j + 1) * rows), pa.int64())}), buf)
        data = buf.getvalue()
        out.append((reg.store.put_bytes(data), len(data)))
    return out


def build_big(reg, n: int) -> tuple[str, str]:
    """Two versions of bench/million: n fragments, then 1% of them pointing at other objects."""
    from lakepkg.format.manifest import Entry, EntrySorter, RootNodeData, build_table_node, store_node
    from lakepkg.write.build import BuiltPackage
    from lakepkg.write.publish import publish

    objs, objs2 = _objects(reg), _objects(reg, rows=999)
    schema = pa.schema([("ds", pa.string()), ("v", pa.int64())])
    readme = reg.store.put_bytes(b"# bench/million\n\nA synthetic table of many fragments.\n")
    files_sorter = EntrySorter("files")
    files_sorter.add(Entry(key="README.md", object=readme, size=56, kind="file"))
    from lakepkg.format.manifest import write_pages

    file_pages, _, _ = write_pages(reg.store, files_sorter.sorted_entries())
    tops = []
    for version in (1, 2):
        s = EntrySorter("t")
        for i in range(n):
            changed = version == 2 and i % 100 == 7
            obj, size = (objs2 if changed else objs)[i % 64]
            rows = 999 if changed else 1000
            base = (i % 64) * 1000
            s.add(Entry(key=f"ds={i % 365:03d}/part-{i:07d}.parquet", object=obj, size=size, rows=rows,
                        partition={"ds": f"{i % 365:03d}"},
                        stats={"v": {"min": base, "max": base + rows - 1, "nulls": 0}}))
        h, _node = build_table_node(reg.store, "t", schema, s, ["ds"], provenance={"key": ["v"]})
        root = RootNodeData(tables={"t": h}, files=file_pages, meta={"owner": "bench"})
        top = store_node(reg.store, root)
        publish(reg, "bench/million", BuiltPackage(top, root, {}), message=f"version {version}")
        tops.append(top)
    return tops[0], tops[1]


def build_many(reg, n: int) -> None:
    """n packages team{i % 100}/pkg{i}, one version each, each its own root (metadata differs)."""
    from lakepkg.format.manifest import RootNodeData, store_node
    from lakepkg.write.build import BuiltPackage, build_package
    from lakepkg.write.publish import publish

    seed = build_package("seed/one", {"t": pa.table({"x": [1, 2, 3]})}, registry=reg, message="seed")
    from lakepkg.format.manifest import load_root

    base = load_root(reg.store, seed.record.top_hash)
    for i in range(n):
        root = RootNodeData(tables=dict(base.tables), files=list(base.files),
                            meta={"owner": f"team{i % 100}", "topic": f"topic-{i}", "tier": "gold" if i % 1000 == 0 else "silver"})
        top = store_node(reg.store, root)
        publish(reg, f"team{i % 100:02d}/pkg{i:05d}", BuiltPackage(top, root, {}), message=f"package {i}")


def timed_get(client, url: str) -> tuple[float, int, float]:
    """(server ms from Server-Timing, status, wall ms) of one GET."""
    t = time.perf_counter()
    r = client.get(url, follow_redirects=False)
    wall = (time.perf_counter() - t) * 1000
    st = r.headers.get("server-timing", "app;dur=nan")
    return float(st.split("dur=")[1]), r.status_code, wall


def _data(asgi):
    return asgi.app.state.catalog.data  # the Guard wraps the Starlette app that holds the catalog


def measure(location: str, urls: list[tuple[str, str]]) -> tuple[list[tuple[str, float, float, int]], float]:
    """(label, cold ms, warm ms, status) per URL, and the seconds the background indexes took.
    Cold: the first request of a fresh app (its listing and indexes only just begun in the background);
    warm: the page asked again on one app whose listing and indexes are built (steady state)."""
    from starlette.testclient import TestClient

    from lakepkg.catalog import app

    cold = {}
    for label, url in urls:
        asgi = app(location)
        cold[label] = timed_get(TestClient(asgi, base_url="http://127.0.0.1:8765"), url)[:2]
        _data(asgi).close()
    asgi = app(location)
    t = time.perf_counter()
    if not _data(asgi).wait_ready(900):
        raise SystemExit("the catalog's indexes were not built in 15 minutes")
    ready_s = time.perf_counter() - t
    client = TestClient(asgi, base_url="http://127.0.0.1:8765")
    out = []
    for label, url in urls:
        timed_get(client, url)
        warm, _, _ = timed_get(client, url)
        out.append((label, cold[label][0], warm, cold[label][1]))
    _data(asgi).close()
    return out, ready_s


def show_times(location: str, ref: str) -> tuple[float, float]:
    """(`lakepkg show --json` wall ms as a process, the same reads in-process ms)."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "lakepkg.cli", "show", ref, "-r", location, "--json"],
                       capture_output=True, text=True)
    wall = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    from lakepkg.format.names import parse_ref
    from lakepkg.read.package import Package
    from lakepkg.registry import open_registry

    t = time.perf_counter()
    r = open_registry(location)
    rec = r.resolve(parse_ref(ref))
    pkg = Package(r, rec.top_hash, rec)
    for n in pkg.tables:
        tb = pkg.table(n)
        _ = (tb.rows, tb.schema, tb.provenance)
    _ = [f.key for f in pkg.files]
    return wall, (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fragments", type=int, default=1_000_000)
    ap.add_argument("--packages", type=int, default=10_000)
    ap.add_argument("--keep", help="build into (or reuse) this folder instead of a temporary one")
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    work = args.keep or tempfile.mkdtemp(prefix="bench-catalog-", dir=DATA)
    os.environ["LAKEPKG_HOME"] = work
    os.environ.setdefault("LAKEPKG_NO_PROGRESS", "1")
    from lakepkg.registry import open_registry

    big_loc, many_loc = os.path.join(work, "big"), os.path.join(work, "many")
    try:
        t = time.perf_counter()
        big = open_registry(big_loc)
        if not big.list_packages():
            build_big(big, args.fragments)
        hist = big.history("bench/million")
        v1, v2 = hist[0].top_hash, hist[-1].top_hash
        build_big_s = time.perf_counter() - t
        t = time.perf_counter()
        many = open_registry(many_loc)
        if len(many.list_packages()) < args.packages:
            build_many(many, args.packages)
        build_many_s = time.perf_counter() - t

        n = args.fragments
        deep = max(1, (n // 50) // 2)
        key = f"ds={0:03d}/part-{0:07d}.parquet"
        pa_rows, _ = measure(big_loc, [
            ("version page", f"/p/bench/million/@{v2}"),
            ("table page (preview, stats, fragments)", f"/p/bench/million/@{v2}/t/t"),
            ("table page, filtered (v >= 63000)", f"/p/bench/million/@{v2}/t/t?where=v+%3E%3D+63000"),
            (f"fragments page {deep:,} of the table", f"/p/bench/million/@{v2}/t/t?fpage={deep}"),
            ("one fragment's rows", f"/p/bench/million/@{v2}/t/t/fragment?key={key}"),
            ("history", "/p/bench/million/-/history"),
            ("compare (1% of fragments changed)", f"/p/bench/million/-/compare?a={v1}&b={v2}"),
        ])
        show_wall, show_inproc = show_times(big_loc, f"bench/million@{v2}")
        names = many.list_packages()
        mid = names[len(names) // 2]
        t = time.perf_counter()
        many.list_packages()
        list_s = time.perf_counter() - t
        pb_rows, index_s = measure(many_loc, [
            ("packages list, first page", "/"),
            ("packages list, page 100", "/?page=100"),
            ("version page", f"/p/{mid}/@{many.resolve(mid).top_hash}"),
            ("search 'gold' (metadata)", "/?q=gold"),
        ])

        print(f"A. one version of {n:,} fragments (built in {build_big_s:.1f} s)")
        w = 44
        print(f"{'page'.ljust(w)}  {'cold ms':>9}  {'warm ms':>9}  status")
        for label, cold, warm, status in pa_rows:
            print(f"{label.ljust(w)}  {cold:9.1f}  {warm:9.1f}  {status}")
        print(f"{'`lakepkg show --json` (process, wall)'.ljust(w)}  {show_wall:9.1f}")
        print(f"{'the same reads in-process'.ljust(w)}  {show_inproc:9.1f}")
        vp = pa_rows[0]
        tp = pa_rows[1]
        print(f"version page cold / lakepkg show (process): {vp[1] / show_wall:.2f}x; goal < 300 ms: "
              f"{'met' if vp[1] < 300 else 'NOT met'} ({vp[1]:.0f} ms); table preview goal < 1 s: "
              f"{'met' if tp[1] < 1000 else 'NOT met'} ({tp[1]:.0f} ms)")
        print()
        print(f"B. a registry of {len(names):,} packages (built in {build_many_s:.1f} s)")
        for label, cold, warm, status in pb_rows:
            print(f"{label.ljust(w)}  {cold:9.1f}  {warm:9.1f}  {status}")
        print(f"{'Registry.list_packages() (the listing itself)'.ljust(w)}  {list_s * 1000:9.1f}")
        print(f"{'listing + search + lineage indexes (background)'.ljust(w)}  {index_s * 1000:9.1f}")
        print(json.dumps({"fragments": n, "packages": len(names),
                          "pages": {f"{part}: {r[0]}": {"cold_ms": round(r[1], 1), "warm_ms": round(r[2], 1), "status": r[3]}
                                    for part, rows in (("A", pa_rows), ("B", pb_rows)) for r in rows},
                          "show_process_ms": round(show_wall, 1), "show_inprocess_ms": round(show_inproc, 1),
                          "indexes_s": round(index_s, 2), "list_packages_s": round(list_s, 2)}))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
