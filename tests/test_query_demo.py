"""The README demo runs the main job on embedded sources: a SQLite database and an Iceberg table
snapshotted into one version, a query, the sources change, a second version, a diff, and the first
answer back from the first version through `lakepkg query` — checked against the sources themselves."""
from __future__ import annotations

import decimal
import sqlite3
import time

from lakepkg.demo import QUERY, run_demo


def _answer_from_sources(base: str) -> list[dict]:
    """The query's answer computed straight from the live sources (SQLite + the Iceberg table), with
    Python, so the demo's numbers are checked against the data and not against themselves."""
    from pyiceberg.catalog.sql import SqlCatalog

    with sqlite3.connect(f"{base}/shop.db") as c:
        region = dict(c.execute("SELECT id, region FROM customers"))
    cat = SqlCatalog("lake", uri=f"sqlite:///{base}/catalog.db", warehouse=f"file://{base}/warehouse")
    orders = cat.load_table("sales.orders").scan().to_arrow().to_pylist()
    agg: dict[str, list] = {}
    for o in orders:
        if o["ds"].isoformat() >= "2026-11-02":
            a = agg.setdefault(region[o["customer_id"]], [0, decimal.Decimal(0)])
            a[0] += 1
            a[1] += o["amount"]
    rows = [{"region": r, "orders": n, "revenue": str(v)} for r, (n, v) in agg.items()]
    return sorted(rows, key=lambda r: -decimal.Decimal(r["revenue"]))


def test_demo_story(home, tmp_path):
    start = time.monotonic()
    out = run_demo(str(tmp_path / "demo"), echo=False)
    assert time.monotonic() - start < 60
    assert "sales.orders" in out["query"] and "customers" in out["query"]
    live_now = _answer_from_sources(str(tmp_path / "demo" / "sources"))
    assert out["second"] == live_now                  # the second version answers as the sources do now
    assert out["first"] != out["second"]              # the sources changed the answer...
    assert out["again"] == out["first"]               # ...the first version did not (`lakepkg query`)
    changed = {t["name"]: t for t in out["diff"]["tables"]}
    assert set(changed) == {"customers", "orders"} and all(t["status"] == "changed" for t in changed.values())
    assert out["v1"] != out["v2"]
