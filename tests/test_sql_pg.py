"""SQL connector against the real PostgreSQL server: types, dedup, consistency, bad input, CLI."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import uuid

import pyarrow as pa
import pytest

from lakepkg.write.chunking import ChunkingParams
from lakepkg.errors import ConfigError, LakepkgError, SourceError
from lakepkg.read.package import Package
from lakepkg.write.snapshotting import snapshot
from lakepkg_connectors.sql import connector, snapshot_sql
from lakepkg_connectors.sql_types import INTERVAL
from tests.fixtures.databases import pg_exec

SMALL = ChunkingParams(mask_bits=7, min_rows=32, max_rows=1024)

TYPES_DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE everything (
  id int PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, n numeric(12,3), nbig numeric(50,10), nfree numeric,
  f4 real, f8 double precision, b boolean, tx text, vc varchar(10), ch char(4), by bytea, d date, t time,
  ts timestamp, tstz timestamptz, iv interval, u uuid, j json, jb jsonb, m mood, ai int[], at text[], ats timestamptz[],
  au uuid[]);
INSERT INTO everything VALUES
 (1, -32768, -2147483648, -9223372036854775808, -123456789.123, 12345678901234567890123456789012345678.0123456789,
  1.000000000000000000000001, -1.5, 1e300, true, 'héllo ✓', 'v', 'ab', '\\x00ff10', '2024-02-29', '23:59:59.999999',
  '1999-12-31 23:59:59.999999', '2024-06-01 12:00:00+02', '1 year 2 mons 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2], "a": null}', '{"b": 1, "a": 2}', 'happy', '{1,NULL,3}',
  '{x,NULL,"y z"}', '{"2024-01-01 00:00:00+05"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'),
 (2, 32767, 2147483647, 9223372036854775807, 0.001, 0, 'NaN', 'Infinity', '-Infinity', false, '', '', '', '', '0001-01-01',
  '00:00:00', '0001-01-01 00:00:00', '1970-01-01 00:00:00+00', '-1 mon -2 days -00:00:01.5', '00000000-0000-0000-0000-000000000000',
  '[]', 'null', 'sad', '{}', '{}', '{}', '{}');
INSERT INTO everything (id) VALUES (3);
"""


def _table(registry, ref_hash: str, name: str) -> pa.Table:
    return Package(registry, ref_hash)[name].to_arrow()


@pytest.mark.parametrize("method", ["dbapi", "adbc"])
def test_pg_type_fidelity(pg_url, registry, method):
    pg_exec(pg_url, TYPES_DDL)
    res = snapshot_sql(pg_url, "t/types", tables={"everything": "public.everything"}, method=method, registry=registry)
    assert res.created and res.tables["everything"]["rows"] == 3 and res.tables["everything"]["method"] == method
    t = _table(registry, res.record.top_hash, "everything")
    s = t.schema
    want = {"i2": pa.int16(), "i4": pa.int32(), "i8": pa.int64(), "n": pa.decimal128(12, 3), "nbig": pa.decimal256(50, 10),
            "nfree": pa.string(), "f4": pa.float32(), "f8": pa.float64(), "b": pa.bool_(), "tx": pa.string(),
            "by": pa.binary(), "d": pa.date32(), "t": pa.time64("us"), "ts": pa.timestamp("us"),
            "tstz": pa.timestamp("us", tz="UTC"), "iv": INTERVAL, "u": pa.string(),
            "j": pa.string(), "jb": pa.string(), "m": pa.string(), "ai": pa.list_(pa.int32()),
            "at": pa.list_(pa.string()), "ats": pa.list_(pa.timestamp("us", tz="UTC")), "au": pa.list_(pa.string())}
    for col, typ in want.items():
        assert s.field(col).type == typ, col
    assert s.field("jb").metadata[b"sql_type"] == b"jsonb" and s.field("m").metadata[b"sql_type"] == b"enum mood"
    assert s.field("tstz").metadata[b"tz"] == b"UTC"
    rows = {r["id"]: r for r in t.to_pylist()}
    r1, r2, r3 = rows[1], rows[2], rows[3]
    assert (r1["i2"], r1["i4"], r1["i8"]) == (-32768, -2**31, -2**63) and r2["i8"] == 2**63 - 1
    assert r1["n"] == decimal.Decimal("-123456789.123") and r1["nbig"] == decimal.Decimal("12345678901234567890123456789012345678.0123456789")
    assert r1["nfree"] == "1.000000000000000000000001" and r2["nfree"] == "NaN"
    assert r1["f4"] == -1.5 and r1["f8"] == 1e300 and r2["f4"] == float("inf") and r2["f8"] == float("-inf")
    assert r1["tx"] == "héllo ✓" and r1["ch"] == "ab  " and r1["by"] == b"\x00\xff\x10" and r2["by"] == b""
    assert r1["d"] == dt.date(2024, 2, 29) and r2["d"] == dt.date(1, 1, 1)
    assert r1["t"] == dt.time(23, 59, 59, 999999)
    assert r1["ts"] == dt.datetime(1999, 12, 31, 23, 59, 59, 999999)
    assert r1["tstz"] == dt.datetime(2024, 6, 1, 10, 0, tzinfo=dt.timezone.utc)  # +02 normalised to UTC
    assert r1["ats"] == [dt.datetime(2023, 12, 31, 19, 0, tzinfo=dt.timezone.utc)]
    assert r1["iv"] == {"months": 14, "days": 3, "nanoseconds": ((4 * 60 + 5) * 60 + 6) * 10**9 + 789_000_000}
    assert r2["iv"] == {"months": -1, "days": -2, "nanoseconds": -1_500_000_000}
    assert r1["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" and r1["au"] == [r1["u"]]
    assert json.loads(r1["j"]) == {"b": [1, 2], "a": None} and json.loads(r1["jb"]) == {"a": 2, "b": 1}
    assert r1["m"] == "happy" and r1["ai"] == [1, None, 3] and r1["at"] == ["x", None, "y z"] and r2["ai"] == []
    assert all(v is None for k, v in r3.items() if k != "id")
    prov = Package(registry, res.record.top_hash)["everything"].node.provenance
    assert prov["qualified_name"] == "public.everything" and prov["key"] == ["id"] and prov["dialect"] == "postgresql"
    assert prov["database"] == pg_url.rsplit("/", 1)[1] and "server_version" not in prov  # in the record (issue 23 item 9)


def test_pg_methods_agree_byte_for_byte(pg_url, registry):
    pg_exec(pg_url, TYPES_DDL)
    a = snapshot_sql(pg_url, "t/a", tables="public.everything", method="dbapi", registry=registry)
    b = snapshot_sql(pg_url, "t/b", tables="public.everything", method="adbc", registry=registry)
    c = snapshot_sql(pg_url, "t/c", tables="public.everything", method="dbapi", batch_rows=1, registry=registry)
    assert a.record.top_hash == b.record.top_hash == c.record.top_hash


def _objects(registry) -> set[str]:
    return {o.digest if hasattr(o, "digest") else o[0] for o in registry.store.iter_objects()}


def _fragments(registry, top: str, table: str) -> set[str]:
    return {e["object"] for e in Package(registry, top)[table].iter_entries()}


def test_pg_resnapshot_dedups(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE orders (id bigint PRIMARY KEY, customer text, amount numeric(10,2), ts timestamptz)",
            "INSERT INTO orders SELECT g, 'c' || (g % 97), (g % 1000) / 7.0, timestamptz '2024-01-01' + g * interval '1 minute' "
            "FROM generate_series(1, 20000) g")
    first = snapshot_sql(pg_url, "sales/orders", tables={"orders": "public.orders"}, chunking=SMALL, registry=registry)
    before = _objects(registry)
    again = snapshot_sql(pg_url, "sales/orders", tables={"orders": "public.orders"}, chunking=SMALL, registry=registry)
    assert again.record.top_hash == first.record.top_hash and not again.created
    assert _objects(registry) == before  # nothing new stored
    assert len(registry.history("sales/orders")) == 1
    old = _fragments(registry, first.record.top_hash, "orders")
    assert len(old) > 60
    # append 1% and update a range of recent rows
    pg_exec(pg_url, "INSERT INTO orders SELECT g, 'new', 1, now() FROM generate_series(20001, 20200) g",
            "UPDATE orders SET amount = amount + 1 WHERE id BETWEEN 19700 AND 19760")
    third = snapshot_sql(pg_url, "sales/orders", tables={"orders": "public.orders"}, chunking=SMALL, registry=registry)
    assert third.created and third.tables["orders"]["rows"] == 20200
    new = _fragments(registry, third.record.top_hash, "orders")
    rewritten = new - old
    assert 1 <= len(rewritten) <= 8, len(rewritten)  # only around the change (tail + updated range)
    assert len(old & new) >= len(old) - 6
    # the chunking parameters are recorded with the table
    node = Package(registry, third.record.top_hash)["orders"].node
    assert node.writer["chunking"]["mask_bits"] == SMALL.mask_bits and node.writer["key"] == ["id"]


@pytest.mark.parametrize("method", ["dbapi", "adbc"])
def test_pg_tables_are_consistent_as_of_one_moment(pg_url, registry, method):
    pg_exec(pg_url, "CREATE TABLE a (id int PRIMARY KEY, v int)", "CREATE TABLE b (id int PRIMARY KEY, v int)",
            "INSERT INTO a SELECT g, g FROM generate_series(1, 500) g", "INSERT INTO b SELECT g, g FROM generate_series(1, 500) g")

    class Racing:
        """The real connector, with a concurrent writer committing between the two tables' reads."""
        name = "sql"

        def snapshot_tables(self, **o):
            snaps = connector.snapshot_tables(**o)
            pg_exec(pg_url, "INSERT INTO a VALUES (1001, 1)", "INSERT INTO b VALUES (1001, 1)")
            inner = snaps[0].batches

            def first():
                yield from inner
                pg_exec(pg_url, "INSERT INTO b VALUES (1002, 1)", "UPDATE a SET v = -1")
            snaps[0].batches = first()
            return snaps

    _res = snapshot(Racing(), "t/ab", registry=registry, url=pg_url, tables={"a": "public.a", "b": "public.b"},
                      method=method)
    rec, _ = _res.record, _res.created
    ta, tb = _table(registry, rec.top_hash, "a"), _table(registry, rec.top_hash, "b")
    assert ta.num_rows == 500 and tb.num_rows == 500 and min(ta["v"].to_pylist()) == 1
    assert pg_exec(pg_url, "SELECT count(*) FROM b")[0][0] == 502  # the writes did happen
    vol = rec.sources["a"]["volatile"]
    assert vol["snapshot_time"] == rec.sources["b"]["volatile"]["snapshot_time"]
    assert "repeatable read" in vol["isolation"] and "read only=on" in vol["isolation"]


def test_pg_query_key_and_unkeyed(pg_url, registry, caplog):
    pg_exec(pg_url, "CREATE TABLE ev (id int, grp int, v text)",
            "INSERT INTO ev SELECT g, g % 3, 'x' || g FROM generate_series(1, 300) g")
    caplog.set_level("INFO", logger="lakepkg.sql")
    res = snapshot_sql(pg_url, "t/q", queries={"keyed": "SELECT id, v FROM ev WHERE grp = 1",
                                              "whole": "SELECT grp, count(*) AS n FROM ev GROUP BY grp"},
                       key={"keyed": "id"}, registry=registry)
    assert res.tables["keyed"]["keyed"] and res.tables["keyed"]["rows"] == 100
    # a query without a key: snapshotted whole, and said so (result, log, provenance, writer settings)
    assert not res.tables["whole"]["keyed"] and "no key" in res.tables["whole"]["note"]
    assert res.tables["whole"]["rows"] == 3 and res.tables["whole"]["key_source"] == "none"
    assert "table whole: no key; snapshotted whole" in caplog.text
    whole = Package(registry, res.record.top_hash)["whole"].node
    assert whole.provenance["key"] is None and whole.provenance["key_source"] == "none"
    assert whole.writer["chunking"]["method"] == "fixed-rows" and "key" not in whole.writer
    assert res.record.sources["whole"]["volatile"]["keyed"] is False
    ids = _table(registry, res.record.top_hash, "keyed")["id"].to_pylist()
    assert ids == sorted(ids)
    prov = Package(registry, res.record.top_hash)["keyed"].node.provenance
    assert prov["query"] == "SELECT id, v FROM ev WHERE grp = 1" and "qualified_name" not in prov
    # a non-unique key: error, nothing published
    with pytest.raises(SourceError, match="not unique") as ei:
        snapshot_sql(pg_url, "t/dup", queries={"g": "SELECT grp, v FROM ev"}, key="grp", registry=registry)
    assert "\n" not in str(ei.value)
    assert registry.history("t/dup") == []
    with pytest.raises(ConfigError, match="not columns"):
        snapshot_sql(pg_url, "t/dup", queries={"g": "SELECT grp FROM ev"}, key="nope", registry=registry)
    # a non-unique primary-key-less table given a key whose duplicates sit far apart in the stream
    pg_exec(pg_url, "CREATE TABLE d (id int, v int)", "INSERT INTO d SELECT g, g FROM generate_series(1, 5000) g",
            "INSERT INTO d VALUES (4999, 0)")
    with pytest.raises(SourceError, match=r"key \(id\) of table 'd' is not unique \(id=4999"):
        snapshot_sql(pg_url, "t/dup", tables="public.d", key="id", batch_rows=1000, registry=registry)
    pg_exec(pg_url, "CREATE TABLE iv (k interval PRIMARY KEY, v int)")
    with pytest.raises(ConfigError, match="key column 'k' of table 'iv' is of type interval"):
        snapshot_sql(pg_url, "t/dup", tables="public.iv", registry=registry)
    assert registry.history("t/dup") == []


@pytest.mark.parametrize("case", ["syntax", "missing_table", "missing_relation_in_query", "wrong_role", "closed_port",
                                  "unknown_host", "missing_database"])
def test_pg_bad_input_is_one_line_and_publishes_nothing(pg_url, registry, case):
    pg_exec(pg_url, "CREATE TABLE t (id int PRIMARY KEY)")
    url, opts = pg_url, {}
    if case == "syntax":
        opts = {"queries": {"x": "SELEC id FROM t"}}
    elif case == "missing_table":
        opts = {"tables": "public.nope"}
    elif case == "missing_relation_in_query":
        opts = {"queries": {"x": "SELECT * FROM nope"}}
    elif case == "wrong_role":
        url, opts = pg_url.replace("postgres@", "no_such_role_lp@"), {"tables": "public.t"}
    elif case == "unknown_host":
        url, opts = "postgresql://postgres@no-such-host.invalid:5432/db", {"tables": "public.t"}
    elif case == "missing_database":
        url, opts = pg_url.rsplit("/", 1)[0] + "/no_such_db_lp", {"tables": "public.t"}
    else:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        url, opts = f"postgresql://postgres@127.0.0.1:{port}/db", {"tables": "public.t"}
    with pytest.raises(SourceError) as ei:
        snapshot_sql(url, "t/bad", registry=registry, **opts)
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 600
    assert ("fix the query" in msg or "check" in msg)
    assert registry.history("t/bad") == []


def _with_password(url: str, pw: str) -> str:
    """The test server uses trust auth: a password in the URL is accepted and ignored."""
    return url.replace("postgres@", f"postgres:{pw}@")


@pytest.mark.parametrize("method", ["dbapi", "adbc"])
def test_pg_connection_dropped_mid_stream(pg_url, registry, method, caplog, capfd):
    # ~40 MB of rows: several ADBC batches (about 16 MB each) and many small fragments
    pg_exec(pg_url, "CREATE TABLE big (id int PRIMARY KEY, v text)",
            "INSERT INTO big SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 40000) g")
    pw = f"Pw-{uuid.uuid4().hex}"
    url = _with_password(pg_url, pw)
    seen = {}

    class Killing:
        """The real connector; after the first batch has been written, the server ends its backends."""
        name = "sql"

        def snapshot_tables(self, **o):
            snaps = connector.snapshot_tables(**o)
            inner = snaps[0].batches

            def killed():
                for i, b in enumerate(inner):
                    yield b
                    if i == 0:  # the consumer has cut and stored batch 0: fragments are written as rows come
                        seen["objects"] = len(_objects(registry))
                        killed_pids = pg_exec(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                        seen["killed"] = len(killed_pids)
            snaps[0].batches = killed()
            return snaps

    caplog.set_level("DEBUG")
    with pytest.raises(SourceError, match="failed while reading table 'big'.*re-run") as ei:
        snapshot(Killing(), "t/killed", registry=registry, url=url, tables="public.big", method=method,
                 batch_rows=500, chunking=SMALL)
    msg = str(ei.value)
    assert "\n" not in msg and pw not in msg and "postgres@127.0.0.1" in msg
    assert seen["objects"] > 0 and seen["killed"] >= 1
    assert registry.history("t/killed") == []
    # nothing but the one error: no pool or driver tracebacks logged or printed, no secret in a log line
    assert pw not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= 30 and not r.name.startswith("lakepkg")]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception ignored" not in out + err


@pytest.mark.parametrize("method", ["dbapi", "adbc"])
@pytest.mark.parametrize("case", ["ts_infinity", "tstz_minus_infinity", "date_infinity", "date_array_infinity",
                                  "time_24", "numeric_nan", "multi_dim_array", "array_lower_bound"])
def test_pg_value_without_faithful_arrow_form_fails_loudly(pg_url, registry, method, case):
    typ, val = {"ts_infinity": ("timestamp", "'infinity'"), "tstz_minus_infinity": ("timestamptz", "'-infinity'"),
                "date_infinity": ("date", "'infinity'"), "date_array_infinity": ("date[]", "'{2024-01-01,infinity}'"),
                "time_24": ("time", "'24:00:00'"), "numeric_nan": ("numeric(10,2)", "'NaN'"),
                "multi_dim_array": ("int[]", "'{{1,2},{3,4}}'"), "array_lower_bound": ("text[]", "'[0:1]={a,b}'")}[case]
    pg_exec(pg_url, f"CREATE TABLE x (id int PRIMARY KEY, v {typ})",
            "INSERT INTO x SELECT g, NULL FROM generate_series(1, 2000) g", f"UPDATE x SET v = {val} WHERE id = 1500")
    with pytest.raises(SourceError) as ei:
        snapshot_sql(pg_url, "t/x", tables="public.x", method=method, batch_rows=700, registry=registry)
    msg = str(ei.value)
    assert "\n" not in msg and "'x'" in msg and ("no faithful" in msg or "cannot store" in msg), msg
    assert "in the query" in msg
    assert registry.history("t/x") == []
    # the same values, given a faithful form in the query, snapshot fine
    expr = "array_to_json(v)::text" if "array" in case else "v::text"
    ok = snapshot_sql(pg_url, "t/x", queries={"x": f"SELECT id, {expr} AS v FROM x"}, key="id", method=method,
                      registry=registry)
    assert ok.created and ok.tables["x"]["rows"] == 2000


def test_pg_far_dates_kept_exactly_by_adbc(pg_url, registry):
    """Arrow holds dates/timestamps outside Python's years 1..9999; the ADBC path keeps them exactly."""
    pg_exec(pg_url, "CREATE TABLE far (id int PRIMARY KEY, d date, ts timestamp)",
            "INSERT INTO far VALUES (1, '4713-01-01 BC', '0044-03-15 12:00:00 BC'), (2, '5874897-12-31', '20000-01-01')")
    res = snapshot_sql(pg_url, "t/far", tables="public.far", method="adbc", registry=registry)
    t = _table(registry, res.record.top_hash, "far")
    days = t["d"].combine_chunks().view(pa.int32()).to_pylist()
    us = t["ts"].combine_chunks().view(pa.int64()).to_pylist()
    want = pg_exec(pg_url, "SELECT d - date '1970-01-01', (extract(epoch FROM ts) * 1000000)::int8 FROM far ORDER BY id")
    assert days == [w[0] for w in want] and us == [w[1] for w in want]
    with pytest.raises(SourceError, match="no faithful Arrow form"):  # Python's datetime cannot: a loud error
        snapshot_sql(pg_url, "t/far2", tables="public.far", method="dbapi", registry=registry)


def test_pg_transaction_time_in_version_record_not_in_hashed_tree(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1234) g")
    first = snapshot_sql(pg_url, "t/when", queries={"t": "SELECT * FROM t"}, key="id", registry=registry)
    import time

    time.sleep(1.1)
    other = snapshot_sql(pg_url, "t/when-again", queries={"t": "SELECT * FROM t"}, key="id", registry=registry)
    assert other.created and other.record.top_hash == first.record.top_hash  # same state, later: same top hash
    t1 = dt.datetime.fromisoformat(first.record.sources["t"]["volatile"]["snapshot_time"])
    t2 = dt.datetime.fromisoformat(other.record.sources["t"]["volatile"]["snapshot_time"])
    assert t1.utcoffset() == dt.timedelta(0) and t2 - t1 >= dt.timedelta(seconds=1)
    server_now = pg_exec(pg_url, "SELECT now()")[0][0]
    assert abs((server_now - t2).total_seconds()) < 120
    vol = other.record.sources["t"]["volatile"]
    assert vol["rows"] == 1234 and vol["keyed"] and vol["method"] == "adbc" and "repeatable read" in vol["isolation"]
    node = Package(registry, first.record.top_hash)["t"].node
    assert node.rows == 1234  # the row count is part of the hashed table node
    assert "snapshot_time" not in json.dumps(node.to_json())
    prov = node.provenance
    assert prov["dialect"] == "postgresql" and prov["database"] == pg_url.rsplit("/", 1)[1]
    assert prov["query"] == "SELECT * FROM t" and prov["key"] == ["id"] and prov["key_source"] == "given"
    # the server version and the login are version-record facts, not content (docs/format.md, changelog)
    assert prov["url"] == "postgresql+psycopg://127.0.0.1:5432/" + pg_url.rsplit("/", 1)[1]
    assert "server_version" not in prov and vol["server"]["version"].startswith("15") and vol["server"]["user"] == "postgres"
    assert node.writer["compression"] == "zstd" and node.writer["chunking"]["method"] == "key-cdc"


def test_pg_no_secret_anywhere(pg_url, registry, home, caplog):
    role = f"lp_sec_{uuid.uuid4().hex[:8]}"
    pw = f"Pw-{uuid.uuid4().hex}"
    param_secret = f"Sp-{uuid.uuid4().hex}"
    pg_exec(pg_url, f"CREATE ROLE {role} LOGIN PASSWORD '{pw}'", "CREATE TABLE t (id int PRIMARY KEY, v text)",
            "INSERT INTO t VALUES (1, 'a'), (2, 'b')", f"GRANT SELECT ON t TO {role}")
    try:
        url = pg_url.replace("postgres@", f"{role}:{pw}@") + f"?application_name=lakepkg_test&sslpassword={param_secret}"
        caplog.set_level("DEBUG")
        env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_SQL_URL": url}
        env.pop("LAKEPKG_REGISTRY", None)
        ok = subprocess.run([sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--to", "sec/pkg", "--table", "public.t",
                             "--json"], capture_output=True, text=True, env=env, timeout=120)
        assert ok.returncode == 0, ok.stderr
        out = json.loads(ok.stdout)
        assert out["created"] and out["tables"]["t"]["rows"] == 2
        # errors: a missing table and a wrong password-bearing database name, through the CLI and the API
        bad = subprocess.run([sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--to", "sec/bad", "--url",
                              url.replace(pg_url.rsplit("/", 1)[1], "no_such_db_lp"), "--table", "public.t"],
                             capture_output=True, text=True, env=env, timeout=120)
        assert bad.returncode == 1 and bad.stderr.startswith("lakepkg: error:") and len(bad.stderr.strip().splitlines()) == 1
        with pytest.raises(SourceError) as ei:
            snapshot_sql(url, "sec/bad2", tables="public.missing", registry=registry)
        res = snapshot_sql(url, "sec/pkg2", tables="public.t", registry=registry)
        prov = Package(registry, res.record.top_hash)["t"].node.provenance
        assert role not in prov["url"] and "application_name" in prov["url"] and "sslpassword" not in prov["url"]
        assert res.record.sources["t"]["volatile"]["server"]["user"] == role
        # log lines name the source (so this check is not vacuous), without the secrets
        assert f"from postgresql+psycopg://{role}@127.0.0.1:5432/" in caplog.text
        records = [json.dumps(registry.record(v.key).to_json(), default=str) for n in ("sec/pkg2", "sec/pkg")
                   for v in registry.history(n)]
        assert len(records) == 2 and all("snapshot_time" in r for r in records)  # the version records, explicitly
        texts = [ok.stdout, ok.stderr, bad.stdout, bad.stderr, str(ei.value), caplog.text,
                 json.dumps(res.to_json(), default=str), *records]
        for root, _dirs, files in os.walk(home):  # every byte of the registry and store
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    texts.append(fh.read().decode("latin-1"))
        for t in texts:
            assert pw not in t and param_secret not in t
    finally:
        pg_exec(pg_url, f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_pg_cli_several_tables_and_queries(pg_url, home):
    pg_exec(pg_url, "CREATE SCHEMA shop", "CREATE TABLE shop.orders (a int, b int, v text, PRIMARY KEY (a, b))",
            "INSERT INTO shop.orders SELECT g / 10, g % 10, 'v' FROM generate_series(0, 999) g",
            "CREATE TABLE shop.items (id int PRIMARY KEY, name text)", "INSERT INTO shop.items VALUES (1, 'x'), (2, 'y')")
    env = {**os.environ, "LAKEPKG_HOME": str(home)}
    env.pop("LAKEPKG_REGISTRY", None)
    cmd = [sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--url", pg_url, "--to", "shop/all",
           "--table", "shop.orders", "--table", "things=shop.items", "--query", "SELECT a, count(*) AS n FROM shop.orders GROUP BY a",
           "--table-name", "per_a", "--key", "per_a=a", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["tables"]["orders"]["key"] == ["a", "b"] and out["tables"]["orders"]["key_source"] == "primary key"
    assert out["tables"]["things"]["rows"] == 2 and out["tables"]["per_a"]["rows"] == 100
    p2 = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    out2 = json.loads(p2.stdout)
    assert out2["top_hash"] == out["top_hash"] and out2["created"] is False
    from lakepkg import load
    from lakepkg.registry import open_registry

    pkg = Package(open_registry(str(home / "registry")) if (home / "registry").exists() else open_registry(), out["top_hash"])
    assert sorted(pkg.tables) == ["orders", "per_a", "things"]
    assert pkg["orders"].node.provenance["qualified_name"] == "shop.orders"
    p3 = subprocess.run([sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--url", pg_url, "--to", "shop/nokey",
                         "--query", "SELECT a, b FROM shop.orders WHERE a < 3", "--table-name", "few"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert p3.returncode == 0, p3.stderr
    assert "few: 30 rows, NO KEY: snapshotted whole, no row-level dedup" in p3.stdout
    h = subprocess.run([sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--help"], capture_output=True, text=True, env=env)
    assert "--table-name" in h.stdout and "--json" in h.stdout
