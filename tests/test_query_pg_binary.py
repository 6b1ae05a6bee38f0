"""The exact engine's binary COPY (lakepkg.query.pg_binary) against a real PostgreSQL: every value it
sends is read back by the server as the same value psycopg's own INSERT gives, and the load's
scheduler builds a table's key after its last part and before other tables' waiting parts."""
from __future__ import annotations

import datetime as dt
import decimal
import random
import threading

import pyarrow as pa
import pytest

from lakepkg.query import pg_binary
from lakepkg.query.embedded_pg import EmbeddedPostgres
from lakepkg.query.exact_pg import run_jobs

D = decimal.Decimal

COLUMNS = [  # name, Arrow type, declared PostgreSQL type
    ("i2", pa.int16(), "smallint"), ("i4", pa.int32(), "integer"), ("i8", pa.int64(), "bigint"),
    ("f4", pa.float32(), "real"), ("f8", pa.float64(), "double precision"), ("b", pa.bool_(), "boolean"),
    ("d", pa.date32(), "date"), ("ts", pa.timestamp("us"), "timestamp without time zone"),
    ("tz", pa.timestamp("ms", "UTC"), "timestamp with time zone"),
    ("tz3", pa.timestamp("us", "UTC"), "timestamp(3) with time zone"),
    ("n152", pa.decimal128(15, 2), "numeric(15,2)"), ("n151", pa.decimal128(15, 1), "numeric(15,1)"),
    ("n55", pa.decimal128(5, 5), "numeric(5,5)"), ("n180", pa.decimal128(18, 0), "numeric(18,0)"),
    ("n126", pa.decimal128(12, 6), "numeric(12,6)"), ("c4", pa.string(), "character(4)"),
    ("c1", pa.string(), 'character(1) COLLATE "C"'), ("v", pa.large_string(), "character varying(12)"),
    ("t", pa.string(), "text"), ("by", pa.binary(), "bytea"),
]
EDGES = {
    "i2": [-32768, 32767, 0], "i4": [-2**31, 2**31 - 1, 0], "i8": [-2**63, 2**63 - 1, 0],
    "f4": [float("inf"), float("-inf"), float("nan"), -0.0, 1.5], "f8": [float("nan"), 1e308, -5e-324, 0.1],
    "b": [True, False], "d": [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2000, 1, 1), dt.date(1999, 12, 31)],
    "ts": [dt.datetime(1, 1, 1), dt.datetime(2000, 1, 1), dt.datetime(1969, 12, 31, 23, 59, 59, 999999)],
    "tz": [dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2000, 1, 1, 0, 0, 0, 1000, tzinfo=dt.timezone.utc)],
    "tz3": [dt.datetime(2000, 1, 1, 0, 0, 0, 1500, tzinfo=dt.timezone.utc), dt.datetime(1999, 12, 31, 23, 59, 59, 999999,
                                                                                      tzinfo=dt.timezone.utc)],
    "n152": [D("-9999999999999.99"), D("9999999999999.99"), D("0.00"), D("-0.01"), D("10000.00")],
    "n151": [D("99999999999999.9"), D("-0.1"), D("0.0")], "n55": [D("0.99999"), D("-0.00001"), D("0.00000")],
    "n180": [D("999999999999999999"), D("-999999999999999999"), D("0"), D("10000"), D("-10000")],
    "n126": [D("999999.999999"), D("-0.000001"), D("100000.000000")],
    "c4": ["ab", "", "é日本", "abcd", "a  "], "c1": ["x", " ", "é"], "v": ["", "a\"b,c\n\\", "x" * 12, "日本語"],
    "t": ["", "tab\there", "null", "\\N", "ünï" * 100], "by": [b"", b"\x00\xff", bytes(range(256))],
}


def _random_value(rng: random.Random, name: str, t: pa.DataType):
    if rng.random() < 0.1:
        return None
    if rng.random() < 0.3:
        return rng.choice(EDGES[name])
    if pa.types.is_integer(t):
        bits = t.bit_width - 1
        return rng.randint(-2**bits, 2**bits - 1)
    if pa.types.is_floating(t):
        return rng.uniform(-1e6, 1e6) if pa.types.is_float64(t) else float(pa.scalar(rng.uniform(-1e3, 1e3), t).as_py())
    if pa.types.is_boolean(t):
        return rng.random() < 0.5
    if pa.types.is_date(t):
        return dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3_652_058))
    if pa.types.is_timestamp(t):
        v = dt.datetime(1900, 1, 1) + dt.timedelta(microseconds=rng.randint(0, 2**62 // 1000))
        return v.replace(microsecond=v.microsecond // 1000 * 1000, tzinfo=dt.timezone.utc) if t.tz else v
    if pa.types.is_decimal(t):
        digits = rng.randint(0, t.precision)
        unscaled = rng.randint(-(10 ** digits - 1), 10 ** digits - 1)
        return D(unscaled).scaleb(-t.scale)
    if pa.types.is_binary(t):
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 20)))
    width = {"c4": 4, "c1": 1, "v": 12}.get(name, 30)
    alphabet = "ab Zé日\u00a0,\"\n"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, width))).rstrip(" " if name.startswith("c") else "")


@pytest.fixture(scope="module")
def pg():
    with EmbeddedPostgres() as server:
        yield server


def _digest(conn, table: str) -> str:
    return conn.execute(f"SELECT md5(string_agg(x::text, '|' ORDER BY k)) FROM {table} AS x").fetchone()[0]


@pytest.mark.parametrize("seed", [1, 2])
def test_binary_copy_gives_what_psycopg_inserts_give(pg, seed):
    import psycopg

    rng = random.Random(seed)
    n = 1500
    data = {name: [_random_value(rng, name, t) for _ in range(n)] for name, t, _ in COLUMNS}
    table = pa.table({"k": pa.array(range(n), pa.int32()),
                      **{name: pa.array(data[name], t) for name, t, _ in COLUMNS}})
    declared = ["integer"] + [d for _, _, d in COLUMNS]
    cols = ", ".join(f"{n_} {d}" for n_, d in zip(table.column_names, declared))
    assert pg_binary.encodable_schema(table.schema, declared)
    with psycopg.connect(pg.dsn, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for name in ("want", "got_whole", "got_sliced"):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"CREATE TABLE {name} ({cols})")
        marks = ", ".join(["%s"] * table.num_columns)
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO want VALUES ({marks})", [tuple(r.values()) for r in table.to_pylist()])
        encoder = pg_binary.Encoder(table.schema, declared)
        for target, batches in (("got_whole", table.to_batches()),
                                # slices (buffers with offsets): batches of 1 and 7 rows, an empty one, the rest
                                ("got_sliced", table.slice(0, 300).to_batches(max_chunksize=1)
                                 + table.slice(300, 400).to_batches(max_chunksize=7)
                                 + [table.slice(700, 0).to_batches()[0] if table.slice(700, 0).to_batches()
                                    else pa.RecordBatch.from_pylist([], schema=table.schema)]
                                 + table.slice(700).to_batches())):
            with conn.cursor().copy(f"COPY {target} FROM STDIN (FORMAT binary)") as cp:
                cp.write(pg_binary.HEADER)
                for b in batches:
                    cp.write(encoder.rows(b))
                cp.write(pg_binary.TRAILER)
        assert conn.execute("SELECT count(*) FROM got_whole").fetchone()[0] == n
        assert _digest(conn, "got_whole") == _digest(conn, "want")
        assert _digest(conn, "got_sliced") == _digest(conn, "want")
        # padding as PostgreSQL stores it, NULL apart from the empty string
        assert conn.execute("SELECT count(*) FROM got_whole WHERE octet_length(c4::bytea) <> "
                            "octet_length(convert_to(rpad(c4, 4), 'UTF8'))").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM got_whole g JOIN want w USING (k) "
                            "WHERE (g.t IS NULL) <> (w.t IS NULL) OR (g.v IS NULL) <> (w.v IS NULL)").fetchone()[0] == 0


@pytest.mark.parametrize("arrow_type, declared", [
    (pa.decimal128(38, 2), "numeric(38,2)"),      # beyond 18 digits: CSV
    (pa.decimal128(18, 1), "numeric(18,1)"),      # 18 digits and a 3-digit pad
    (pa.timestamp("ns"), "timestamp"),            # nanoseconds PostgreSQL would round
    (pa.timestamp("us"), "timestamp with time zone"),  # a zone the column does not hold
    (pa.int32(), "bigint"),                       # another width than declared
    (pa.string(), "json"), (pa.string(), "uuid"), (pa.int64(), "numeric(20,0)"),
    (pa.float64(), "real"), (pa.binary(), "text"),
])
def test_types_without_an_exact_binary_form_are_not_encoded(arrow_type, declared):
    assert not pg_binary.encodable(arrow_type, declared)
    with pytest.raises(ValueError, match="no binary form"):
        pg_binary.Encoder(pa.schema([("x", arrow_type)]), [declared])


def test_a_tables_key_is_built_after_its_parts_and_before_other_tables_waiting_parts():
    class T:  # a table stand-in: run_jobs only needs an identity
        def __init__(self, name: str) -> None:
            self.name = name

    a, b = T("a"), T("b")
    calls: list[str] = []
    lock = threading.Lock()

    def ingest(job):
        with lock:
            calls.append(f"{job[0].name}{job[2]}")
        return 10

    def finish(t, cols):
        with lock:
            calls.append(f"finish {t.name}")

    jobs = [(1, (a, ["x"], 1)), (1, (a, ["x"], 2)), (1, (b, ["x"], 1)), (1, (b, ["x"], 2))]
    assert run_jobs(1, jobs, ingest, finish) == 40
    assert calls == ["a1", "a2", "finish a", "b1", "b2", "finish b"]
    calls.clear()
    assert run_jobs(2, jobs, ingest, finish) == 40
    assert calls.index("finish a") > max(calls.index("a1"), calls.index("a2"))
    assert calls.index("finish b") > max(calls.index("b1"), calls.index("b2"))


def test_a_failed_part_is_raised_and_no_thread_is_left():
    before = threading.active_count()

    def ingest(job):
        if job[2] == 2:
            raise RuntimeError("part 2 broke")
        return 1

    t = object()
    with pytest.raises(RuntimeError, match="part 2 broke"):
        run_jobs(2, [(1, (t, [], i)) for i in range(6)], ingest, lambda *_: None)
    assert threading.active_count() == before
