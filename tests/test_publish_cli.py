"""``lakepkg snapshot NAME`` is generated from the connectors' entry points and declared options:
a third-party connector (tests/plugins/lakepkg_toy, discoverable through a .dist-info entry point,
not installed into the venv) gets its command, ``--help`` and a working snapshot; every snapshot
command has --input, --print ref|top_hash and --json."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg

HERE = pathlib.Path(__file__).parent


@pytest.fixture()
def toy_path(tmp_path) -> str:
    """A site folder where the toy connector's distribution metadata says what an install would."""
    site = tmp_path / "site"
    dist = site / "lakepkg_toy-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lakepkg-toy\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lakepkg.connectors]\ntoy = lakepkg_toy:connector\n")
    return os.pathsep.join([str(site), str(HERE / "plugins")])


def _cli(args, home, pythonpath=None):
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "lakepkg.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_a_third_party_connector_gets_its_command(toy_path, home, registry):
    h = _cli(["snapshot", "toy", "--help"], home, toy_path)
    assert h.returncode == 0, h.stderr
    for opt in ("--rows", "--label", "--shout", "--skip", "--to", "--input", "--print", "--json", "--full"):
        assert opt in h.stdout, opt
    assert "Snapshot a generated sequence of numbers" in h.stdout
    listing = _cli(["snapshot", "--help"], home, toy_path)
    assert "toy" in listing.stdout and "toy" not in _cli(["snapshot", "--help"], home).stdout

    p = _cli(["snapshot", "toy", "--rows", "6", "--skip", "2", "--skip", "4", "--shout", "--to", "toy/nums",
              "--input", "raw/in@0123456789", "--print", "top_hash"], home, toy_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    rec = registry.resolve("toy/nums")
    assert lines[-1] == rec.top_hash and "toy: 4 toy rows generated" in p.stdout  # the connector's own line
    df = lakepkg.load("toy/nums", registry)["toy"].to_pandas()
    assert df["n"].tolist() == [0, 1, 3, 5] and set(df["label"]) == {"TOY"}
    assert rec.run["inputs"] == ["raw/in@0123456789"] and rec.message == "snapshot via toy"
    j = _cli(["snapshot", "toy", "--rows", "6", "--skip", "2", "--skip", "4", "--shout", "--to", "toy/nums",
              "--json"], home, toy_path)
    out = json.loads(j.stdout)
    assert out["created"] is False and out["top_hash"] == rec.top_hash and out["tables"]["toy"]["generated"] == 4
    bad = _cli(["snapshot", "toy", "--to", "toy/x"], home, toy_path)  # --rows is required
    assert bad.returncode == 2 and "--rows" in bad.stderr and bad.stderr.count("\n") == 1
    neg = _cli(["snapshot", "toy", "--rows", "-1", "--to", "toy/x"], home, toy_path)
    assert neg.returncode != 0 and neg.stderr.strip() == "lakepkg: error: --rows must not be negative"


def test_the_cli_names_no_connector():
    """Commands come from entry points: no CLI module imports a connector by name."""
    cli = HERE.parent / "lakepkg" / "cli"
    offenders = [p.name for p in cli.glob("*.py") if "lakepkg_connectors" in p.read_text()]
    assert offenders == []
    assert not (cli / "sql.py").exists() and not (cli / "iceberg.py").exists()


def test_files_command_input_print_and_json(tmp_path, home, registry):
    data = tmp_path / "ev"
    for day in (1, 2):
        (data / f"ds={day}").mkdir(parents=True)
        pq.write_table(pa.table({"e": [day]}), data / f"ds={day}" / "p.parquet")
    args = ["snapshot", "files", "--table", f"events={data}", "--to", "raw/ev", "--tag", "prod"]
    p = _cli(args + ["--print", "ref"], home)
    assert p.returncode == 0, p.stderr
    rec = registry.resolve("raw/ev:prod")
    assert p.stdout.strip().splitlines()[-1] == f"raw/ev@{rec.top_hash[:10]}"
    j = json.loads(_cli(args + ["--json", "--input", "a/b@0123456789"], home).stdout)
    assert j["created"] is False and j["tables"]["events"]["files_reused"] == 2 and j["ref"] == f"raw/ev@{rec.top_hash[:10]}"
    full = json.loads(_cli(args + ["--json", "--full"], home).stdout)
    assert full["tables"]["events"]["files_read"] == 2 and full["top_hash"] == rec.top_hash
    both = _cli(args + ["--json", "--print", "ref"], home)
    assert both.returncode != 0 and "not both" in both.stderr
    what = _cli(args + ["--print", "hash"], home)
    assert what.returncode != 0 and "give ref or top_hash" in what.stderr
    twice = _cli(["snapshot", "files", "--table", f"a={data}", "--table", f"a={data}", "--to", "raw/x"], home)
    assert twice.returncode != 0 and "given twice" in twice.stderr
