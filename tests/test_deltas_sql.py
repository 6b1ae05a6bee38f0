"""Delta re-snapshots of keyed SQL tables (deletion vectors), on a real PostgreSQL and MariaDB.

Data: generated rows shaped like the flights table of the nycflights13 data set (flight id, carrier,
origin, dest, dep delay, air time, a timestamp); a day of changes is appends + updates scattered
over all keys + a few deletes, as in issue 12.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakepkg.errors import IntegrityError, LakepkgError, SourceError
from lakepkg.read.package import Package
from lakepkg.read.scan import read_task
from lakepkg.write.chunking import ChunkingParams
from lakepkg_connectors.sql import snapshot_sql
from tests.deltas_reference import assert_same_rows_as_deltas_off
from tests.fixtures.databases import mysql_exec, pg_exec

SMALL = ChunkingParams(mask_bits=7, min_rows=64, max_rows=1024)
N = 6000
FLIGHTS = ("CREATE TABLE flights (id bigint PRIMARY KEY, carrier varchar(2), origin varchar(3), dest varchar(3), "
           "dep_delay double precision, air_time integer, sched timestamp)")


def _pg_load(url: str, n: int = N) -> None:
    pg_exec(url, FLIGHTS,
            f"INSERT INTO flights SELECT g, (ARRAY['UA','AA','B6','DL','EV'])[1 + g % 5], "
            f"(ARRAY['JFK','LGA','EWR'])[1 + g % 3], 'D' || lpad((g % 97)::text, 2, '0'), (g % 61) - 10.5, "
            f"CASE WHEN g % 17 = 0 THEN NULL ELSE 30 + g % 300 END, timestamp '2013-01-01' + g * interval '7 minutes' "
            f"FROM generate_series(1, {n}) g")


def _pg_day(url: str, day: int, n: int) -> None:
    """1% appends, 0.5% updates spread over every key, ~0.06% deletes."""
    pg_exec(url,
            f"INSERT INTO flights SELECT g, 'XX', 'JFK', 'NEW', {day}, 100, timestamp '2014-01-01' + g * interval '1 minute' "
            f"FROM generate_series({n + 1}, {n + n // 100}) g",
            f"UPDATE flights SET dep_delay = dep_delay + {day} WHERE (id * 7919 + {day}) % 200 = 0",
            f"DELETE FROM flights WHERE (id * 104729 + {day}) % 1700 = 0")


def _source(url: str) -> pa.Table:
    rows = pg_exec(url, "SELECT id, carrier, origin, dest, dep_delay, air_time, sched FROM flights ORDER BY id")
    return pa.Table.from_pylist([dict(zip(["id", "carrier", "origin", "dest", "dep_delay", "air_time", "sched"], r))
                                 for r in rows])


def _snap(url: str, registry, **kw):
    """Snapshot the flights table; a delta re-snapshot is checked against the same source state
    snapshotted with deltas off (the same rows, bit for bit)."""
    res = snapshot_sql(url, "air/flights", tables={"flights": "public.flights"}, chunking=SMALL, registry=registry, **kw)
    assert_same_rows_as_deltas_off(res, registry, lambda reg: snapshot_sql(
        url, "air/flights", tables={"flights": "public.flights"}, chunking=SMALL, registry=reg, **kw))
    return res


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by("id")


def _stored(registry) -> int:
    return sum(o.size for o in registry.store.iter_objects())


def test_scattered_day_keeps_fragments_and_stores_about_the_change(pg_url, registry):
    _pg_load(pg_url)
    first = _snap(pg_url, registry)
    full = _stored(registry)
    old = {e["object"] for e in Package(registry, first.record.top_hash)["flights"].iter_entries()}
    assert len(old) > 20
    _pg_day(pg_url, 1, N)
    before = _stored(registry)
    second = _snap(pg_url, registry)
    assert second.created
    growth = _stored(registry) - before
    t = Package(registry, second.record.top_hash)["flights"]
    entries = list(t.iter_entries())
    with_vectors = [e for e in entries if e.get("deletes")]
    # every old fragment is still there (updates touched most of them), holding vectors instead
    assert len(with_vectors) >= len(old) // 2
    assert {e["object"] for e in with_vectors} <= old  # a vector is only ever on a kept fragment
    assert len(old - {e["object"] for e in entries}) <= 1
    assert growth < 0.25 * full, (growth, full)  # a full rewrite would cost ~100%
    # and every reader returns exactly the source's rows
    want = _source(pg_url)
    got = _sorted(t.to_arrow())
    assert got.num_rows == want.num_rows == t.rows
    for c in want.column_names:
        assert got.column(c).to_pylist() == want.column(c).to_pylist(), c
    assert _sorted(pa.Table.from_pandas(t.to_pandas(), preserve_index=False)).column("id").to_pylist() == want.column("id").to_pylist()
    # pruning with a filter still drops deleted rows (a vector applies before the row filter)
    gone = pg_exec(pg_url, "SELECT count(*) FROM flights WHERE id <= 100")[0][0]
    assert t.to_arrow(filters=[("id", "<=", 100)]).num_rows == gone
    ds_rows = t.to_arrow_dataset(filters=[("id", ">", 3000)]).to_table(filter=pc.field("id") > 3000).num_rows
    assert ds_rows == pg_exec(pg_url, "SELECT count(*) FROM flights WHERE id > 3000")[0][0]
    # a leaf read alone applies its own vector
    f = next(fr for fr in t.fragments() if fr.entry.deletes)
    assert len(f.to_pandas()) == f.rows < f.rows + f.entry.deletes["count"]
    # the rows digest is recorded and equals one computed by reading
    rec_digest = second.record.sources["flights"]["volatile"]["rows_digest"]
    assert rec_digest.startswith(f"rows-v2:{want.num_rows}:")
    assert t.rows_digest() == rec_digest
    from lakepkg.read.row_diff import compute_rows_digest

    assert compute_rows_digest(t) == rec_digest


def test_retry_and_determinism(pg_url, registry, tmp_path):
    from lakepkg.registry import open_registry

    _pg_load(pg_url, 3000)
    first = _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    second = _snap(pg_url, registry)
    objects = {o.digest if hasattr(o, "digest") else o[0] for o in registry.store.iter_objects()}
    again = _snap(pg_url, registry)  # a retried task: nothing new
    assert again.record.top_hash == second.record.top_hash and not again.created
    assert {o.digest if hasattr(o, "digest") else o[0] for o in registry.store.iter_objects()} == objects
    # same previous version + same source state in another registry -> same top hash
    other = open_registry(str(tmp_path / "other"))
    from lakepkg.maintain.transfer import copy_version

    copy_version(registry, other, f"air/flights@{first.record.top_hash}")
    third = _snap(pg_url, other)
    assert third.record.top_hash == second.record.top_hash


def test_delta_off_for_unkeyed_query_and_changed_schema(pg_url, registry, caplog):
    _pg_load(pg_url, 2000)
    q = snapshot_sql(pg_url, "air/q", queries={"q": "SELECT id, dest FROM flights"}, chunking=SMALL, registry=registry)
    assert q.tables["q"]["keyed"] is False and "row-level dedup and diff --rows need a key" in q.tables["q"]["note"]
    _pg_day(pg_url, 1, 2000)
    q2 = snapshot_sql(pg_url, "air/q", queries={"q": "SELECT id, dest FROM flights"}, chunking=SMALL, registry=registry)
    assert not any(e.get("deletes") for e in Package(registry, q2.record.top_hash)["q"].iter_entries())
    _snap(pg_url, registry)
    pg_exec(pg_url, "ALTER TABLE flights ADD COLUMN tail text DEFAULT 'N1'")
    r = _snap(pg_url, registry)  # another schema: whole, no vectors
    t = Package(registry, r.record.top_hash)["flights"]
    assert not t.has_deletes() and t.to_arrow().num_rows == t.rows


def test_non_unique_key_publishes_nothing(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE v (id int, x int)", "INSERT INTO v VALUES (1, 1), (2, 2), (2, 3), (4, 4)")
    with pytest.raises(SourceError, match=r"not unique \(id=2 appears more than once\)"):
        snapshot_sql(pg_url, "air/v", queries={"v": "SELECT * FROM v"}, key={"v": ["id"]}, registry=registry)
    assert registry.list_packages() == []


def test_missing_or_corrupt_vector_fails_loudly_and_verify_names_it(pg_url, registry):
    import os

    from lakepkg.maintain.verify import verify_registry

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    t = Package(registry, rec.top_hash)["flights"]
    e = next(d for d in t.iter_entries() if d.get("deletes"))
    vec = e["deletes"]["object"]
    assert vec in set(registry.objects_of(rec.top_hash))  # what publish confirms durable, push sends
    path = registry.store.local_path(vec)
    data = open(path, "rb").read()
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(IntegrityError, match=rf"deletion vector {vec[:12]} of fragment flights/{e['key']}"):
        Package(registry, rec.top_hash)["flights"].to_arrow()
    rep = verify_registry(registry)
    assert not rep.ok and vec in rep.corrupt
    assert any(f"deletion vector of fragment flights/{e['key']}" in u for u in rep.corrupt[vec])
    os.unlink(path)
    with pytest.raises(LakepkgError, match=rf"deletion vector {vec[:12]} of fragment flights/{e['key']} is missing"):
        Package(registry, rec.top_hash)["flights"].to_arrow()
    assert vec in verify_registry(registry).missing


def test_gc_keeps_vectors_and_install_dest_writes_live_rows(pg_url, registry, tmp_path):
    import pyarrow.parquet as pq

    from lakepkg.maintain.gc import collect_garbage as gc
    from lakepkg.maintain.transfer import install

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    gc(registry, grace_seconds=0)
    t = Package(registry, rec.top_hash)["flights"]
    assert t.to_arrow().num_rows == pg_exec(pg_url, "SELECT count(*) FROM flights")[0][0]
    dest = tmp_path / "plain"
    install(f"air/flights@{rec.top_hash}", registry=registry, dest=str(dest))
    got = pq.read_table(str(dest / "flights"))
    assert sorted(got.column("id").to_pylist()) == [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]


def test_mariadb_scattered_day(mysql_url, registry):
    mysql_exec(mysql_url, "SET SESSION max_recursive_iterations = 100000",
               "CREATE TABLE f (id int PRIMARY KEY, dest varchar(3), delay double)",
               "INSERT INTO f WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 4000) "
               "SELECT g, CONCAT('D', g % 50), g % 70 - 9.5 FROM s")
    kw = dict(tables={"f": "f"}, chunking=SMALL, registry=registry)
    first = snapshot_sql(mysql_url, "air/f", **kw)
    old = {e["object"] for e in Package(registry, first.record.top_hash)["f"].iter_entries()}
    mysql_exec(mysql_url, "UPDATE f SET delay = -delay WHERE id % 150 = 0", "DELETE FROM f WHERE id % 997 = 0",
               "INSERT INTO f VALUES (4001, 'NEW', 1), (4002, 'NEW', 2)")
    second = snapshot_sql(mysql_url, "air/f", **kw)
    assert_same_rows_as_deltas_off(second, registry, lambda reg: snapshot_sql(mysql_url, "air/f", **{**kw, "registry": reg}))
    t = Package(registry, second.record.top_hash)["f"]
    new = {e["object"] for e in t.iter_entries()}
    assert len(new - old) <= 2 and len(old - new) <= 1
    got = t.to_arrow().sort_by("id")
    want = mysql_exec(mysql_url, "SELECT id, dest, delay FROM f ORDER BY id")
    assert got.num_rows == len(want)
    assert list(zip(*[got.column(c).to_pylist() for c in ("id", "dest", "delay")])) == [tuple(r) for r in want]


def test_scan_plan_applies_vectors_and_refuses_raw_paths(pg_url, registry):
    from lakepkg.errors import ConfigError
    from lakepkg.read.scan import ScanPlan

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    t = Package(registry, rec.top_hash)["flights"]
    want = sorted(r[0] for r in pg_exec(pg_url, "SELECT id FROM flights WHERE id < 1500"))
    plan = t.scan(filters=[("id", "<", 1500)], columns=["id", "dest"])
    assert any(task.deletes for task in plan.tasks)
    assert sorted(plan.to_arrow().column("id").to_pylist()) == want
    assert sorted(i for b in plan.to_batches(batch_size=100) for i in b.column(0).to_pylist()) == want
    shipped = ScanPlan.from_json(plan.to_json_text())
    assert sorted(shipped.to_arrow().column("id").to_pylist()) == want
    live = {r[0] for r in pg_exec(pg_url, "SELECT id FROM flights")}
    assert set(t.head(500).column("id").to_pylist()) <= live
    with pytest.raises(ConfigError, match="has deletion vectors"):
        plan.local_paths()
    # one pyarrow scan applies the vectors: rows come in task order, equal to each leaf read in turn,
    # also when the filter's column is not read back and a fragment spans several batches
    only = t.scan(filters=[("id", "<", 1500)], columns=["dest"])
    by_leaf = pa.concat_tables([read_task(t.scan(columns=["id", "dest"]), task) for task in only.tasks])
    by_leaf = by_leaf.filter(pc.field("id") < 1500).select(["dest"])
    assert only.to_arrow().equals(by_leaf)
    assert pa.Table.from_batches(list(only.to_batches(batch_size=37))).equals(by_leaf)
    whole = t.scan()
    assert whole.to_arrow().equals(pa.concat_tables([read_task(whole, task) for task in whole.tasks]))


def test_a_vector_on_the_wrong_file_fails_loudly(pg_url, registry):
    from lakepkg.read.scan import FragmentTask

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    t = Package(registry, _snap(pg_url, registry).record.top_hash)["flights"]
    plan = t.scan()
    vec = next(task for task in plan.tasks if task.deletes)
    other = next(task for task in plan.tasks if task.object != vec.object and task.size != vec.size)
    # the vector's counts fit its entry, but the file under it has other rows
    wrong = plan.with_tasks([FragmentTask({**vec.entry, "object": other.object})])
    with pytest.raises(IntegrityError, match=r"(does not line up|is for \d+ rows but the file gave)"):
        wrong.to_arrow()
    with pytest.raises(IntegrityError):
        list(wrong.to_batches())


def test_query_engine_answers_from_live_rows(pg_url, registry):
    from lakepkg.query import query

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    sql = "SELECT count(*) AS n, sum(dep_delay) AS d FROM public.flights WHERE id < 2000"
    want = pg_exec(pg_url, sql)[0]
    got = query(sql, package=f"air/flights@{rec.top_hash}", registry=registry).to_pylist()[0]
    assert got["n"] == want[0] and abs(got["d"] - want[1]) < 1e-6


def test_push_to_s3_carries_vectors_and_a_delta_builds_on_the_s3_registry(pg_url, registry, s3_bucket_url, s3_endpoint):
    from lakepkg.maintain.transfer import push
    from lakepkg.registry import open_registry

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    rec = _snap(pg_url, registry).record
    rep = push(f"air/flights@{rec.top_hash}", to=s3_bucket_url, registry=registry)
    assert rep.objects_total > 0
    remote = open_registry(s3_bucket_url)
    t = Package(remote, rec.top_hash)["flights"]
    assert t.has_deletes()
    ids = [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]
    assert sorted(t.to_arrow().column("id").to_pylist()) == ids
    _pg_day(pg_url, 2, 3030)  # the next day's delta straight into the S3 registry
    nxt = _snap(pg_url, remote)
    assert nxt.created and nxt.record.sources["flights"]["volatile"]["delta"]["base_fragments"] > 0
    got = Package(remote, nxt.record.top_hash)["flights"].to_arrow().sort_by("id")
    assert got.column("id").to_pylist() == [r[0] for r in pg_exec(pg_url, "SELECT id FROM flights ORDER BY id")]


def test_row_hash_cache_is_used_and_damage_is_recomputed_never_trusted(pg_url, registry, home, tmp_path, monkeypatch):
    """Cache files are checked (identity, object, row count, checksum) before use: damaged ones are
    recomputed from the fragments, so they cost neither rows nor space (the rows-v1 cache trusted a
    right-shaped file and stored the damaged fragments' rows again)."""
    import glob

    from lakepkg.write.row_hash_cache import read_file

    monkeypatch.setenv("LAKEPKG_CACHE_DIR", str(tmp_path / "own-cache"))  # damage this test's cache only

    _pg_load(pg_url, 3000)
    _snap(pg_url, registry)
    _pg_day(pg_url, 1, 3000)
    _snap(pg_url, registry)                     # the first delta hashes yesterday's fragments, keeps them
    from lakepkg.write.deletion_vectors import _HashCache

    root = _HashCache().root                    # $LAKEPKG_CACHE_DIR (or $LAKEPKG_HOME/cache)/row-hashes
    objects = {e["object"] for e in Package(registry, registry.resolve("air/flights").top_hash)["flights"].iter_entries()}
    files = [f for f in glob.glob(f"{root}/*/*.rh") if read_file(f).object in objects]
    assert len(files) >= 10
    rng = np.random.default_rng(1)
    for f in files:                             # damage every cached hash (right length, wrong values)
        data = bytearray(open(f, "rb").read())
        data[72:-32] = rng.integers(0, 256, size=len(data) - 104, dtype=np.uint8).tobytes()
        open(f, "wb").write(bytes(data))
    _pg_day(pg_url, 2, 3030)
    r = _snap(pg_url, registry)
    got = Package(registry, r.record.top_hash)["flights"].to_arrow().sort_by("id")
    want = _source(pg_url)
    assert got.column("id").to_pylist() == want.column("id").to_pylist()
    assert got.column("dep_delay").to_pylist() == want.column("dep_delay").to_pylist()
    delta = r.record.sources["flights"]["volatile"]["delta"]
    assert delta["row_hash_cache_rejected"] >= len(files) // 2   # the damage was seen...
    assert delta["changed_rows"] < 200                           # ...and cost no space: recomputed
