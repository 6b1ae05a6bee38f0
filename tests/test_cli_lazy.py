"""The CLI loads only the command being run (start-up, issue 24): the command → module table is the
truth, a command line that starts with a command imports that module alone and no pydantic, and a
later full load lists the commands as a fresh one does. Values typer would coerce still are."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main

from lakepkg.cli import COMMAND_MODULES, _command_modules


def test_table_names_every_command_of_every_module() -> None:
    seen = {}
    for mod in _command_modules():
        m = importlib.import_module(f"lakepkg.cli.{mod}")
        if getattr(m, "register", None) is None:
            continue
        app, snap = typer.Typer(), typer.Typer()
        m.register(app, snap)
        for info in app.registered_commands:
            seen[info.name or info.callback.__name__.replace("_", "-")] = mod
        for g in app.registered_groups:
            seen[g.name] = mod
    assert seen == COMMAND_MODULES


def _probe(argv: list[str]) -> dict:
    code = ("import json, sys\nfrom lakepkg.cli import run\nrc = run(json.loads(sys.argv[1]))\n"
            "print(json.dumps({'rc': rc, 'pydantic': 'pydantic' in sys.modules, "
            "'cli': sorted(m for m in sys.modules if m.startswith('lakepkg.cli.') and not m.split('.')[-1].startswith('_'))}))")
    p = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True,
                       env={**os.environ, "LAKEPKG_REGISTRY": os.devnull + "-none"}, timeout=60)
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv,module", [(["query", "--help"], "query"), (["ls", "--help"], "core"),
                                         (["metastore", "--help"], "hive")])
def test_a_command_line_loads_its_module_alone_and_no_pydantic(argv: list[str], module: str) -> None:
    got = _probe(argv)
    assert got["rc"] == 0
    assert got["cli"] == sorted({"lakepkg.cli.output", f"lakepkg.cli.{module}"})
    assert got["pydantic"] is False


def test_root_help_and_unknown_commands_load_everything() -> None:
    everything = {f"lakepkg.cli.{m}" for m in _command_modules()}
    assert set(_probe(["--help"])["cli"]) >= everything - {"lakepkg.cli.output"}
    assert set(_probe(["--help", "query"])["cli"]) >= everything - {"lakepkg.cli.output"}
    bad = _probe(["qurey"])
    assert bad["rc"] == 2 and set(bad["cli"]) >= everything - {"lakepkg.cli.output"}


def test_a_partial_load_then_a_full_one_lists_commands_as_a_fresh_one() -> None:
    code = ("import sys, json, typer.main\nfrom lakepkg.cli import _load_commands, app\n{pre}"
            "_load_commands(None)\nprint(json.dumps(list(typer.main.get_command(app).list_commands(None))))")
    fresh = subprocess.run([sys.executable, "-c", code.format(pre="")], capture_output=True, text=True, timeout=60)
    after = subprocess.run([sys.executable, "-c", code.format(pre="_load_commands(['query'])\n")],
                           capture_output=True, text=True, timeout=60)
    names = json.loads(fresh.stdout)
    assert "query" in names and "ls" in names and "snapshot" in names
    assert json.loads(after.stdout) == names


def test_values_still_coerced_and_checked_by_typer(capsys: pytest.CaptureFixture[str]) -> None:
    """A plain value passes through; a string for an int is converted, a bad one refused as before."""
    from lakepkg.cli import _load_commands, app, run

    _load_commands(["query"])
    cmd = typer.main.get_command(app).commands["query"]  # type: ignore[attr-defined]
    ctx = cmd.make_context("query", ["SELECT 1", "-p", "a/b@abcd", "-p", "c/d@abcd", "-n", "7"])
    assert ctx.params["package"] == ["a/b@abcd", "c/d@abcd"] and ctx.params["limit"] == 7
    assert ctx.params["fmt"] == "table" and ctx.params["check"] is False and ctx.params["dialect"] is None
    assert run(["query", "SELECT 1", "-p", "a/b@abcd", "-n", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-n" in err and "integer" in err


# modules a ``lakepkg query`` on the fast engine never uses: the publish result, the notebook views,
# deletion vectors (a version without any), the package diff; and for a query with no WHERE and no
# to_char / DATE_FORMAT, the WHERE reader and the format translation. Loading one back costs every
# query its start-up (issue 24); a test that fails names the module, ``python -X importtime`` the chain.
QUERY_NEVER_LOADS = ("lakepkg.write.publish", "lakepkg.write.run_context", "lakepkg.read.notebook",
                     "lakepkg.read.html", "lakepkg.read.history", "lakepkg.read.deletes",
                     "lakepkg.format.deletion_vector", "lakepkg.read.diff", "lakepkg.read.where",
                     "lakepkg.query.formats")


def test_a_query_loads_no_writer_notebook_or_vector_module(home: Path) -> None:
    import pyarrow as pa

    import lakepkg
    from tests.cli_run import cli_env

    ref = lakepkg.build("shop/s", {"orders": pa.table({"id": [1, 2, 3]})}).ref
    code = ("import json, sys\nfrom lakepkg.cli import run\nrc = run(json.loads(sys.argv[1]))\n"
            "print(json.dumps({'rc': rc, 'loaded': sorted(m for m in sys.modules if m.startswith('lakepkg.'))}))")
    argv = ["query", "SELECT count(*) AS n FROM orders", "-p", ref, "--format", "csv"]
    p = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True,
                       env=cli_env(home), timeout=120)
    lines = p.stdout.strip().splitlines()
    assert lines[:2] == ["n", "3"], p.stdout + p.stderr
    got = json.loads(lines[-1])
    assert got["rc"] == 0 and "lakepkg.query.duck" in got["loaded"]  # the query ran on the fast engine
    assert [m for m in QUERY_NEVER_LOADS if m in got["loaded"]] == []
