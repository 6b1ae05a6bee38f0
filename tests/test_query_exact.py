"""The exact engines (``--engine postgres``: an embedded PostgreSQL; ``--engine mysql --server``: a
scratch database on the test MariaDB), ``--check``, the output formats, and bad input — each one
line, a non-zero exit, nothing left running and no scratch database left behind."""
from __future__ import annotations

import csv
import decimal
import io
import json
import os
import signal
import subprocess
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import ConfigError, QueryError
from lakepkg.query.check import checked
from lakepkg.query.embedded_pg import scratch_dir
from tests.cli_run import LAKEPKG, cli_env, run_cli
from tests.fixtures.databases import MY_HOST, MY_PORT, MY_USER, mysql_exec, pg_exec

PG_DDL = ("CREATE TABLE r (k int PRIMARY KEY, name char(25), amount numeric(12,2), d bigint, note text)",
          "INSERT INTO r VALUES (1, 'EUROPE', 262.00, 2113, 'a'), (2, 'ASIA', 0.10, 1, NULL), "
          "(3, 'EUROPE', 10.01, 3, 'c|d')")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A PostgreSQL and a MariaDB snapshot of the same small CHAR/NUMERIC table, in one registry."""
    from lakepkg.registry import open_registry
    from tests.fixtures.databases import mysql_admin, pg_admin

    home = tmp_path_factory.mktemp("exact-home")
    reg = open_registry(str(home / "registry"))
    name = f"lpexact_{uuid.uuid4().hex[:10]}"
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    c = mysql_admin()
    with c.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    c.close()
    pg_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    my_url = f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{name}"
    try:
        pg_exec(pg_url, *PG_DDL)
        mysql_exec(my_url, "CREATE TABLE r (k int PRIMARY KEY, name char(25), amount decimal(12,2), d bigint, note text)",
                   "INSERT INTO r VALUES (1, 'EUROPE', 262.00, 2113, 'a'), (2, 'ASIA', 0.10, 1, NULL), "
                   "(3, 'europe', 10.01, 3, 'c|d')")
        pg = lakepkg.snapshot("sql", url=pg_url, to="shop/pg", tables="public.r", registry=reg)
        my = lakepkg.snapshot("sql", url=my_url, to="shop/my", tables=f"{name}.r", registry=reg)
        yield {"home": home, "registry": reg, "pg": f"shop/pg@{pg.record.top_hash[:12]}",
               "my": f"shop/my@{my.record.top_hash[:12]}", "pg_url": pg_url, "my_url": my_url, "db": name}
    finally:
        with pg_admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c = mysql_admin()
        with c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        c.close()


def _scratch() -> str:
    return f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/lpscratch_{uuid.uuid4().hex[:8]}"


def _our_servers() -> list[str]:
    """Data folders of this process's exact-engine servers still on disk."""
    base = scratch_dir()
    return [n for n in (os.listdir(base) if os.path.isdir(base) else []) if n.startswith(f"run-{os.getpid()}-")]


def _cli(shop, *args, check=False, **env):
    return run_cli(["query", *args, "--registry", str(shop["registry"].location)], shop["home"], check=check, **env)


def test_exact_engines_answer_as_the_source(shop):
    """CHAR(n) compares without its padding, numeric division is exact, bigint SUM/COUNT is numeric
    (PostgreSQL); MariaDB's default collation is case-insensitive and its division has 4 more decimals."""
    reg = shop["registry"]
    sql = ("SELECT count(*) AS n, sum(d) / count(*) AS avg_d, sum(amount) / 3 AS third FROM r "
           "WHERE name = 'EUROPE'")
    pg = lakepkg.query(sql, shop["pg"], engine="postgres", registry=reg).to_pylist()
    assert pg == [{"n": 2, "avg_d": decimal.Decimal("1058.0000000000000000"),
                   "third": decimal.Decimal("90.6700000000000000")}]
    live = pg_exec(shop["pg_url"], sql)[0]
    assert (pg[0]["n"], pg[0]["avg_d"], pg[0]["third"]) == live
    my_sql = "SELECT name, count(*) AS n, sum(amount) / 3 AS third FROM r WHERE name = 'europe' GROUP BY name"
    my = lakepkg.query(my_sql, shop["my"], engine="mysql", server=_scratch(), registry=reg).to_pylist()
    assert [tuple(r.values()) for r in my] == [tuple(r) for r in mysql_exec(shop["my_url"], my_sql)]
    assert my[0]["n"] == 2 and my[0]["third"] == decimal.Decimal("90.670000")
    assert not _our_servers()


def test_output_formats_are_exact_and_whole(shop, tmp_path):
    sql = "SELECT k, name, amount, note FROM r ORDER BY k"
    t = _cli(shop, sql, "-p", shop["pg"], "--engine", "postgres", check=True)
    lines = t.stdout.splitlines()
    assert lines[0].split("|")[1].strip() == "name" and "EUROPE                   " in t.stdout  # CHAR(25) as stored
    assert "262.00" in t.stdout and "0.10" in t.stdout and "NULL" in t.stdout and lines[-1] == "(3 rows)"
    assert t.stderr == ""
    c = _cli(shop, sql, "-p", shop["pg"], "--engine", "postgres", "--format", "csv", check=True)
    rows = list(csv.reader(io.StringIO(c.stdout)))
    assert rows[0] == ["k", "name", "amount", "note"] and rows[2] == ["2", "ASIA" + " " * 21, "0.10", ""]
    assert rows[3][3] == "c|d"
    j = _cli(shop, sql, "-p", shop["pg"], "--format", "json", "--engine", "postgres", check=True)
    assert json.loads(j.stdout)[1] == {"k": 2, "name": "ASIA" + " " * 21, "amount": "0.10", "note": None}
    out = tmp_path / "answer.parquet"
    _cli(shop, sql, "-p", shop["pg"], "--engine", "postgres", "--format", "parquet", "-o", str(out), check=True)
    back = pq.read_table(out)
    assert back.column("amount").type == pa.decimal128(3, 2) or pa.types.is_decimal(back.column("amount").type)
    assert back.column("amount").to_pylist() == [decimal.Decimal("262.00"), decimal.Decimal("0.10"), decimal.Decimal("10.01")]
    # the default engine, the same formats; a long value is never cut when piped
    long = _cli(shop, "SELECT repeat(note, 60) AS long FROM r WHERE k = 3", "-p", shop["pg"], check=True)
    assert "c|d" * 60 in long.stdout
    bad = _cli(shop, sql, "-p", shop["pg"], "--format", "parquet")
    assert bad.returncode == 1 and bad.stderr.strip() == "lakepkg: error: --format parquet writes a file: give -o FILE"


def test_check_passes_on_equal_answers_and_fails_on_the_first_differing_row(shop):
    reg = shop["registry"]
    sql = "SELECT k, amount FROM r ORDER BY k"
    ok = _cli(shop, sql, "-p", shop["pg"], "--check", "--format", "csv", check=True)
    assert ok.stdout.splitlines()[1:] == ["1,262.00", "2,0.10", "3,10.01"]

    def wrong() -> pa.Table:  # what a fast engine with binary floats would say
        return pa.table({"k": [1, 2, 3], "amount": [262.0, 0.1, 10.01]})

    with pytest.raises(QueryError) as ei:
        checked(sql, shop["pg"], fast=wrong, registry=reg)
    assert str(ei.value) == ("the fast engine's answer differs from the exact engine's (PostgreSQL): "
                             "row 1: fast (1, 262.0) vs exact (1, 262.00)")

    def refuses() -> pa.Table:
        raise QueryError("construct X is not modelled")

    r = checked(sql, shop["pg"], fast=refuses, registry=reg)
    assert r.fast_refused and r.answer.num_rows == 3
    # a MySQL snapshot: --check needs --server
    p = _cli(shop, sql, "-p", shop["my"], "--check")
    assert p.returncode == 1 and "--check on a MySQL/MariaDB snapshot needs --server URL" in p.stderr


@pytest.mark.parametrize("case", ["no-server", "bad-login", "exists", "insert", "create", "now", "random",
                                  "unknown-table", "unknown-column", "syntax", "two-statements"])
def test_bad_input_is_one_line_and_leaves_nothing(shop, case):
    pw = f"Pw-{uuid.uuid4().hex}"
    my = ["-p", shop["my"], "--engine", "mysql", "--server"]
    pg = ["-p", shop["pg"], "--engine", "postgres"]
    args, words = {
        "no-server": (["SELECT 1", "-p", shop["my"], "--engine", "mysql"], "--engine mysql needs --server URL"),
        "bad-login": (["SELECT k FROM r", *my, f"mysql://nobody_lp:{pw}@{MY_HOST}:{MY_PORT}/lpscratch_x"],
                      "Access denied for user 'nobody_lp'"),
        "exists": (["SELECT k FROM r", *my, f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{shop['db']}"],
                   f"database '{shop['db']}' already exists"),
        "insert": (["INSERT INTO r VALUES (9, 'x', 1, 1, 'x')", *pg], "cannot execute INSERT in a read-only transaction"),
        "create": (["CREATE TABLE t2 AS SELECT * FROM r", *my, _scratch()], "not CREATE"),
        "now": (["SELECT k, now() FROM r", *pg], "depends on when and where the query runs"),
        "random": (["SELECT RAND() FROM r", *my, _scratch()], "depends on when and where the query runs"),
        "unknown-table": (["SELECT * FROM nosuch", *pg], 'relation "nosuch" does not exist (line 1, column 15)'),
        "unknown-column": (["SELECT k, nmae FROM r", *my, _scratch()], "Unknown column 'nmae' in"),
        "syntax": (["SELECT k FORM r", *pg], 'syntax error at or near "r" (line 1, column 15)'),
        "two-statements": (["SELECT 1; SELECT 2", *pg], "cannot insert multiple commands into a prepared statement"),
    }[case]
    p = _cli(shop, *args)
    assert p.returncode == 1, p.stdout
    err = p.stderr.strip()
    assert err.startswith("lakepkg: error: ") and len(err.splitlines()) == 1 and words in err, err
    assert pw not in err and "Traceback" not in err and p.stdout == ""
    left = mysql_exec(f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/", "SHOW DATABASES LIKE 'lpscratch%'")
    assert not left, left
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "lakepkg-exact-pg" not in ps or all("run-" not in ln for ln in ps.splitlines() if "lakepkg-exact-pg" in ln
                                               and str(shop["home"]) in ln)


def test_embedded_postgres_that_cannot_start_is_one_line(shop, tmp_path):
    # the scratch folder is a file: no data folder can be made there
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    p = _cli(shop, "SELECT k FROM r", "-p", shop["pg"], "--engine", "postgres", LAKEPKG_EXACT_PG_DIR=str(blocker))
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert p.stderr.startswith("lakepkg: error: cannot create the exact engine's scratch folder") or \
        "the exact engine (embedded PostgreSQL) cannot start" in p.stderr, p.stderr
    # a collation the machine does not have
    from lakepkg.query.embedded_pg import EmbeddedPostgres

    with pytest.raises(QueryError) as ei:
        EmbeddedPostgres(locale="xx_NOWHERE.UTF-8").start()
    assert "the source's database collation 'xx_NOWHERE.UTF-8' is not available" in str(ei.value)
    assert not _our_servers()


def test_a_killed_run_leaves_no_server_and_its_folder_goes_next_time(shop):
    """kill -9 while the exact engine runs: the server dies with it (parent-death signal); the next
    run removes the folder it left."""
    import pathlib
    import shutil
    import tempfile

    base = pathlib.Path(tempfile.mkdtemp(prefix="lp-pgscratch-"))  # reachable by the server's user under root
    os.chmod(base, 0o755)
    try:
        _killed_run(shop, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _killed_run(shop, base):
    env = cli_env(shop["home"], LAKEPKG_EXACT_PG_DIR=str(base))
    sql = "SELECT count(*) FROM r a, r b, r c, generate_series(1, 30000000) g"
    proc = subprocess.Popen(LAKEPKG + ["query", sql, "-p", shop["pg"], "--engine", "postgres", "--registry",
                                       str(shop["registry"].location)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    folder = None
    while time.monotonic() < deadline and folder is None:
        runs = [d for d in (os.listdir(base) if base.exists() else []) if d.startswith("run-")]
        if runs and os.path.exists(base / runs[0] / "postmaster.pid"):
            folder = base / runs[0]
        time.sleep(0.1)
    assert folder is not None, proc.communicate(timeout=60)
    time.sleep(1.0)
    pm = int((folder / "postmaster.pid").read_text().split()[0])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for _ in range(200):
        try:
            os.kill(pm, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the embedded server outlived the killed lakepkg")
    assert folder.exists()
    ok = run_cli(["query", "SELECT count(*) AS n FROM r", "-p", shop["pg"], "--engine", "postgres", "--format", "csv",
                  "--registry", str(shop["registry"].location)], shop["home"], LAKEPKG_EXACT_PG_DIR=str(base))
    assert ok.stdout.splitlines() == ["n", "3"] and not folder.exists()
    assert [n for n in os.listdir(base) if not n.startswith("template-")] == []  # the initdb'd template is reused


def test_api_bad_input(shop):
    with pytest.raises(ConfigError, match="--engine mysql needs --server URL"):
        lakepkg.query("SELECT 1", shop["my"], engine="mysql", registry=shop["registry"])
    with pytest.raises(QueryError, match="--engine postgres answers queries on PostgreSQL snapshots"):
        lakepkg.query("SELECT k FROM r", shop["my"], engine="postgres", registry=shop["registry"])
