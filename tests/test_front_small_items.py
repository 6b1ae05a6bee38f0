"""The small defects a new user hit in the first hour (issue 23 item 10), one test each."""
from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.csv as pacsv

import lakepkg
from lakepkg.cli import run


def _cli(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_build_prints_ref_and_records_inputs(home, tmp_path, capsys):
    pacsv.write_csv(pa.table({"a": [1, 2]}), tmp_path / "t.csv")
    rc, out, err = _cli(["build", "shop/x", "-t", f"t={tmp_path / 't.csv'}", "--input", "raw/y@0123456789",
                         "--print", "ref"], capsys)
    assert rc == 0, err
    ref = out.strip().splitlines()[-1]
    rec = lakepkg.load(ref).record
    assert ref == f"shop/x@{rec.top_hash[:10]}" and rec.run["inputs"] == ["raw/y@0123456789"]
    rc, out, err = _cli(["build", "shop/x", "-t", f"t={tmp_path / 't.csv'}", "--print", "top_hash"], capsys)
    assert rc == 0 and out.strip().splitlines()[-1] == rec.top_hash
    rc, out, err = _cli(["build", "shop/x", "-t", f"t={tmp_path / 't.csv'}", "--print", "ref", "--json"], capsys)
    assert rc == 1 and "give --json or --print, not both" in err


def test_author_comes_from_the_account_when_no_login_variable(home, monkeypatch):
    import getpass

    for var in ("LAKEPKG_AUTHOR", "AIRFLOW_CTX_DAG_OWNER", "USER", "LOGNAME", "USERNAME"):
        monkeypatch.delenv(var, raising=False)
    res = lakepkg.build("shop/a", {"t": pa.table({"a": [1]})})
    assert res.record.author == getpass.getuser() != "unknown"


def test_pull_and_install_say_fetched(home, tmp_path, capsys):
    src = str(tmp_path / "remote")
    lakepkg.build("shop/p", {"t": pa.table({"a": [1]})}, registry=src)
    rc, out, err = _cli(["pull", "shop/p", "--from", src], capsys)
    assert rc == 0 and "objects fetched" in out and "sent" not in out, out
    rc, out, err = _cli(["push", "shop/p", "--to", str(tmp_path / "other")], capsys)
    assert rc == 0 and "objects sent" in out


def test_help_types_read_as_people_write_them(capsys):
    rc, out, err = _cli(["build", "--help"], capsys)
    assert "<bool>" not in out and "<list[" not in out and "<str>..." in out, out


def test_dir_lists_the_verbs_not_typing_names():
    names = dir(lakepkg)
    assert "Any" not in names and "annotations" not in names
    assert {"snapshot", "build", "load", "push", "diff", "verify", "Package"} <= set(names)


def test_table_notebook_display_shows_first_rows(registry):
    lakepkg.build("shop/n", {"t": pa.table({"id": list(range(30)), "name": [f"<b>{i}" for i in range(30)]})},
                  registry=registry)
    html = lakepkg.load("shop/n", registry)["t"]._repr_html_()
    assert "first 10 of 30 rows" in html and "&lt;b&gt;9" in html and "&lt;b&gt;10" not in html


def test_row_diff_has_a_notebook_display(registry):
    a = lakepkg.build("shop/r", {"t": pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]})}, registry=registry)
    b = lakepkg.build("shop/r", {"t": pa.table({"id": [1, 2, 4], "v": ["a", "B", "d"]})}, registry=registry)
    d = lakepkg.diff(a.ref, b.ref, registry, rows=True, key=["id"])
    html = d._repr_html_()
    assert "Row diff" in html and "added (1)" in html and "removed (1)" in html and "changed (1)" in html
    assert ">d<" in html and "RowDiff" in repr(d)


def test_the_cli_starts_without_a_login_name(home, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "USERNAME")}
    env.update({"LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"})
    pacsv.write_csv(pa.table({"a": [1]}), tmp_path / "t.csv")
    p = subprocess.run([sys.executable, "-m", "lakepkg.cli.__main__", "build", "shop/u", "-t", f"t={tmp_path / 't.csv'}",
                        "--json"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and '"author": "unknown"' not in p.stdout, p.stderr


def test_spark_reference_without_latest_finds_the_table(registry):
    """``spark.read.format("pkg").load("ns/name/table")`` resolves as ``lakepkg cat`` does (the data
    source's reference resolution, without starting Spark)."""
    from lakepkg.spark.reader import resolve_table

    lakepkg.build("shop/s", {"orders": pa.table({"id": [1, 2]})}, registry=registry)
    t = resolve_table("shop/s/orders", registry.location, {})
    assert t.name == "orders" and t.rows == 2


def test_snapshot_sql_without_the_driver_says_pip_install(home, pg_url):
    """``snapshot sql`` where the ``[sql]`` extra's driver is missing (its import blocked) names the
    extra to install, not a server to start."""
    code = ("import sys\nfor m in ('psycopg', 'psycopg2', 'psycopg2cffi', 'pg8000', 'asyncpg'):\n    sys.modules[m] = None\n"
            "from lakepkg.cli import run\n"
            f"sys.exit(run(['snapshot', 'sql', '--url', {pg_url!r}, '--table', 'public.t', '--to', 'shop/t']))\n")
    from tests.cli_run import cli_env

    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(home))
    assert p.returncode == 1 and "pip install 'lakepkg[sql]'" in p.stderr and "server is running" not in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_counts_are_singular_for_one(home, tmp_path, capsys):
    pacsv.write_csv(pa.table({"a": [1]}), tmp_path / "t.csv")
    rc, out, err = _cli(["build", "shop/one", "-t", f"t={tmp_path / 't.csv'}"], capsys)
    assert rc == 0, err
    rc, out, err = _cli(["show", "shop/one"], capsys)
    assert "1 row  1 fragment " in out and "1 fragments" not in out, out
    rc, out, err = _cli(["verify", "shop/one@" + lakepkg.load("shop/one").top_hash[:10]], capsys)
    assert out.startswith("1 version, ") and "1 versions" not in out, out
