"""SQL connector against the real MariaDB server: types, consistency, dedup, bad input, secrets."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import uuid

import pyarrow as pa
import pytest

from lakepkg.write.chunking import ChunkingParams
from lakepkg.errors import SourceError
from lakepkg.read.package import Package
from lakepkg.write.snapshotting import snapshot
from lakepkg_connectors.sql import connector, snapshot_sql
from tests.fixtures.databases import mysql_admin, mysql_exec

DDL = [
    """CREATE TABLE everything (id int unsigned PRIMARY KEY, ti tinyint, tu tinyint unsigned, b tinyint(1), si smallint,
    su smallint unsigned, mi mediumint, mu mediumint unsigned, i int, bi bigint, bu bigint unsigned, de decimal(10,4),
    du decimal(5,2) unsigned, f float, d double, c char(3), vc varchar(20), tx text, bl blob, vb varbinary(8), dt date,
    tm time(6), dtm datetime(6), ts timestamp(6) NULL, y year, j json, e enum('a','b'), st set('x','y'), bt bit(10))""",
    """INSERT INTO everything VALUES (4294967295, -128, 255, 1, -32768, 65535, -8388608, 16777215, -2147483648,
    -9223372036854775808, 18446744073709551615, -123456.7891, 999.99, 1.5, 2.25, 'ab', 'héllo ✓', 'txt', x'deadbeef',
    x'00ff', '2024-02-29', '-838:59:59.000000', '2024-01-01 12:00:00.123456', '2024-06-01 12:00:00.5', 2024,
    '{"a": [1, 2]}', 'b', 'x,y', b'1010101010')""",
    "INSERT INTO everything (id, b) VALUES (1, 0)",
    "INSERT INTO everything (id) VALUES (2)",
]


def test_mysql_type_fidelity(mysql_url, registry):
    mysql_exec(mysql_url, *DDL)
    res = snapshot_sql(mysql_url, "t/my", tables="everything", registry=registry)
    assert res.tables["everything"]["rows"] == 3 and res.tables["everything"]["key"] == ["id"]
    t = Package(registry, res.record.top_hash)["everything"].to_arrow()
    s = t.schema
    want = {"id": pa.uint32(), "ti": pa.int8(), "tu": pa.uint8(), "b": pa.bool_(), "si": pa.int16(), "su": pa.uint16(),
            "mi": pa.int32(), "mu": pa.uint32(), "i": pa.int32(), "bi": pa.int64(), "bu": pa.uint64(),
            "de": pa.decimal128(10, 4), "du": pa.decimal128(5, 2), "f": pa.float32(), "d": pa.float64(), "c": pa.string(),
            "vc": pa.string(), "tx": pa.string(), "bl": pa.binary(), "vb": pa.binary(), "dt": pa.date32(),
            "tm": pa.duration("us"), "dtm": pa.timestamp("us"), "ts": pa.timestamp("us", tz="UTC"), "y": pa.int16(),
            "j": pa.string(), "e": pa.string(), "st": pa.string(), "bt": pa.uint64()}
    for col, typ in want.items():
        assert s.field(col).type == typ, col
    assert s.field("tu").metadata[b"sql_type"] == b"tinyint unsigned"
    rows = {r["id"]: r for r in t.to_pylist()}
    r = rows[4294967295]
    assert (r["ti"], r["tu"], r["b"], r["si"], r["su"], r["mi"], r["mu"], r["i"], r["bi"], r["bu"]) == (
        -128, 255, True, -32768, 65535, -8388608, 16777215, -2**31, -2**63, 2**64 - 1)
    assert r["de"] == decimal.Decimal("-123456.7891") and r["du"] == decimal.Decimal("999.99")
    assert r["f"] == 1.5 and r["d"] == 2.25 and r["c"] == "ab" and r["vc"] == "héllo ✓" and r["tx"] == "txt"
    assert r["bl"] == b"\xde\xad\xbe\xef" and r["vb"] == b"\x00\xff" and r["dt"] == dt.date(2024, 2, 29)
    assert r["tm"] == -dt.timedelta(hours=838, minutes=59, seconds=59)
    assert r["dtm"] == dt.datetime(2024, 1, 1, 12, 0, 0, 123456)
    assert r["ts"].utcoffset() == dt.timedelta(0) and r["y"] == 2024 and json.loads(r["j"]) == {"a": [1, 2]}
    assert r["e"] == "b" and r["st"] == "x,y" and r["bt"] == 0b1010101010
    assert rows[1]["b"] is False
    assert all(v is None for k, v in rows[2].items() if k != "id")
    prov = Package(registry, res.record.top_hash)["everything"].node.provenance
    assert prov["dialect"] in ("mariadb", "mysql") and prov["qualified_name"].endswith(".everything")


def test_mysql_timestamp_is_utc_whatever_the_session_zone(mysql_url, registry):
    mysql_exec(mysql_url, "CREATE TABLE z (id int PRIMARY KEY, ts timestamp NULL)",
               "SET time_zone = '+05:00'", "INSERT INTO z VALUES (1, '2024-01-01 05:00:00')")
    res = snapshot_sql(mysql_url, "t/z", tables="z", registry=registry)
    v = Package(registry, res.record.top_hash)["z"].to_arrow()["ts"].to_pylist()[0]
    assert v == dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.timezone.utc)


def test_mysql_consistent_snapshot_and_dedup(mysql_url, registry):
    mysql_exec(mysql_url, "SET SESSION max_recursive_iterations = 100000", "CREATE TABLE a (id int PRIMARY KEY, v int)", "CREATE TABLE b (id int PRIMARY KEY, v int)",
               "INSERT INTO a WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 3000) SELECT g, g FROM s",
               "INSERT INTO b SELECT id, v FROM a WHERE id <= 500")

    class Racing:
        name = "sql"

        def snapshot_tables(self, **o):
            snaps = connector.snapshot_tables(**o)
            mysql_exec(mysql_url, "INSERT INTO a VALUES (5001, 1)", "INSERT INTO b VALUES (5001, 1)")
            inner = snaps[0].batches

            def first():
                yield from inner
                mysql_exec(mysql_url, "DELETE FROM b WHERE id < 100")
            snaps[0].batches = first()
            return snaps

    small = ChunkingParams(mask_bits=6, min_rows=16, max_rows=512)
    _res = snapshot(Racing(), "t/ab", registry=registry, url=mysql_url, tables={"a": "a", "b": "b"}, chunking=small,
                      batch_rows=200)
    rec, _ = _res.record, _res.created
    pkg = Package(registry, rec.top_hash)
    assert pkg["a"].to_arrow().num_rows == 3000 and pkg["b"].to_arrow().num_rows == 500
    assert mysql_exec(mysql_url, "SELECT count(*) FROM b")[0][0] == 402
    # re-snapshot unchanged -> same hash; append + update recent rows -> few new fragments
    mysql_exec(mysql_url, "DELETE FROM a WHERE id = 5001", "DELETE FROM b", "INSERT INTO b SELECT id, v FROM a WHERE id <= 500")
    _res = snapshot("sql", "t/ab", registry=registry, url=mysql_url, tables={"a": "a", "b": "b"}, chunking=small)
    again, created = _res.record, _res.created
    assert again.top_hash == rec.top_hash and not created
    old = {e["object"] for e in pkg["a"].iter_entries()}
    mysql_exec(mysql_url, "INSERT INTO a WITH RECURSIVE s(g) AS (SELECT 3001 UNION ALL SELECT g + 1 FROM s WHERE g < 3030) SELECT g, 0 FROM s",
               "UPDATE a SET v = -v WHERE id BETWEEN 2950 AND 2960")
    _res = snapshot("sql", "t/ab", registry=registry, url=mysql_url, tables={"a": "a", "b": "b"}, chunking=small)
    third, created = _res.record, _res.created
    new = {e["object"] for e in Package(registry, third.top_hash)["a"].iter_entries()}
    assert created and len(old) > 40 and 1 <= len(new - old) <= 6


@pytest.mark.parametrize("case", ["syntax", "missing_table", "dup_key", "closed_port", "unknown_host", "missing_database"])
def test_mysql_bad_input(mysql_url, registry, case):
    mysql_exec(mysql_url, "CREATE TABLE t (id int, v int)", "INSERT INTO t VALUES (1, 1), (1, 2), (2, 3)")
    url = mysql_url
    opts = {"syntax": {"queries": {"x": "SELEC * FROM t"}}, "missing_table": {"tables": "nope"},
            "dup_key": {"tables": "t", "key": "id"}}.get(case, {"tables": "t"})
    if case == "closed_port":
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        url = f"mysql://root@127.0.0.1:{port}/db"
    elif case == "unknown_host":
        url = "mysql://root@no-such-host.invalid:3306/db"
    elif case == "missing_database":
        url = mysql_url.rsplit("/", 1)[0] + "/no_such_db_lp"
    with pytest.raises(SourceError) as ei:
        snapshot_sql(url, "t/bad", registry=registry, **opts)
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 600
    assert {"dup_key": "not unique", "syntax": "fix the query", "missing_table": "does not exist"}.get(case, "cannot connect") in msg
    assert registry.history("t/bad") == []


def test_mysql_float_is_exact_and_tinyint1_is_a_strict_boolean(mysql_url, registry):
    """MariaDB's text protocol prints FLOAT with 6 digits; a tinyint(1) may hold any tinyint: no silent loss."""
    import numpy as np

    mysql_exec(mysql_url, "CREATE TABLE f (id int PRIMARY KEY, f float, fk float, b tinyint(1))",
               "INSERT INTO f VALUES (1, 0.1234567, 1.1, 1), (2, 3.4028234e38, 2.2, 0), (3, -1.17549435e-38, 3.3, NULL), "
               "(4, NULL, 4.4, 1)")
    res = snapshot_sql(mysql_url, "t/f", tables="f", registry=registry)
    t = Package(registry, res.record.top_hash)["f"].to_arrow()
    got = t["f"].to_numpy(zero_copy_only=False)
    stored = [r[0] for r in mysql_exec(mysql_url, "SELECT CAST(f AS DOUBLE) FROM f ORDER BY id")]
    assert [float(x) for x in got[:3]] == [float(np.float32(v)) for v in stored[:3]] and np.isnan(got[3])
    assert got[0] == np.float32(0.1234567) and t["b"].to_pylist() == [True, False, None, True]
    # a float key orders and cuts too (read through the same widening projection)
    again = snapshot_sql(mysql_url, "t/fk", queries={"f": "SELECT fk, b FROM f"}, key="fk", registry=registry)
    assert Package(registry, again.record.top_hash)["f"].to_arrow()["fk"].to_pylist() == \
        [float(np.float32(x)) for x in (1.1, 2.2, 3.3, 4.4)]
    mysql_exec(mysql_url, "UPDATE f SET b = 2 WHERE id = 4")
    with pytest.raises(SourceError, match=r"tinyint\(1\) value 2 is not a boolean") as ei:
        snapshot_sql(mysql_url, "t/f2", tables="f", registry=registry)
    assert "\n" not in str(ei.value)
    assert registry.history("t/f2") == []


def test_mysql_connection_dropped_mid_stream(mysql_url, registry, caplog, capfd):
    mysql_exec(mysql_url, "SET SESSION max_recursive_iterations = 100000", "CREATE TABLE big (id int PRIMARY KEY, v text)",
               "INSERT INTO big WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 30000) "
               "SELECT g, repeat(md5(g), 8) FROM s")
    db = mysql_url.rsplit("/", 1)[1]
    seen = {}

    class Killing:
        """The real connector; after the first batch has been written, the server kills the snapshot's connection."""
        name = "sql"

        def snapshot_tables(self, **o):
            snaps = connector.snapshot_tables(**o)
            inner = snaps[0].batches

            def killed():
                for i, b in enumerate(inner):
                    yield b
                    if i == 0:
                        seen["objects"] = sum(1 for _ in registry.store.iter_objects())
                        ids = mysql_exec(mysql_url, "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = "
                                                    f"'{db}' AND ID <> CONNECTION_ID()")
                        seen["killed"] = len(ids)
                        for (pid,) in ids:
                            mysql_exec(mysql_url, f"KILL {pid}")
            snaps[0].batches = killed()
            return snaps

    caplog.set_level("DEBUG")
    small = ChunkingParams(mask_bits=6, min_rows=16, max_rows=512)
    with pytest.raises(SourceError, match="failed while reading table 'big'.*re-run") as ei:
        snapshot(Killing(), "t/killed", registry=registry, url=mysql_url, tables="big", batch_rows=500, chunking=small)
    assert "\n" not in str(ei.value)
    assert seen["objects"] > 0 and seen["killed"] == 1  # fragments were written as the rows came
    assert registry.history("t/killed") == []
    assert not [r for r in caplog.records if r.levelno >= 30 and not r.name.startswith("lakepkg")]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception ignored" not in out + err


def test_mysql_password_never_leaks(mysql_url, registry, home, caplog):
    user = f"lp_{uuid.uuid4().hex[:8]}"
    pw = f"Pw-{uuid.uuid4().hex}"
    db = mysql_url.rsplit("/", 1)[1]
    mysql_exec(mysql_url, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'a')",
               f"CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}'", f"CREATE USER '{user}'@'localhost' IDENTIFIED BY '{pw}'",
               f"GRANT SELECT ON `{db}`.* TO '{user}'@'%'", f"GRANT SELECT ON `{db}`.* TO '{user}'@'localhost'")
    try:
        caplog.set_level("DEBUG")
        url = mysql_url.replace("root@", f"{user}:{pw}@")
        res = snapshot_sql(url, "sec/my", tables="t", registry=registry)
        assert res.tables["t"]["rows"] == 1
        errors = []
        for bad_url, opts in [(url.replace(pw, pw + "x"), {"tables": "t"}), (url, {"tables": "missing"}),
                              (url.replace(db, "no_db_here"), {"tables": "t"})]:
            with pytest.raises(SourceError) as ei:
                snapshot_sql(bad_url, "sec/bad", registry=registry, **opts)
            errors.append(str(ei.value))
        assert "denied" in errors[0].lower() and "check" in errors[0]
        texts = errors + [caplog.text, json.dumps(res.to_json(), default=str)]
        for root, _dirs, files in os.walk(home):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    texts.append(fh.read().decode("latin-1"))
        assert all(pw not in t for t in texts)
        assert registry.history("sec/bad") == []
    finally:
        c = mysql_admin()
        with c.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP USER IF EXISTS '{user}'@'localhost'")
        c.close()


def test_mariadb_uuid_and_inet6_as_canonical_text(mysql_url, registry):
    version = mysql_exec(mysql_url, "SELECT VERSION()")[0][0]
    if "mariadb" not in version.lower():
        pytest.skip("uuid and inet6 are MariaDB types")
    mysql_exec(mysql_url, "CREATE TABLE u (id int PRIMARY KEY, u uuid, i inet6)",
               "INSERT INTO u VALUES (1, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '2001:DB8::1'), (2, NULL, NULL)")
    res = snapshot_sql(mysql_url, "t/u", tables="u", registry=registry)
    t = Package(registry, res.record.top_hash)["u"].to_arrow()
    assert t.schema.field("u").type == pa.string() and t.schema.field("i").type == pa.string()
    assert t.to_pylist() == [{"id": 1, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "i": "2001:db8::1"},
                             {"id": 2, "u": None, "i": None}]
