"""Every command's failure path exits non-zero, in text and in JSON mode.

The command list comes from the CLI itself: a new command without a failure case here fails
``test_every_command_has_a_failure_case``. Under ``--json`` stdout stays clean (or holds only the
command's report, for checks such as ``verify``) and stderr is one JSON object
``{"error": {"type", "message"}}``; in text mode stderr is one ``lakepkg: error:`` line. No
traceback, and no "internal error" (that is a lakepkg bug), in either.

Runs in-process through ``lakepkg.cli.run`` (the function behind the console script) to stay cheap;
``test_console_script_exit_code`` checks the real entry point once in a subprocess.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from lakepkg.cli import run

from tests.test_core_cli_all import COMMANDS


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A default registry with one good package, a second registry whose only package is corrupt."""
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder

    base = tmp_path_factory.mktemp("exitcodes")
    good = open_registry(str(base / "home" / "registry"))
    b = PackageBuilder(good)
    b.add_table("orders", pd.DataFrame({"id": range(20)}))
    b.publish("t/a", "first")
    bad = open_registry(str(base / "bad"))
    b = PackageBuilder(bad)
    b.add_table("orders", pd.DataFrame({"id": range(20)}))
    rec = b.publish("t/bad")
    import lakepkg

    frag = lakepkg.load(f"t/bad@{rec.top_hash}", bad)["orders"].fragments()[0].object
    p = os.path.join(bad.store.objects_dir, frag[:2], frag)
    os.chmod(p, 0o644)
    with open(p, "r+b") as f:
        f.seek(10)
        f.write(b"\xff\xff\xff")
    (base / "afile").write_text("not a folder")
    return base


def failures(base) -> dict[str, list[str]]:
    """One failing invocation per command (each fails for a reason a user can cause)."""
    afile = str(base / "afile")
    bad = str(base / "bad")
    return {
        "build": ["build", "t/b"],                                              # nothing to build
        "ls": ["ls", "-r", str(base / "nonexistent")],                          # no such registry
        "log": ["log", "t/nosuch"],
        "show": ["show", "t/nosuch"],
        "cat": ["cat", "t/nosuch/orders"],
        "diff": ["diff", "t/nosuch"],
        "tag": ["tag", "t/nosuch", "prod"],
        "verify": ["verify", "-r", bad],                                        # a corrupt fragment: FAILED
        "gc": ["gc", "--grace-hours", "-1"],
        "demo": ["demo", "--dir", afile],                                       # a file, not a folder
        "push": ["push", "t/nosuch", "--to", str(base / "remote")],
        "pull": ["pull", "t/a", "--from", str(base / "nonexistent")],
        "install": ["install"],                                                 # nothing to install
        "lock": ["lock", "t/nosuch", "--file", str(base / "x.lock")],
        "restore": ["restore", "t/nosuch/orders", "--into", "db.x", "--location", str(base / "r"),
                    "--metastore", "thrift://127.0.0.1:1"],
        "query": ["query", "SELECT 1", "-p", "t/nosuch"],
        "snapshot sql": ["snapshot", "sql", "--to", "x/y", "--url", "postgresql://postgres@127.0.0.1:1/x",
                         "--table", "a"],
        "snapshot hive": ["snapshot", "hive", "db.t", "--to", "x/y", "--metastore", "thrift://127.0.0.1:1"],
        "snapshot iceberg": ["snapshot", "iceberg", "db.t", "--to", "Bad Name", "--catalog-uri", "sqlite:///:memory:"],
        "snapshot files": ["snapshot", "files", "--table", f"t={bad}-missing", "--to", "x/y"],
        "metastore start": ["metastore", "start", "--dir", afile, "--port", "1"],
        "spark snapshot-query": ["spark", "snapshot-query", "--to", "Bad Name", "--query", "SELECT 1"],
        "spark snapshot-table": ["spark", "snapshot-table", "db.t", "--to", "Bad Name", "--metastore",
                                 "thrift://127.0.0.1:1"],
        "spark materialise": ["spark", "materialise", "t/nosuch/orders", "--location", str(base / "m")],
        "compact": ["compact", "t/nosuch"],                                      # no such package
        "rm": ["rm", "t/nosuch@abcd", "--reason", "x"],
        "retain": ["retain", "t/a", "--keep-days", "0"],                        # would remove every version
        "where-used": ["where-used", "--table", "orders", "--where", "nope = 1"],  # unknown column
        "redact": ["redact", "--table", "orders", "--where", "id = 1", "--all"],  # no --reason
        "audit": ["audit", "-r", str(base / "nonexistent")],
        "clone": ["clone", "t/nosuch", "t/new"],                                # no such package
        "merge": ["merge", "t/nosuch", "t/a", "--to", "t/m"],                   # no such package
        "catalog": ["catalog", "--host", "0.0.0.0", "--port", "0"],             # off loopback without a token
    }


def test_every_command_has_a_failure_case(tmp_path):
    missing = sorted(set(COMMANDS) - set(failures(tmp_path)))
    assert not missing, f"add a failing invocation for {missing} to tests/test_cli_exit_codes.py"


def _run(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("mode", ["text", "json"])
@pytest.mark.parametrize("cmd", COMMANDS)
def test_failure_exits_non_zero(cmd, mode, world, capsys, monkeypatch):
    monkeypatch.setenv("LAKEPKG_HOME", str(world / "home"))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    monkeypatch.setenv("LAKEPKG_NO_PROGRESS", "1")
    args = failures(world)[cmd] + (["--json"] if mode == "json" else [])
    rc, out, err = _run(args, capsys)
    assert rc != 0, f"lakepkg {' '.join(args)} exited 0"
    assert "Traceback" not in err and "internal error" not in err, err
    if cmd == "verify":  # a check that failed: its report on stdout, exit 1
        assert rc == 1
        if mode == "json":
            rep = json.loads(out)
            assert rep["ok"] is False and rep["corrupt"]
        else:
            assert "FAILED" in out
        return
    if mode == "json":
        assert out.strip() == "", f"stdout must stay clean under --json: {out!r}"
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1, err
        doc = json.loads(lines[0])
        assert set(doc["error"]) == {"type", "message"} and doc["error"]["message"], doc
    else:
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("lakepkg: error: "), err


def test_usage_errors_are_json_under_json(capsys):
    rc, out, err = _run(["nosuchcommand", "--json"], capsys)
    assert rc == 2 and out == "" and json.loads(err)["error"]["type"] == "UsageError"
    rc, out, err = _run(["gc", "--grace-hours", "abc", "--json"], capsys)
    assert rc == 2 and json.loads(err)["error"]["type"] == "UsageError"


def test_verify_of_a_missing_package_is_not_found(world, capsys, monkeypatch):
    monkeypatch.setenv("LAKEPKG_HOME", str(world / "home"))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    rc, out, err = _run(["verify", "t/nosuch", "--json"], capsys)
    assert rc == 1 and out == "" and json.loads(err)["error"]["type"] == "NotFoundError"
    rc, out, err = _run(["verify", "t/a", "--json"], capsys)
    assert rc == 0 and json.loads(out)["ok"] is True and json.loads(out)["versions"] == 1


def test_diff_exit_code_and_version(world, capsys, monkeypatch, tmp_path):
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder

    reg = open_registry(str(tmp_path / "r"))
    b = PackageBuilder(reg)
    b.add_table("orders", pd.DataFrame({"id": range(5)}))
    v1 = b.publish("t/d")
    b = PackageBuilder(reg)
    b.add_table("orders", pd.DataFrame({"id": range(6)}))
    b.publish("t/d")
    r = str(tmp_path / "r")
    assert _run(["diff", f"t/d@{v1.top_hash[:8]}", "-r", r], capsys)[0] == 0   # differs, but no --exit-code
    rc, out, _ = _run(["diff", f"t/d@{v1.top_hash[:8]}", "-r", r, "--exit-code"], capsys)
    assert rc == 1 and "changed" in out
    rc, out, _ = _run(["diff", f"t/d@{v1.top_hash[:8]}", f"t/d@{v1.top_hash[:8]}", "-r", r, "--exit-code"], capsys)
    assert rc == 0 and "identical" in out
    rc, out, _ = _run(["--version"], capsys)
    from importlib.metadata import version

    assert rc == 0 and out.strip() == f"lakepkg {version('lakepkg')}"


def test_cat_without_version_reads_latest(world, capsys, monkeypatch):
    monkeypatch.setenv("LAKEPKG_HOME", str(world / "home"))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    rc, out, err = _run(["cat", "t/a/orders", "-n", "3", "--json"], capsys)
    assert rc == 0, err
    assert [r["id"] for r in json.loads(out)] == [0, 1, 2]


def test_short_flags_mean_one_thing_everywhere():
    """A short flag stands for the same long option in every command (``-r`` is always ``--registry``)."""
    import typer

    from lakepkg.cli import _load_commands, app

    _load_commands()
    meaning: dict[str, set[str]] = {}

    def walk(cmd, path):
        for sub in (getattr(cmd, "commands", None) or {}).values():
            walk(sub, path + [sub.name])
        for p in getattr(cmd, "params", []):
            longs = [o for o in p.opts if o.startswith("--")]
            for o in p.opts:
                if len(o) == 2 and o.startswith("-"):
                    meaning.setdefault(o, set()).add(f"{longs[0]} ({' '.join(path)})")

    walk(typer.main.get_command(app), [])
    names = {k: {m.split(" ")[0] for m in v} for k, v in meaning.items()}
    # -n is "how many rows" (cat --limit, query --limit); -t is a table; -f a file; -r the registry
    conflicting = {k: sorted(meaning[k]) for k, v in names.items() if len(v) > 1}
    assert not conflicting, conflicting
    assert names["-r"] == {"--registry"}


def test_console_script_exit_code(tmp_path):
    """The installed entry point exits with run()'s code (verify FAILED is 1, not 0)."""
    env = {**os.environ, "LAKEPKG_HOME": str(tmp_path / "h"), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    p = subprocess.run([sys.executable, "-m", "lakepkg.cli", "ls", "-r", str(tmp_path / "nope"), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and p.stdout == "" and json.loads(p.stderr)["error"]["type"] == "NotFoundError"
