"""The CLI: every command has --help and --json; errors are one line; the demo runs."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli_run import cli_env, run_cli as run

CORE = ["build", "ls", "log", "show", "cat", "diff", "tag", "verify", "gc", "demo"]


@pytest.mark.parametrize("cmd", CORE)
def test_help_and_json_option(cmd, home):
    p = run([cmd, "--help"], home)
    assert "--json" in p.stdout


def test_cli_end_to_end(home, tmp_path):
    data = tmp_path / "orders"
    for day in (1, 2):
        (data / f"ds=2026-11-0{day}").mkdir(parents=True)
        pq.write_table(pa.table({"id": [day * 10, day * 10 + 1]}), data / f"ds=2026-11-0{day}" / "p.parquet")
    (tmp_path / "README.md").write_text("# orders\n")
    v1 = json.loads(run(["build", "sales/orders", "--table", f"orders={data}", "--file", f"README.md={tmp_path/'README.md'}",
                         "-m", "first", "--json"], home).stdout)
    assert v1["created"] is True
    again = json.loads(run(["build", "sales/orders", "--table", f"orders={data}", "--file", f"README.md={tmp_path/'README.md'}", "--json"], home).stdout)
    assert again["created"] is False and again["top_hash"] == v1["top_hash"]
    assert again["tables"]["orders"]["files_reused"] == 2 and again["tables"]["orders"]["files_read"] == 0
    (data / "ds=2026-11-03").mkdir()
    pq.write_table(pa.table({"id": [30]}), data / "ds=2026-11-03" / "p.parquet")
    v2 = json.loads(run(["build", "sales/orders", "--table", f"orders={data}", "--json"], home).stdout)
    assert v2["tables"]["orders"]["files_read"] == 1 and v2["tables"]["orders"]["files_reused"] == 2
    assert [p["name"] for p in json.loads(run(["ls", "--json"], home).stdout)] == ["sales/orders"]
    log = json.loads(run(["log", "sales/orders", "--json"], home).stdout)
    assert [x["top_hash"] for x in log] == [v2["top_hash"], v1["top_hash"]]
    show = json.loads(run(["show", f"sales/orders@{v1['top_hash'][:8]}", "--json"], home).stdout)
    assert show["tables"][0]["rows"] == 4 and show["files"][0]["key"] == "README.md"
    rows = json.loads(run(["cat", f"sales/orders@{v1['top_hash'][:8]}/orders", "--json"], home).stdout)
    assert sorted(r["id"] for r in rows) == [10, 11, 20, 21]
    d = json.loads(run(["diff", f"sales/orders@{v1['top_hash'][:8]}", f"sales/orders@{v2['top_hash'][:8]}", "--json"], home).stdout)
    assert d["tables"][0]["partitions_added"] == ["ds=2026-11-03"] and d["files_removed"] == ["README.md"]
    t = json.loads(run(["tag", "sales/orders", "prod", v1["top_hash"][:8], "--json"], home).stdout)
    assert t["top_hash"] == v1["top_hash"]
    assert json.loads(run(["verify", "--json"], home).stdout)["ok"] is True
    assert json.loads(run(["gc", "--dry-run", "--json"], home).stdout)["removed"] == 0


@pytest.mark.parametrize("args,needle", [
    (["show", "Sales/Orders"], "invalid package reference"),
    (["show", "sales/none"], "not found"),
    (["cat", "sales/x@zz"], "invalid version"),
    (["build", "sales/x", "--table", "t=/no/such/dir"], "does not exist"),
    (["build", "sales/x", "--file", "../x=/etc/hostname"], "escapes"),
    (["tag", "sales/x", "bad tag"], "invalid tag"),
])
def test_errors_are_one_line(args, needle, home):
    p = run(args, home, check=False)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr


def test_demo_runs(home, tmp_path):
    """The demo (SQLite + Iceberg snapshotted into one version, queried, changed, diffed, the first answer
    back from the first version with `lakepkg query`); its story is checked in tests/test_query_demo.py."""
    out = json.loads(run(["demo", "--dir", str(tmp_path / "demo"), "--json"], home).stdout)
    assert out["again"] == out["first"] != out["second"]
    assert sorted(t["name"] for t in out["diff"]["tables"]) == ["customers", "orders"]


def test_log_tags_the_version_record_not_every_record_with_its_hash(home, tmp_path):
    """A, B, then A again: only the newest record of A is `latest`."""
    from lakepkg.write.build import PackageBuilder
    from lakepkg.registry import open_registry

    reg = open_registry()
    tops = []
    for rows in ([1], [1, 2], [1]):
        b = PackageBuilder(reg)
        b.add_table("t", pa.table({"x": rows}))
        tops.append(b.publish("ns/again").top_hash)
    assert tops[0] == tops[2] != tops[1]
    log = json.loads(run(["log", "ns/again", "--json"], home).stdout)
    assert [r["top_hash"] for r in log] == [tops[2], tops[1], tops[0]]
    assert [r["tags"] for r in log] == [["latest"], [], []]
    assert run(["log", "ns/again"], home).stdout.count("(latest)") == 1


def test_commands_that_read_metadata_start_without_arrow_or_a_connector_driver(home, tmp_path):
    """``ls``, ``log`` and ``--help`` import neither pyarrow nor a connector's driver (SQLAlchemy,
    pyiceberg, the Thrift client): they started in 1.3 s, now in about 0.7 s (bench/RESULTS.md "CLI
    start"); only a ``snapshot`` command line loads the connectors."""
    import subprocess
    import sys

    probe = ("import sys\nfrom lakepkg.cli import run\nrc = run(sys.argv[1:])\n"
             "heavy = [m for m in ('pyarrow', 'sqlalchemy', 'pyiceberg', 'hmsclient', 'thrift', 'pymysql', 'psycopg') "
             "if m in sys.modules]\nprint('HEAVY', rc, ','.join(heavy), file=sys.stderr)\n")
    env = cli_env(home)
    for args in (["ls", "--json"], ["--help"], ["ls", "--help"]):
        p = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env)
        line = [x for x in p.stderr.splitlines() if x.startswith("HEAVY")][-1].split(" ")
        assert line[1] == "0" and line[2:] == [""], f"lakepkg {' '.join(args)} imported {line[2:]}: {p.stderr[-500:]}"
    p = subprocess.run([sys.executable, "-c", probe, "snapshot", "sql", "--help"], capture_output=True, text=True, env=env)
    assert "--url" in p.stdout and p.stderr.splitlines()[-1].startswith("HEAVY 0 "), p.stderr[-500:]  # loaded for snapshot
