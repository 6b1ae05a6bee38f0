"""Every CLI command — core ones and those other modules in lakepkg/cli/ add — has a working
``--help`` and a ``--json`` option whose output parses; usage mistakes are one-line errors.

The command list is read from the CLI itself, so a command added later is covered (or the
test says it needs a JSON invocation below).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]

# Commands whose --json run needs an external system (a database, a metastore, Spark);
# their JSON output is exercised by that module's own tests.
EXTERNAL = {
    "snapshot sql": "tests/test_sql_pg.py",
    "snapshot hive": "tests/test_hive_restore.py",
    "restore": "tests/test_hive_restore.py",
    "query": "tests/test_spark_query.py",
    "snapshot iceberg": "needs a pyiceberg catalog",
    "metastore start": "starts a JVM metastore",
    "compact": "tests/test_deltas_diff.py (needs a keyed SQL snapshot with deletion vectors)",
    "merge": "tests/test_merge_behaviour.py and tests/test_merge_scenarios.py (needs two sides of one history)",
    "catalog": "serves until stopped: tests/test_catalog_browser.py",
}


def all_commands() -> list[str]:
    import typer

    from lakepkg.cli import _load_commands, app

    _load_commands()
    root = typer.main.get_command(app)

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path)

    return sorted(walk(root, []))


COMMANDS = all_commands()


def run(args, home, check=True, cwd=None):
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    p = subprocess.run(LAKEPKG + args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"lakepkg {args} failed ({p.returncode}): {p.stderr}")
    return p


def test_command_list_is_complete():
    core = {"build", "ls", "log", "show", "cat", "diff", "tag", "verify", "gc", "demo",
            "push", "pull", "install", "lock"}
    assert core <= set(COMMANDS)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_works_and_offers_json(cmd, home):
    p = run(cmd.split() + ["--help"], home)
    assert p.returncode == 0 and "--json" in p.stdout and "Traceback" not in p.stderr


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory):
    """A local registry with two versions of one package, and a second local registry as 'remote'."""
    base = tmp_path_factory.mktemp("cliall")
    home = base / "home"
    data = base / "orders"
    for day in (1, 2):
        (data / f"ds=2026-11-0{day}").mkdir(parents=True)
        pq.write_table(pa.table({"id": [day * 10, day * 10 + 1]}), data / f"ds=2026-11-0{day}" / "p.parquet")
    (base / "README.md").write_text("# orders\n")
    v1 = json.loads(run(["build", "cli/orders", "--table", f"orders={data}", "--file",
                         f"README.md={base / 'README.md'}", "--json"], home).stdout)
    (data / "ds=2026-11-03").mkdir()
    pq.write_table(pa.table({"id": [30]}), data / "ds=2026-11-03" / "p.parquet")
    return {"base": base, "home": home, "data": data, "v1": v1["top_hash"], "remote": str(base / "remote")}


def _json_args(cmd: str, w: dict) -> list[str]:
    v1, remote, base = w["v1"], w["remote"], w["base"]
    return {
        "build": ["build", "cli/orders", "--table", f"orders={w['data']}", "-m", "v2"],
        "snapshot files": ["snapshot", "files", "--table", f"orders={w['data']}", "--to", "cli/files"],
        "ls": ["ls"],
        "log": ["log", "cli/orders"],
        "show": ["show", f"cli/orders@{v1[:8]}"],
        "cat": ["cat", f"cli/orders@{v1[:8]}/orders"],
        "diff": ["diff", f"cli/orders@{v1[:8]}"],
        "tag": ["tag", "cli/orders", "prod", v1[:8]],
        "verify": ["verify"],
        "gc": ["gc", "--dry-run"],
        "demo": ["demo", "--dir", str(base / "demo")],
        "push": ["push", f"cli/orders@{v1[:8]}", "--to", remote],
        "pull": ["pull", f"cli/orders@{v1[:8]}", "--from", remote, "--as", "cli/pulled"],
        "lock": ["lock", f"cli/orders@{v1[:8]}", "--file", str(base / "lakepkg.lock")],
        "install": ["install", f"cli/orders@{v1[:8]}", "--dest", str(base / "dest")],
        # --print: the spark-submit command as JSON, without starting Spark (tests/test_spark_jobs.py runs them)
        "spark snapshot-query": ["spark", "snapshot-query", "--to", "cli/q", "--query", "SELECT 1", "--print"],
        "spark snapshot-table": ["spark", "snapshot-table", "db.t", "--to", "cli/t", "--metastore",
                                 "thrift://127.0.0.1:9083", "--print"],
        "spark materialise": ["spark", "materialise", f"cli/orders@{v1[:8]}/orders", "--location",
                              str(base / "mat"), "--print"],
        "where-used": ["where-used", "--table", "orders", "--where", "id = 30"],
        "redact": ["redact", "--table", "orders", "--where", "id = 30", "--all", "--reason", "cli test"],
        "retain": ["retain", "cli/orders", "--keep-last", "5"],
        "audit": ["audit"],
        "clone": ["clone", f"cli/orders@{v1[:8]}", "cli/cloned"],
        "rm": ["rm", f"cli/orders@{v1[:8]}", "--reason", "cli test", "--force"],
    }[cmd]


JSON_ORDER = ["build", "snapshot files", "ls", "log", "show", "cat", "diff", "tag", "verify", "gc", "push", "pull",
              "lock", "install", "clone", "demo", "spark snapshot-query", "spark snapshot-table", "spark materialise",
              "where-used", "redact", "retain", "audit", "rm"]


def test_every_command_has_a_json_check():
    missing = [c for c in COMMANDS if c not in JSON_ORDER and c not in EXTERNAL]
    assert not missing, f"add a --json invocation for {missing} in tests/test_core_cli_all.py"


@pytest.mark.parametrize("cmd", JSON_ORDER)
def test_json_output_parses(cmd, cli_world):
    p = run(_json_args(cmd, cli_world) + ["--json"], cli_world["home"], cwd=str(cli_world["base"]))
    data = json.loads(p.stdout)  # the whole of stdout is one JSON document
    assert data not in (None, [], {}), f"{cmd} --json printed nothing useful"


@pytest.mark.parametrize("args", [
    ["show"],                       # missing argument
    ["build", "x/y", "--bogus"],    # unknown option
    ["gc", "--grace-hours", "abc"],  # bad value
    ["push", "x/y"],                # missing required option
    ["nosuchcommand"],
])
def test_usage_errors_are_one_line(args, home):
    p = run(args, home, check=False)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(lines) == 1 and lines[0].startswith("lakepkg: error:") and "--help" in lines[0], p.stderr
