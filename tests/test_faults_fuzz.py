"""Fuzz of names, references, filters, lock/config files ("specs") and manifest keys: no traceback.

Every input either works or fails with a lakepkg error (one line from the CLI, a JSON error object
under ``--json``); no dependency's exception and no "internal error" ever reaches the user. Inputs
come from a seeded generator biased towards the characters that matter (``/ @ : .. \\n \\x00``,
unicode line separators, very long runs); the seed is printed.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import LakepkgError
from lakepkg.format import names
from lakepkg.write.build import PackageBuilder

from tests.fault_tools import seeded

PIECES = ["a", "b", "z", "0", "9", "A", "_", "-", ".", "..", "/", "//", "@", ":", " ", "\n", "\r", "\t", "\x00",
          "\x1b", "\x7f", "é", "ß", "\u2028", "\u202e", "😀", "\\", "*", "?", "%", "'", '"', "latest", "prod",
          "abcd", "0123456789abcdef", "2026-01-01", "2026-13-45T99:00", "sales/orders", "g/a", "orders", "README.md"]


def fuzz_strings(rnd, n):
    out = []
    for _ in range(n):
        k = rnd.choice([1, 2, 3, 5, 8, 13])
        s = "".join(rnd.choice(PIECES) for _ in range(k))
        if rnd.random() < 0.05:
            s = s * rnd.choice([50, 400])  # long
        out.append(s)
    return out


def _only_lakepkg_errors(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except LakepkgError:
        return None
    except Exception as exc:
        raise AssertionError(f"{fn.__name__}{args!r:.200} raised {type(exc).__name__}: {exc!s:.300}") from None


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every fuzz test runs in its own folder: a relative path in anything fuzzed lands there, never in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def fuzz_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("LAKEPKG_HOME", str(home))
    mp.setenv("LAKEPKG_REGISTRY", str(home / "registry"))  # fuzzed config files cannot point elsewhere
    mp.chdir(home)  # and a relative path in anything fuzzed stays under the test's folder
    from lakepkg.registry import open_registry

    reg = open_registry()
    b = PackageBuilder(reg)
    b.add_table("orders", pd.DataFrame({"id": range(30), "ds": ["a", "b", "c"] * 10, "x": [0.5] * 30}),
                partition_cols=["ds"], rows_per_fragment=10)
    b.add_file("README.md", b"# g\n")
    b.publish("g/a")
    yield home, reg
    mp.undo()


def test_fuzz_names_and_refs(fuzz_home):
    home, reg = fuzz_home
    rnd = seeded("fuzz-names")
    for s in fuzz_strings(rnd, 400):
        for fn in (names.validate_package_name, names.validate_tag, names.validate_table_name, names.safe_key,
                   names.parse_ref):
            r = _only_lakepkg_errors(fn, s)
            if r is not None and fn is not names.parse_ref:
                assert not any(c in s for c in "\n\r\x00\u2028"), f"{fn.__name__} accepted {s!r}"
        _only_lakepkg_errors(lakepkg.load, s, reg)
        _only_lakepkg_errors(lakepkg.load, "g/a@" + s, reg)
        _only_lakepkg_errors(lakepkg.load, "g/a:latest/" + s, reg)


def _cli_ok(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    assert rc in (0, 1, 2), (args, rc, cap.err)
    assert "Traceback" not in cap.err and "internal error" not in cap.err, (args, cap.err)
    if rc and "--json" in args:
        json.loads(cap.err.strip().splitlines()[-1])
    return rc


def test_fuzz_cli(fuzz_home, capsys):
    rnd = seeded("fuzz-cli")
    for s in fuzz_strings(rnd, 120):
        cmd = rnd.choice([["show", s], ["cat", s], ["log", s], ["verify", s], ["diff", s], ["tag", "g/a", s],
                          ["tag", s, "prod"], ["cat", "g/a:latest/" + s], ["ls", s], ["lock", s, "--file", "/dev/null"]])
        _cli_ok(cmd + (["--json"] if rnd.random() < 0.5 else []), capsys)


def test_fuzz_filters_and_columns(fuzz_home):
    _, reg = fuzz_home
    t = lakepkg.load("g/a", reg)["orders"]
    rnd = seeded("fuzz-filters")
    values = [0, 1, -1, 2.5, "a", "", None, [1, 2], ["a"], (), {}, True, "2026-01-01", 10 ** 30, float("nan"), b"x"]
    cols = ["id", "ds", "x", "nope", "", 3, None]
    ops = ["=", "==", "!=", "<", ">=", "in", "not in", "like", "", None]
    for _ in range(150):
        term = (rnd.choice(cols), rnd.choice(ops), rnd.choice(values))
        shape = rnd.choice([[term], term, [[term]], [term, term], "id = 1", 5, [[]], [()], {"id": 1}])
        _only_lakepkg_errors(t.to_pandas, filters=shape)
        _only_lakepkg_errors(t.to_pandas, columns=rnd.sample(cols[:4], rnd.randrange(1, 4)))


def test_fuzz_lock_and_config_files(fuzz_home, tmp_path, monkeypatch):
    from lakepkg.config import file_settings
    from lakepkg.maintain.lockfile import read_lockfile

    rnd = seeded("fuzz-specs")
    for i, s in enumerate(fuzz_strings(rnd, 100)):
        lock = tmp_path / f"l{i}.lock"
        lock.write_text(rnd.choice(["", "# c\n", "g/a@" + "0" * 64 + "\n"]) + s + "\n", encoding="utf-8", errors="surrogatepass")
        _only_lakepkg_errors(read_lockfile, str(lock))
        cfg = tmp_path / f"c{i}.yaml"
        # no "registry:" / "cache_dir:" keys: a fuzzed location would create folders wherever it says
        cfg.write_text(rnd.choice(["author: ", "- ", "{", "author: [", "lock: ", ""]) + s, encoding="utf-8",
                       errors="surrogatepass")
        monkeypatch.setenv("LAKEPKG_CONFIG", str(cfg))
        _only_lakepkg_errors(file_settings)
        _only_lakepkg_errors(lakepkg.load, "g/a", None)
    monkeypatch.delenv("LAKEPKG_CONFIG")


def test_fuzz_manifest_keys(fuzz_home, tmp_path):
    """A forged (validly hashed) manifest with a random logical key: reads refuse it or serve it safely;
    verify and push report, never crash."""
    from lakepkg.format.canonical import canonical_json, load_json
    from lakepkg.maintain.verify import verify_registry

    _, reg = fuzz_home
    rnd = seeded("fuzz-manifest")
    rec = reg.resolve("g/a")
    root = load_json(reg.store.get_bytes(rec.top_hash), "root")
    page_hash = root["files"][0]["hash"]
    first = json.loads(reg.store.get_bytes(page_hash).splitlines()[0])
    for i, s in enumerate(fuzz_strings(rnd, 60)):
        entry = {**first, "key": s}
        page = reg.store.put_bytes(canonical_json(entry) + b"\n")
        forged = json.loads(json.dumps(root))
        forged["files"][0] = {**forged["files"][0], "hash": page, "first": s, "last": s}
        top = reg.store.put_bytes(canonical_json(forged))
        name = f"f/forged{i}"
        reg.publish(name, top)
        pkg = _only_lakepkg_errors(lakepkg.load, name, reg)
        if pkg is not None:
            files = _only_lakepkg_errors(lambda: pkg.files)
            if files is not None:
                assert all(names.is_safe_key(f.key) for f in files), [f.key for f in files]
        rep = _only_lakepkg_errors(verify_registry, reg, reg.versions(name))
        if rep is not None and not names.is_safe_key(s):
            assert not rep.ok, f"verify passed a manifest with logical key {s!r}"
        from lakepkg.maintain.transfer import push

        _only_lakepkg_errors(push, name, str(tmp_path / "remote"), registry=reg.location)
