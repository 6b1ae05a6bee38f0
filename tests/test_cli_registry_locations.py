"""Registries by scheme (issue 23 items 3 and 4): one parser of locations, every other scheme refused in
one line, and the S3 connection options on every command that names a registry."""
from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import ConfigError
from lakepkg.registry import open_registry, parse_location


def _cli(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("text, kind, url", [
    ("/tmp/reg", "local", "/tmp/reg"),
    ("file:///tmp/reg", "local", "/tmp/reg"),
    ("FILE:///tmp/reg/", "local", "/tmp/reg"),
    ("file:/tmp/reg", "local", "/tmp/reg"),
    ("file://localhost/tmp/reg", "local", "/tmp/reg"),
    ("s3://team-lake/registry/", "s3", "s3://team-lake/registry"),
    ("S3://team-lake/registry", "s3", "s3://team-lake/registry"),
    ("s3a://team-lake/registry", "s3", "s3://team-lake/registry"),
    ("S3N://team-lake", "s3", "s3://team-lake"),
])
def test_supported_locations_parse_to_one_spelling(text, kind, url):
    loc = parse_location(text)
    assert (loc.kind, loc.url) == (kind, url)


def test_relative_paths_are_local_even_with_a_colon(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_location("reg").url == str(tmp_path / "reg")
    assert parse_location("backup:2024/reg").url == str(tmp_path / "backup:2024" / "reg")
    assert parse_location("~/reg").url == os.path.expanduser("~/reg")


@pytest.mark.parametrize("text", ["http://example.com/x", "gs://bucket/x", "HDFS://nn:8020/lake", "abfss://c@a/x",
                                  "ftp:/x"])
def test_other_schemes_are_refused_naming_the_supported_ones(text):
    with pytest.raises(ConfigError) as e:
        parse_location(text)
    msg = str(e.value)
    assert "not supported" in msg and "s3://BUCKET/PREFIX" in msg and "file://" in msg and "\n" not in msg


def test_the_api_refuses_before_anything_is_created(tmp_path, monkeypatch, home):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="scheme gs:// is not supported"):
        lakepkg.load("shop/x", registry="gs://bucket/x")
    with pytest.raises(ConfigError, match="scheme http:// is not supported"):
        open_registry("http://example.com/x")
    assert not os.path.exists(tmp_path / "gs:") and not os.path.exists(tmp_path / "http:")


@pytest.fixture()
def built(home, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    pq.write_table(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), tmp_path / "t.parquet")
    rc, out, err = _cli(["build", "shop/x", "-t", f"t={tmp_path / 't.parquet'}"], capsys)
    assert rc == 0, err
    return tmp_path


@pytest.mark.parametrize("dest", ["http://example.com/x", "gs://bucket/x", "S3X://team-lake/x"])
def test_push_to_an_unsupported_scheme_fails_and_creates_no_folder(built, capsys, dest):
    rc, out, err = _cli(["push", "shop/x", "--to", dest], capsys)
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 1 and out == "" and len(lines) == 1, (rc, out, err)
    assert "is not supported" in lines[0] and "s3://BUCKET/PREFIX" in lines[0]
    assert sorted(os.listdir(built)) == ["lakepkg-home", "t.parquet"]


def test_every_command_naming_a_registry_takes_the_connection_options():
    """Walks the whole command tree: a command another module adds gets them too."""
    import typer.main

    from lakepkg.cli import _load_commands, app

    _load_commands(None)
    root = typer.main.get_command(app)
    seen = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if "--registry" in opts:
            seen.append(path)
            missing = {"--endpoint-url", "--region", "--profile"} - opts
            assert not missing, f"`{path}` takes --registry but not {sorted(missing)}"
        for name, sub in (subs or {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "lakepkg")
    for expected in ("lakepkg verify", "lakepkg ls", "lakepkg log", "lakepkg show", "lakepkg cat", "lakepkg diff",
                     "lakepkg gc", "lakepkg query", "lakepkg push", "lakepkg pull", "lakepkg install",
                     "lakepkg snapshot sql", "lakepkg snapshot", "lakepkg spark materialise"):
        assert expected in seen, (expected, seen)


def test_s3a_registry_with_options_on_read_commands(built, capsys, s3_bucket_url, s3_endpoint, monkeypatch):
    """``s3a://`` and an upper-case scheme reach the same S3 registry; ``--endpoint-url`` is what
    finds the server (the environment's endpoint is removed)."""
    monkeypatch.delenv("LAKEPKG_S3_ENDPOINT_URL")
    bucket_path = s3_bucket_url[len("s3://"):]
    ep = ["--endpoint-url", s3_endpoint, "--region", "us-east-1"]
    rc, out, err = _cli(["push", "shop/x", "--to", f"s3a://{bucket_path}", *ep], capsys)
    assert rc == 0, err
    assert not os.path.exists(built / "s3a:")
    for args in (["verify"], ["ls"], ["log", "shop/x"], ["show", "shop/x"], ["cat", "shop/x/t"],
                 ["diff", "shop/x", "shop/x"], ["gc", "--dry-run"]):
        rc, out, err = _cli([*args, "-r", f"S3://{bucket_path}", *ep, "--json"], capsys)
        assert rc == 0, (args, err)
    rc, out, err = _cli(["cat", "shop/x/t", "-r", f"s3n://{bucket_path}", *ep], capsys)
    assert rc == 0 and "b" in out, err
    # without the option, the same command cannot find the endpoint: the option was what reached it
    rc, out, err = _cli(["ls", "-r", f"s3://{bucket_path}", "--endpoint-url", "http://127.0.0.1:9"], capsys)
    assert rc != 0 and len(err.strip().splitlines()) == 1
    # the API takes the same spellings
    assert lakepkg.load("shop/x", registry=open_registry(f"s3a://{bucket_path}", endpoint_url=s3_endpoint)).tables == ["t"]


def test_one_registry_opener():
    """``open_registry`` takes a Registry as it is: no module keeps its own copy of that choice."""
    root = os.path.dirname(lakepkg.__file__)
    copies = []
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(folder, f), encoding="utf-8").read()
                if "else open_registry(" in text or "isinstance(registry, Registry)" in text:
                    copies.append(os.path.relpath(os.path.join(folder, f), root))
    assert copies == [], copies
