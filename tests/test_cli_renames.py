"""Renamed spellings (docs/cli.md "Renamed spellings"): the new one works without a warning; the old
one still works, gives the same result, and warns once per run with one ``lakepkg: warning:`` line."""
from __future__ import annotations

import json
import warnings

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import LakepkgDeprecationWarning
from tests.cli_run import run_cli


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("lakepkg: warning:")]


@pytest.fixture
def pinned(home, tmp_path):
    """A version of t/orders in the home registry and a lock file pinning it."""
    src = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "amount": [1.5, 2.5, 4.0]}), src)
    res = json.loads(run_cli(["build", "t/orders", "--table", f"orders={src}", "--json"], home).stdout)
    lock = tmp_path / "lakepkg.lock"
    run_cli(["lock", "t/orders", "--file", str(lock)], home)
    return res["top_hash"], lock


def test_install_lock_file_and_the_old_requirement(home, tmp_path, pinned):
    top, lock = pinned
    new = run_cli(["install", "--lock-file", str(lock), "--dest", str(tmp_path / "a"), "--json"], home)
    assert [r["top_hash"] for r in json.loads(new.stdout)] == [top] and not _warnings(new.stderr)
    short = run_cli(["install", "-l", str(lock), "--json"], home)
    assert [r["top_hash"] for r in json.loads(short.stdout)] == [top] and not _warnings(short.stderr)
    for old in ("-R", "--requirement"):
        p = run_cli(["install", old, str(lock), "--dest", str(tmp_path / old.strip("-")), "--json"], home)
        assert [r["top_hash"] for r in json.loads(p.stdout)] == [top]
        assert _warnings(p.stderr) == ["lakepkg: warning: --requirement/-R is renamed --lock-file/-l; "
                                       "the old spelling works in this release and goes in the next"], p.stderr
    assert (tmp_path / "R" / "t" / "orders").is_dir()
    assert "--lock-file" in run_cli(["install", "--help"], home).stdout
    assert "--requirement" not in run_cli(["install", "--help"], home).stdout
    both = run_cli(["install", "t/orders", "--lock-file", str(lock)], home, check=False)
    assert both.returncode == 1 and "not both" in both.stderr


def test_python_spellings_warn_once(home, pinned, tmp_path):
    top, lock = pinned
    from lakepkg import errors

    errors._deprecations_shown.discard("lakepkg.install(requirement=...)")
    with pytest.warns(LakepkgDeprecationWarning, match=r"install\(requirement=...\) is renamed"):
        reps = lakepkg.install(requirement=str(lock))
    assert [r.top_hash for r in reps] == [top]
    with warnings.catch_warnings():
        warnings.simplefilter("error", LakepkgDeprecationWarning)  # once per process: no second warning
        assert [r.top_hash for r in lakepkg.install(requirement=str(lock))] == [top]
        assert [r.top_hash for r in lakepkg.install(lock_file=str(lock))] == [top]
    reg = lakepkg.open_registry()
    errors._deprecations_shown.discard("Registry.audit(name)")
    with pytest.warns(LakepkgDeprecationWarning, match="check_metadata"):
        assert reg.audit("t/orders") == reg.check_metadata("t/orders") == []


def test_spark_show_command_and_the_old_print(home):
    base = ["spark", "snapshot-table", "sales.orders", "--to", "t/s", "--metastore", "thrift://127.0.0.1:9083"]
    new = run_cli(base + ["--table", "orders=sales.orders", "--show-command", "--json"], home)
    cmd = json.loads(new.stdout)["command"]
    assert cmd[cmd.index("--name") + 1] == "sales.orders=orders" and not _warnings(new.stderr)
    old = run_cli(base + ["--name", "sales.orders=orders", "--print", "--json"], home)
    assert json.loads(old.stdout)["command"] == cmd
    assert _warnings(old.stderr) == [
        "lakepkg: warning: --print (spark commands) is renamed --show-command; the old spelling works in this release and goes in the next",
        "lakepkg: warning: --name db.table=NAME is renamed --table NAME=db.table; the old spelling works in this release and goes in the next"]
    text = run_cli(["spark", "snapshot-query", "--to", "t/q", "--query", "SELECT 1", "--show-command"], home)
    assert "spark-submit" in text.stdout and not _warnings(text.stderr)
    bad = run_cli(base + ["--table", "sales.orders", "--show-command"], home, check=False)
    assert bad.returncode == 1 and "--table 'sales.orders': use NAME=db.table" in bad.stderr


def test_query_table_and_the_old_name(home, pinned):
    sql = "SELECT sum(amount) AS s FROM sales.orders"
    new = run_cli(["query", sql, "-p", "t/orders", "--table", "orders=sales.orders", "--json"], home)
    assert json.loads(new.stdout) == [{"s": 8.0}] and not _warnings(new.stderr)
    old = run_cli(["query", sql, "-p", "t/orders", "--name", "sales.orders=orders", "--name", "x.y=orders", "--json"], home)
    assert json.loads(old.stdout) == [{"s": 8.0}]
    assert len(_warnings(old.stderr)) == 1 and "--name ORIGINAL=TABLE is renamed --table TABLE=ORIGINAL" in old.stderr
    bad = run_cli(["query", sql, "-p", "t/orders", "--table", "sales.orders"], home, check=False)
    assert bad.returncode == 1 and "--table 'sales.orders': use PACKAGE_TABLE=db.table" in bad.stderr


def test_hive_table_and_the_old_name(home):
    """The option mapping runs before the metastore is reached (here: nothing listens on port 1)."""
    base = ["snapshot", "hive", "sales.orders", "--to", "t/h", "--metastore", "thrift://127.0.0.1:1"]
    new = run_cli(base + ["--table", "orders=sales.orders"], home, check=False)
    assert new.returncode == 1 and not _warnings(new.stderr) and "lakepkg: error:" in new.stderr
    old = run_cli(base + ["--name", "sales.orders=orders"], home, check=False)
    assert old.returncode == 1 and len(_warnings(old.stderr)) == 1
    assert "--name db.table=NAME is renamed --table NAME=db.table" in old.stderr
    bad = run_cli(base + ["--table", "sales.orders"], home, check=False)
    assert bad.returncode == 1 and "--table 'sales.orders': use NAME=db.table" in bad.stderr
    assert "--table" in run_cli(["snapshot", "hive", "--help"], home).stdout
    # both spellings give the connector the same mapping (source table -> package table)
    from lakepkg.source.connectors import get_connector

    conn = get_connector("hive")
    common = {"metastore": "thrift://127.0.0.1:1", "tables": ["sales.orders"], "where": None, "s3_endpoint": None}
    new_names = conn.cli_options({**common, "table": ["orders=sales.orders"], "name": []})["names"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LakepkgDeprecationWarning)
        old_names = conn.cli_options({**common, "table": [], "name": ["sales.orders=orders"]})["names"]
    assert new_names == old_names == {"sales.orders": "orders"}
