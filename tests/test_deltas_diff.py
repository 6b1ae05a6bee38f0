"""Row-level diff, rows digest and compaction of delta snapshots (real PostgreSQL, generated
flights-like rows; see tests/test_deltas_sql.py)."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lakepkg.read.package import Package
from lakepkg.write.deletion_vectors import CompactionPolicy
from lakepkg_connectors.sql import snapshot_sql
from tests.fixtures.databases import pg_exec
from tests.test_deltas_sql import SMALL, _pg_load, _snap
from tests.cli_run import run_cli as _cli


def _rows(url):
    return {r[0]: r[1:] for r in pg_exec(url, "SELECT id, carrier, dep_delay, air_time FROM flights")}


def test_row_diff_names_added_removed_changed(pg_url, registry):
    _pg_load(pg_url, 4000)
    a = _snap(pg_url, registry).record
    before = _rows(pg_url)
    pg_exec(pg_url, "INSERT INTO flights SELECT g, 'XX', 'JFK', 'NEW', 1, 100, now() FROM generate_series(4001, 4040) g",
            "UPDATE flights SET dep_delay = dep_delay + 1 WHERE id % 97 = 0",
            "UPDATE flights SET carrier = 'ZZ', air_time = 1 WHERE id % 1001 = 0",
            "DELETE FROM flights WHERE id % 613 = 0")
    b = _snap(pg_url, registry).record
    after = _rows(pg_url)
    d = Package(registry, a.top_hash).diff(Package(registry, b.top_hash), rows=True)
    t = d.tables["flights"]
    assert t.key == ["id"]
    assert sorted(t.added.column("id").to_pylist()) == sorted(set(after) - set(before))
    assert sorted(t.removed.column("id").to_pylist()) == sorted(set(before) - set(after))
    want_changed = {k: [c for c, x, y in zip(("carrier", "dep_delay", "air_time"), before[k], after[k]) if x != y]
                    for k in set(before) & set(after) if before[k] != after[k]}
    got = dict(zip(t.changed.column("id").to_pylist(), t.changed.column("changed_columns").to_pylist()))
    assert got == want_changed
    row = t.changed.filter(pa.compute.equal(t.changed.column("id"), 1001)).to_pylist()[0]
    assert row["old:carrier"] == before[1001][0] and row["new:carrier"] == "ZZ"
    assert t.fragments_skipped >= 0 and t.fragments_read >= 1
    assert "40 added" in d.summary() and f"{len(want_changed)} changed" in d.summary()
    # identical versions: nothing read
    same = Package(registry, b.top_hash).diff(Package(registry, b.top_hash), rows=True)
    assert same.summary() == "identical rows" and same.tables["flights"].fragments_read == 0


def test_compact_same_rows_different_layout(pg_url, home, registry):
    _pg_load(pg_url, 4000)
    _snap(pg_url, registry)
    pg_exec(pg_url, "UPDATE flights SET dep_delay = -1 WHERE id % 50 = 0", "DELETE FROM flights WHERE id % 333 = 0")
    b = _snap(pg_url, registry).record
    assert Package(registry, b.top_hash)["flights"].has_deletes()
    p = _cli(["compact", "air/flights", "--json"], home)
    out = json.loads(p.stdout)
    assert out["created"] and out["tables"]["flights"]["fragments_rewritten"] >= 1
    c = registry.resolve("air/flights")
    t = Package(registry, c.top_hash, c)["flights"]
    assert not t.has_deletes()
    assert sorted(t.to_arrow().column("id").to_pylist()) == [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]
    from lakepkg.read.row_diff import compute_rows_digest

    assert compute_rows_digest(t) == t.rows_digest() == b.sources["flights"]["volatile"]["rows_digest"]
    # compacting again: nothing to do, nothing published
    again = _cli(["compact", "air/flights"], home)
    assert "unchanged" in again.stdout and len(registry.history("air/flights")) == 3
    # diff says so, both forms
    d = _cli(["diff", f"air/flights@{b.top_hash[:12]}", f"air/flights@{c.top_hash[:12]}"], home)
    assert "same rows, different layout" in d.stdout
    r = _cli(["diff", f"air/flights@{b.top_hash[:12]}", f"air/flights@{c.top_hash[:12]}", "--rows"], home)
    assert r.stdout.strip() == "flights: same rows, different layout"
    j = json.loads(_cli(["diff", f"air/flights@{b.top_hash[:12]}", f"air/flights@{c.top_hash[:12]}", "--rows", "--json"], home).stdout)
    assert j["tables"][0]["added"] == j["tables"][0]["removed"] == j["tables"][0]["changed"] == 0
    # a delta on top of the compacted version works as on any other
    pg_exec(pg_url, "UPDATE flights SET air_time = 7 WHERE id % 400 = 1")
    e = _snap(pg_url, registry).record
    rd = Package(registry, c.top_hash).diff(Package(registry, e.top_hash), rows=True).tables["flights"]
    assert rd.changed.num_rows == pg_exec(pg_url, "SELECT count(*) FROM flights WHERE id % 400 = 1")[0][0]
    assert rd.changed_columns == {"air_time": rd.changed.num_rows}


def test_automatic_compaction_past_threshold_is_deterministic(pg_url, registry, monkeypatch):
    import lakepkg.write.deletion_vectors as dv

    monkeypatch.setattr(dv, "DEFAULT_POLICY", CompactionPolicy(max_deleted_share=0.3, max_small_fragments=4))
    monkeypatch.setattr(dv.ingest_keyed_batches, "__defaults__", (None, None, dv.DEFAULT_POLICY))
    _pg_load(pg_url, 4000)
    _snap(pg_url, registry)
    pg_exec(pg_url, "DELETE FROM flights WHERE id <= 2000 AND id % 3 <> 0")  # first half loses 2/3 of its rows
    b = _snap(pg_url, registry)
    t = Package(registry, b.record.top_hash)["flights"]
    delta = b.record.sources["flights"]["volatile"]["delta"]
    assert delta["fragments_compacted"] >= 5
    for e in t.iter_entries():
        dvs = e.get("deletes")
        assert not dvs or dvs["count"] / (dvs["count"] + e["rows"]) < 0.3
    assert sorted(t.to_arrow().column("id").to_pylist()) == [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]
    again = _snap(pg_url, registry)
    assert not again.created and again.record.top_hash == b.record.top_hash


def test_row_diff_without_key_and_cli_key(pg_url, home, registry):
    pg_exec(pg_url, "CREATE TABLE k (a int, b text, v int)",
            "INSERT INTO k SELECT g % 50, 'x' || (g / 50), g FROM generate_series(1, 500) g")
    q = {"k": "SELECT a, b, v FROM k"}
    x = snapshot_sql(pg_url, "air/k", queries=q, registry=registry).record
    pg_exec(pg_url, "UPDATE k SET v = -v WHERE v % 100 = 0", "INSERT INTO k VALUES (99, 'y', 1)")
    y = snapshot_sql(pg_url, "air/k", queries=q, registry=registry).record
    d = Package(registry, x.top_hash).diff(Package(registry, y.top_hash), rows=True).tables["k"]
    assert d.key is None and d.added.num_rows == 6 and d.removed.num_rows == 5 and "no key" in d.summary()
    r = _cli(["diff", f"air/k@{x.top_hash[:12]}", f"air/k@{y.top_hash[:12]}", "--rows", "--key", "a,b"], home)
    assert r.stdout.strip().startswith("k: 1 added, 0 removed, 5 changed (v 5)")
    bad = _cli(["diff", f"air/k@{x.top_hash[:12]}", f"air/k@{y.top_hash[:12]}", "--rows", "--key", "nope"], home, check=False)
    assert bad.returncode != 0 and "key column(s) nope are not columns of table 'k'" in bad.stderr


def test_cli_snapshot_says_what_the_delta_did(pg_url, home):
    _pg_load(pg_url, 3000)
    args = ["snapshot", "sql", "--url", pg_url, "--table", "public.flights", "--to", "air/cli"]
    first = _cli(args, home)
    assert "delta:" not in first.stdout
    pg_exec(pg_url, "UPDATE flights SET air_time = 0 WHERE id % 300 = 0")
    second = _cli(args, home)
    assert "published" in second.stdout and "delta: 10 changed/new rows in 1 fragment(s)" in second.stdout
    j = json.loads(_cli(args + ["--json"], home).stdout)
    assert j["created"] is False and j["tables"]["flights"]["delta"]["changed_rows"] == 0


def test_row_diff_of_a_partitioned_lake_table_with_a_given_key(registry):
    import pandas as pd

    from lakepkg.write.build import PackageBuilder

    df = pd.DataFrame({"id": range(300), "ds": ["2026-11-0%d" % (1 + i % 3) for i in range(300)],
                       "v": [float(i) for i in range(300)]})
    b = PackageBuilder(registry)
    b.add_table("t", df, partition_cols=["ds"])
    a = b.publish("lake/t")
    df2 = df[df.id != 7].copy()
    df2.loc[df2.id == 10, "v"] = -1.0
    df2 = pd.concat([df2, pd.DataFrame({"id": [999], "ds": ["2026-11-04"], "v": [9.0]})])
    b = PackageBuilder(registry)
    b.add_table("t", df2, partition_cols=["ds"])
    c = b.publish("lake/t")
    d = Package(registry, a.top_hash).diff(Package(registry, c.top_hash), rows=True, key=["id"]).tables["t"]
    assert d.added.column("id").to_pylist() == [999] and d.added.column("ds").to_pylist() == ["2026-11-04"]
    assert d.removed.column("id").to_pylist() == [7]
    assert d.changed.column("id").to_pylist() == [10] and d.changed.column("changed_columns").to_pylist() == [["v"]]
    assert d.changed.column("old:v").to_pylist() == [10.0] and d.changed.column("new:v").to_pylist() == [-1.0]
