"""The row-hash cache proves what it is: ``verify --caches`` rehashes each file from its fragment and
removes one that lies (even with a consistent header), and gc's keeper removes the files of objects
no version names (and the unchecked rows-v1 files)."""
from __future__ import annotations

import glob
import hashlib
import json
import os
import time

from lakepkg.write.row_hash_cache import cache_files, prune, read_file
from tests.adversarial_rows import _snap
from tests.cli_run import run_cli
from tests.fixtures.databases import pg_exec


def test_verify_caches_and_gc_keeper(pg_url, tmp_path):
    home = str(tmp_path / "home")
    pg_exec(pg_url, "CREATE TABLE c (id bigint PRIMARY KEY, v text, w bigint)",
            "INSERT INTO c SELECT g, 'v' || g, g FROM generate_series(1, 500) g")
    first = _snap(pg_url, home, "cache/t", "c")
    _snap(pg_url, home, "cache/t", "c")                  # an unchanged re-snapshot hashes and caches
    env = {"LAKEPKG_CACHE_DIR": os.path.join(home, "cache")}
    root = os.path.join(home, "cache", "row-hashes")
    files = sorted(glob.glob(f"{root}/*/*.rh"))
    assert len(files) == 5                               # 100-row fragments
    p = run_cli(["verify", "--caches", "--json"], home, **env)
    rep = json.loads(p.stdout)
    assert rep["ok"] and rep["caches_checked"] == 5 and rep["cache_problems"] == {}
    # a file given another fragment's hashes under its own, consistent header and checksum
    victim, donor = files[0], files[1]
    a, b = open(victim, "rb").read(), open(donor, "rb").read()
    body = a[:72] + b[72:-32]
    open(victim, "wb").write(body + hashlib.sha256(body).digest())
    assert read_file(victim).hashes is not None         # well-formed: only rehashing can tell
    p = run_cli(["verify", "--caches", "--json"], home, check=False, **env)
    rep = json.loads(p.stdout)
    assert p.returncode == 1 and not rep["ok"] and list(rep["cache_problems"]) == [victim], p.stdout
    assert "not its object's rows" in rep["cache_problems"][victim]
    assert not os.path.exists(victim)                    # removed; the next snapshot recomputes it
    assert json.loads(run_cli(["verify", "--caches", "--json"], home, **env).stdout)["ok"]
    # gc's keeper: files of objects no version names go (after the grace), named ones stay
    old_form = os.path.join(root, "ab", "ab" + "0" * 62 + ".v1.npy")
    os.makedirs(os.path.dirname(old_form), exist_ok=True)
    open(old_form, "wb").write(b"\x93NUMPY")
    later = time.time() + 10
    live = {read_file(f).object for f in cache_files(root) if f.endswith(".rh")}
    os.environ["LAKEPKG_CACHE_DIR"] = os.path.join(home, "cache")
    try:
        assert prune(None, live, later, dry_run=True) == 1 and os.path.exists(old_form)
        assert prune(None, live, later, dry_run=False) == 1 and not os.path.exists(old_form)
        assert prune(None, set(), time.time() - 3600, dry_run=False) == 0    # young files are kept
        assert prune(None, set(), later, dry_run=False) == len(live)
        assert list(cache_files(root)) == []
    finally:
        os.environ.pop("LAKEPKG_CACHE_DIR", None)
    assert first.created
