"""Registry: names, references, tags as compare-and-swap, concurrent publishers, time travel."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from datetime import datetime, timezone

import pandas as pd
import pytest

import lakepkg
from lakepkg.write.build import PackageBuilder
from lakepkg.errors import (AmbiguousRefError, ConcurrentUpdateError, InvalidNameError, InvalidRefError,
                            NotFoundError, UnsafePathError)
from lakepkg.format.names import parse_ref, safe_key, validate_package_name


def _publish(registry, name, value, msg=""):
    b = PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"v": [value]}))
    return b.publish(name, msg).record


@pytest.mark.parametrize("bad", ["orders", "Sales/orders", "sales/", "/orders", "sales//orders", "sales/or ders",
                                 "sales/-x", "sales/..", "sales/ór"])
def test_invalid_names(bad):
    with pytest.raises(InvalidNameError) as e:
        validate_package_name(bad)
    assert "\n" not in str(e.value)


def test_nested_namespaces_and_refs():
    assert validate_package_name("a/b/c-d.e_f") == "a/b/c-d.e_f"
    r = parse_ref("sales/orders@3fa2c1/orders")
    assert (r.name, r.hash_prefix, r.path) == ("sales/orders", "3fa2c1", "orders")
    assert parse_ref("sales/orders:prod").tag == "prod"
    assert parse_ref("sales/orders").tag == "latest"
    t = parse_ref("sales/orders@2026-11-01T10:00:00Z")
    assert t.at == datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
    for bad in ["sales/orders@", "sales/orders@xyz", "sales/orders:", "sales/orders:bad tag", "", "Sales/x@abcd"]:
        with pytest.raises(InvalidRefError):
            parse_ref(bad)


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a/../..", "", "C:/x"])
def test_keys_cannot_escape(key):
    with pytest.raises(UnsafePathError):
        safe_key(key)


def test_unsafe_key_publishes_nothing(registry):
    b = PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"v": [1]}))
    with pytest.raises(UnsafePathError):
        b.add_file("../outside.txt", b"x")
    assert registry.list_packages() == []


def test_resolve_hash_tag_time_and_errors(registry):
    r1 = _publish(registry, "t/refs", 1, "one")
    time.sleep(0.01)
    between = datetime.now(timezone.utc)
    time.sleep(0.01)
    r2 = _publish(registry, "t/refs", 2, "two")
    assert registry.resolve("t/refs").top_hash == r2.top_hash
    assert registry.resolve(f"t/refs@{r1.top_hash[:6]}").top_hash == r1.top_hash
    assert registry.resolve(f"t/refs@{between.isoformat()}").top_hash == r1.top_hash
    assert r2.parent == r1.top_hash
    registry.set_tag("t/refs", "prod", r1.top_hash[:8])
    assert registry.resolve("t/refs:prod").top_hash == r1.top_hash
    with pytest.raises(NotFoundError, match="no tag 'staging'"):
        registry.resolve("t/refs:staging")
    with pytest.raises(NotFoundError, match="not found"):
        registry.resolve("t/nope")
    with pytest.raises(NotFoundError):
        registry.resolve("t/refs@ffffffff")
    with pytest.raises(NotFoundError, match="no version at"):
        registry.resolve("t/refs@2001-01-01")
    with pytest.raises(NotFoundError, match="no table"):
        lakepkg.load(f"t/refs@{r1.top_hash[:6]}/zzz", registry)


def test_ambiguous_prefix(registry):
    from lakepkg.format.names import Ref

    hashes = [_publish(registry, "t/amb", i).top_hash for i in range(40)]
    firsts = [h[0] for h in hashes]
    dup = next(c for c in sorted(set(firsts)) if firsts.count(c) > 1)
    with pytest.raises(AmbiguousRefError, match="give more digits"):
        registry.resolve(Ref(name="t/amb", hash_prefix=dup))  # the API accepts any prefix; the CLI asks for 4+


def test_tag_compare_and_swap(registry):
    r1 = _publish(registry, "t/cas", 1)
    r2 = _publish(registry, "t/cas", 2)
    registry.set_tag("t/cas", "prod", r1.top_hash, expected=None)
    with pytest.raises(ConcurrentUpdateError):
        registry.set_tag("t/cas", "prod", r2.top_hash, expected=None)  # must not exist: it does
    with pytest.raises(ConcurrentUpdateError):
        registry.set_tag("t/cas", "prod", r2.top_hash, expected=r2.top_hash)  # holds r1, not r2
    registry.set_tag("t/cas", "prod", r2.top_hash, expected=r1.top_hash)
    assert registry.tags("t/cas")["prod"] == r2.top_hash


def _racer(args):
    home, i = args
    os.environ["LAKEPKG_HOME"] = home
    from lakepkg.registry import open_registry

    reg = open_registry()
    out = []
    for j in range(5):
        b = PackageBuilder(reg)
        b.add_table("t", pd.DataFrame({"writer": [i], "n": [j]}))
        out.append(b.publish("t/race", f"{i}-{j}").top_hash)
    return out


def test_concurrent_publishers_all_land_in_history(registry, home):
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_racer, [(str(home), i) for i in range(4)])
    published = {h for r in results for h in r}
    assert len(published) == 20
    history = {s.top_hash for s in registry.history("t/race")}
    assert history == published
    # latest names the newest record
    newest = registry.history("t/race")[-1]
    assert registry.resolve("t/race").top_hash == newest.top_hash


def test_crash_before_publish_leaves_registry_unchanged(registry):
    r1 = _publish(registry, "t/crash", 1)
    b = PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"v": [2]}))
    b.build()  # objects written, process "dies" before publish
    assert [s.top_hash for s in registry.history("t/crash")] == [r1.top_hash]
    assert registry.resolve("t/crash").top_hash == r1.top_hash


def test_nested_names_that_look_like_registry_folders(registry):
    """Segments named like the registry's own folders (versions, tags) do not confuse listings."""
    hashes = {n: _publish(registry, n, i).top_hash for i, n in enumerate(["a/versions", "a/b", "a/b/tags/x", "a/b/versions/y"])}
    assert registry.list_packages() == sorted(hashes)
    assert registry.list_packages("a/b/") == ["a/b/tags/x", "a/b/versions/y"]
    assert registry.tags("a/b") == {"latest": hashes["a/b"]}
    assert [s.top_hash for s in registry.history("a/b")] == [hashes["a/b"]]
    for n, h in hashes.items():
        assert registry.resolve(n).top_hash == h


def test_a_lock_file_pins_what_load_returns(registry, tmp_path, monkeypatch):
    """Like a requirements file: with a lock, lakepkg.load("ns/name") is the locked version, not latest."""
    import pyarrow as pa

    from lakepkg.errors import NotFoundError
    from lakepkg.maintain.lockfile import lock
    from lakepkg.registry import open_registry

    def publish(rows):
        b = PackageBuilder(registry)
        b.add_table("t", pa.table({"x": rows}))
        return b.publish("nb/data").top_hash

    v1 = publish([1])
    lockfile = str(tmp_path / "lakepkg.lock")
    lock(["nb/data"], registry, path=lockfile)
    v2 = publish([1, 2])
    assert lakepkg.load("nb/data", registry).top_hash == v2
    assert lakepkg.load("nb/data", registry, lock=lockfile).top_hash == v1
    monkeypatch.setenv("LAKEPKG_LOCK", lockfile)
    assert len(lakepkg.load("nb/data", registry)["t"].to_pandas()) == 1
    assert lakepkg.load("nb/data:latest", registry).top_hash == v2  # an explicit selector wins
    assert lakepkg.load(f"nb/data@{v2[:8]}", registry).top_hash == v2
    other = open_registry(str(tmp_path / "elsewhere"))
    with pytest.raises(NotFoundError, match=r"install it with `lakepkg install -R .*lakepkg.lock`"):
        lakepkg.load("nb/data", other)
