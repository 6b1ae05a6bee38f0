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

from lakepkg.chunking import ChunkingParams
from lakepkg.errors import ConfigError, LakepkgError, SourceError
from lakepkg.package import Package
from lakepkg.snapshotting import snapshot
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
    assert prov["database"] == pg_url.rsplit("/", 1)[1] and prov["server_version"]


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

    rec, _ = snapshot(Racing(), "t/ab", registry=registry, url=pg_url, tables={"a": "public.a", "b": "public.b"},
                      method=method)
    ta, tb = _table(registry, rec.top_hash, "a"), _table(registry, rec.top_hash, "b")
    assert ta.num_rows == 500 and tb.num_rows == 500 and min(ta["v"].to_pylist()) == 1
    assert pg_exec(pg_url, "SELECT count(*) FROM b")[0][0] == 502  # the writes did happen
    vol = rec.sources["a"]["volatile"]
    assert vol["snapshot_time"] == rec.sources["b"]["volatile"]["snapshot_time"]
    assert "repeatable read" in vol["isolation"] and "read only=on" in vol["isolation"]


def test_pg_query_key_and_unkeyed(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE ev (id int, grp int, v text)",
            "INSERT INTO ev SELECT g, g % 3, 'x' || g FROM generate_series(1, 300) g")
    res = snapshot_sql(pg_url, "t/q", queries={"keyed": "SELECT id, v FROM ev WHERE grp = 1",
                                              "whole": "SELECT grp, count(*) AS n FROM ev GROUP BY grp"},
                       key={"keyed": "id"}, registry=registry)
    assert res.tables["keyed"]["keyed"] and res.tables["keyed"]["rows"] == 100
    assert not res.tables["whole"]["keyed"] and "no key" in res.tables["whole"]["note"]
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


@pytest.mark.parametrize("case", ["syntax", "missing_table", "missing_relation_in_query", "wrong_role", "closed_port"])
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


def test_pg_connection_dropped_mid_stream(pg_url, registry):
    pg_exec(pg_url, "CREATE TABLE big (id int PRIMARY KEY, v text)",
            "INSERT INTO big SELECT g, repeat('x', 50) FROM generate_series(1, 20000) g")

    class Killing:
        name = "sql"

        def snapshot_tables(self, **o):
            snaps = connector.snapshot_tables(**o)
            inner = snaps[0].batches

            def killed():
                for i, b in enumerate(inner):
                    yield b
                    if i == 1:
                        pg_exec(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            snaps[0].batches = killed()
            return snaps

    with pytest.raises(SourceError, match="re-run") as ei:
        snapshot(Killing(), "t/killed", registry=registry, url=pg_url, tables="public.big", method="dbapi", batch_rows=500)
    assert "\n" not in str(ei.value)
    assert registry.history("t/killed") == []


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
        assert role in prov["url"] and "application_name" in prov["url"]
        texts = [ok.stdout, ok.stderr, bad.stdout, bad.stderr, str(ei.value), caplog.text,
                 json.dumps(res.to_json(), default=str)]
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
    h = subprocess.run([sys.executable, "-m", "lakepkg.cli", "snapshot", "sql", "--help"], capture_output=True, text=True, env=env)
    assert "--table-name" in h.stdout and "--json" in h.stdout
