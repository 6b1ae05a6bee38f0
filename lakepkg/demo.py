"""The README demo: what lakepkg is for, on embedded sources only (no server to start).

1. make a SQLite database (customers) and an Iceberg table in a SQLite-backed pyiceberg catalog (orders);
2. snapshot both into ONE version of ``demo/shop`` (the SQL and Iceberg connectors);
3. run a query on that version with ``lakepkg query``;
4. change the sources (new orders, a customer moves region) and snapshot again;
5. diff the two versions;
6. run the first query on the first version again: the first answer comes back, whatever the sources did.
"""
from __future__ import annotations

import datetime as dt
import decimal
import os
import shutil
import sqlite3
import subprocess
import sys
from typing import Any

import numpy as np
import pyarrow as pa

QUERY = ("SELECT c.region, count(*) AS orders, sum(o.amount) AS revenue\n"
         "FROM sales.orders o JOIN customers c ON c.id = o.customer_id\n"
         "WHERE o.ds >= DATE '2026-11-02'\n"
         "GROUP BY c.region ORDER BY revenue DESC")
REGIONS = ["north", "south", "east", "west"]


def _orders(n: int, day: dt.date, seed: int, first_id: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    cents = rng.integers(500, 50_000, n)
    return pa.table({
        "order_id": pa.array(np.arange(first_id, first_id + n), pa.int64()),
        "customer_id": pa.array(rng.integers(1, 201, n), pa.int64()),
        "amount": pa.array([decimal.Decimal(int(c)) / 100 for c in cents], pa.decimal128(10, 2)),
        "ds": pa.array([day] * n, pa.date32()),
    })


def _make_sources(base: str) -> tuple[str, dict[str, str], Any]:
    """The SQLite database and the Iceberg table, fresh; (sqlite URL, catalog properties, table)."""
    try:
        from pyiceberg.catalog.sql import SqlCatalog
        import sqlalchemy  # noqa: F401
    except ImportError:
        from lakepkg.errors import ConfigError

        raise ConfigError("the demo needs the SQL and Iceberg connectors; pip install lakepkg (sqlalchemy, pyiceberg)") from None
    if os.path.isdir(base):
        shutil.rmtree(base)  # a re-run tells the same story from the same first state
    os.makedirs(os.path.join(base, "warehouse"))
    db = os.path.join(base, "shop.db")
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL)")
        c.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                      [(i, f"customer {i:03d}", REGIONS[i % 4]) for i in range(1, 201)])
    props = {"uri": f"sqlite:///{base}/catalog.db", "warehouse": f"file://{base}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    first = _orders(4000, dt.date(2026, 11, 1), 1, 1)
    table = cat.create_table("sales.orders", schema=first.schema)
    table.append(first)
    table.append(_orders(4000, dt.date(2026, 11, 2), 2, 4001))
    table.append(_orders(4000, dt.date(2026, 11, 3), 3, 8001))
    return f"sqlite:///{db}", props, table


def snapshot_sources(registry: Any, name: str, sources: list[tuple[str, dict[str, Any]]], message: str) -> Any:
    """Snapshot several sources into one version: ``lakepkg.snapshot(sources, to=name)``."""
    from lakepkg.api import snapshot

    return snapshot(sources, to=name, registry=registry, message=message)


def _cli_query(ref: str, registry: str) -> list[dict[str, Any]]:
    """``lakepkg query`` as a user types it (a new process, the embedded engine), JSON answer."""
    import json

    cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "query", QUERY, "--package", ref, "--dialect", "trino",
           "--registry", registry, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        from lakepkg.errors import LakepkgError

        raise LakepkgError(p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "lakepkg query failed")
    return json.loads(p.stdout)


def run_demo(folder: str = ".lakepkg-demo", echo: bool = True) -> dict[str, Any]:
    from lakepkg.config import registry_location
    from lakepkg.query import query
    from lakepkg.read.package import Package, diff_packages, load
    from lakepkg.registry import open_registry

    say = print if echo else (lambda *a, **k: None)
    base = os.path.join(os.path.abspath(folder), "sources")
    url, props, orders = _make_sources(base)
    reg = open_registry()
    location = str(registry_location())
    sources = [("sql", {"url": url, "tables": {"customers": "customers"}}),
               ("iceberg", {"catalog": props, "catalog_name": "lake", "tables": ["sales.orders"]})]
    say(f"registry: {location}")
    say(f"1. sources: SQLite {base}/shop.db (customers: 200 rows), Iceberg lake.sales.orders (12,000 rows)")

    v1 = snapshot_sources(reg, "demo/shop", sources, "first snapshot")
    ref1 = f"demo/shop@{v1.top_hash[:10]}"
    p1 = load(ref1, reg, kind=Package)
    say(f"2. snapshot both into one version: {ref1} — tables " +
        ", ".join(f"{t} ({p1.table(t).rows:,} rows)" for t in p1.tables))

    def show(rows: list[dict[str, Any]]) -> str:
        return "; ".join(f"{r['region']} {r['orders']} orders {r['revenue']}" for r in rows)

    first = [{k: (str(v) if isinstance(v, decimal.Decimal) else v) for k, v in r.items()}
             for r in query(QUERY, ref1, registry=reg, dialect="trino").to_pylist()]
    say(f"3. the query (one dialect per query: the version mixes SQLite and Iceberg tables, so --dialect trino):")
    say("   " + QUERY.replace("\n", "\n   "))
    say(f"   on {ref1}: {show(first)}")

    with sqlite3.connect(url[len("sqlite:///"):]) as c:  # the sources move on
        c.execute("UPDATE customers SET region = 'north' WHERE region = 'south' AND id % 3 = 0")
    orders.append(_orders(3000, dt.date(2026, 11, 4), 4, 12001))
    v2 = snapshot_sources(reg, "demo/shop", sources, "new orders of 2026-11-04; customers moved")
    ref2 = f"demo/shop@{v2.top_hash[:10]}"
    second = [{k: (str(v) if isinstance(v, decimal.Decimal) else v) for k, v in r.items()}
              for r in query(QUERY, ref2, registry=reg, dialect="trino").to_pylist()]
    say(f"4. changed the sources (3,000 new orders, customers moved region), snapshot again: {ref2}")
    say(f"   the same query on {ref2}: {show(second)}")

    d = diff_packages(p1, load(ref2, reg, kind=Package))
    parts = [f"{t.name} {t.status}: fragments +{len(t.fragments_added)} -{len(t.fragments_removed)} "
             f"~{len(t.fragments_changed)}, {t.pages_skipped} page(s) skipped by hash" for t in d.tables]
    say(f"5. diff {ref1} -> {ref2}: " + ("; ".join(parts) or "no change"))
    again = _cli_query(ref1, location)
    say(f"6. lakepkg query \"...\" --package {ref1} --dialect trino")
    say(f"   {show(again)}  <- the first answer, from the first version")
    return {"v1": v1.top_hash, "v2": v2.top_hash, "diff": d.to_json(), "first": first, "second": second,
            "again": again, "query": QUERY}
