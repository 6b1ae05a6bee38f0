"""verify covers the registry's own metadata, and reads refuse what it would report (local and S3).

Each test damages one piece of metadata the way issue 10 point 5 found it could be damaged, then checks
that verify reports it, that reads refuse it with a one-line lakepkg error, and that listings survive."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import lakepkg
from lakepkg.errors import IntegrityError, LakepkgError, NotFoundError, UnsafePathError
from lakepkg.format.canonical import canonical_json
from lakepkg.format.manifest import Entry, EntrySorter, RootNodeData, build_table_node, store_node
from lakepkg.maintain.transfer import copy_version
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder


@pytest.fixture()
def reg(any_registry):
    return any_registry


def _pkg(reg, name, n=30, message="m"):
    b = PackageBuilder(reg)
    b.add_table("orders", pd.DataFrame({"id": range(n), "ds": [f"d{i % 2}" for i in range(n)]}), partition_cols=["ds"])
    return b.publish(name, message).record


def _put(reg, key, data: bytes):
    cur = reg.meta.read(key)
    assert reg.meta.replace(key, data, cur[1] if cur else None)


def _tag_key(name, tag):
    return f"packages/{name}/tags/{tag}.json"


def test_a_rewritten_record_is_detected_by_its_seal(reg):
    r1 = _pkg(reg, "g/rec", 30, "first")
    _pkg(reg, "g/rec", 40, "second")
    data, _ = reg.meta.read(r1.key)
    doc = json.loads(data)
    doc["author"], doc["message"] = "mallory", "nothing to see"
    _put(reg, r1.key, canonical_json(doc))                      # same key, same top hash, new content
    with pytest.raises(IntegrityError, match="altered") as e:
        lakepkg.load(f"g/rec@{r1.top_hash[:8]}", reg)
    assert "\n" not in str(e.value)
    rep = verify_registry(reg)
    assert not rep.ok and any(r1.top_hash[:10] in x and "seal" in x for x in rep.errors)
    assert lakepkg.load("g/rec", reg)["orders"].rows == 40       # the intact version still reads


def test_an_unsealed_record_of_an_old_registry_stays_readable(reg):
    r1 = _pkg(reg, "g/old")
    data, _ = reg.meta.read(r1.key)
    old_key = r1.key.rsplit("-", 1)[0] + ".json"                 # <time>-<top hash>.json
    assert reg.meta.create(old_key, data)
    reg.meta.delete(r1.key)
    _put(reg, _tag_key("g/old", "latest"), canonical_json({"top_hash": r1.top_hash, "version": old_key}))
    assert lakepkg.load("g/old", reg).top_hash == r1.top_hash
    assert verify_registry(reg).ok


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"top_hash": 3}', b'"x"', b"misspelt"],
                         ids=["invalid", "list", "badfield", "string", "misspelt-version"])
def test_a_broken_tag_is_reported_and_listings_survive(reg, body):
    r1 = _pkg(reg, "g/tags")
    reg.set_tag("g/tags", "prod", r1.top_hash)
    if body == b"misspelt":  # one flipped bit: "version" -> "fersion" (the corruption fuzzer's seed 62708)
        body = reg.meta.read(_tag_key("g/tags", "prod"))[0].replace(b'"version"', b'"fersion"')
    _put(reg, _tag_key("g/tags", "prod"), body)
    assert reg.tags("g/tags") == {"latest": r1.top_hash}         # `lakepkg ls` builds on this: no TypeError
    with pytest.raises(IntegrityError) as e:
        lakepkg.load("g/tags:prod", reg)
    assert "g/tags:prod" in str(e.value) and "\n" not in str(e.value)
    rep = verify_registry(reg)
    assert not rep.ok and any("g/tags:prod" in x for x in rep.errors)


def test_a_tag_of_an_early_registry_naming_only_its_top_hash_stays_readable(reg):
    r1 = _pkg(reg, "g/early")
    _put(reg, _tag_key("g/early", "prod"), canonical_json({"top_hash": r1.top_hash, "updated_at": "2025-01-01T00:00:00+00:00"}))
    assert lakepkg.load("g/early:prod", reg).top_hash == r1.top_hash
    assert verify_registry(reg).ok


def test_a_corrupt_latest_does_not_block_publishing(reg):
    _pkg(reg, "g/fix", 30)
    _put(reg, _tag_key("g/fix", "latest"), b"[]")
    r2 = _pkg(reg, "g/fix", 40)
    assert lakepkg.load("g/fix", reg).top_hash == r2.top_hash and verify_registry(reg).ok


def test_ls_does_not_crash_on_a_bad_tag(tmp_path):
    reg = open_registry(str(tmp_path / "reg"))
    _pkg(reg, "g/ls")
    _put(reg, _tag_key("g/ls", "latest"), b"[]")
    env = {**os.environ, "LAKEPKG_HOME": str(tmp_path / "home"), "LAKEPKG_NO_PROGRESS": "1"}
    p = subprocess.run([sys.executable, "-m", "lakepkg.cli", "ls", "--registry", str(tmp_path / "reg")],
                       capture_output=True, text=True, env=env)
    assert "Traceback" not in p.stderr and "TypeError" not in p.stderr
    assert p.returncode == 0 and "g/ls" in p.stdout


def test_a_tag_naming_another_packages_record_is_refused(reg):
    _pkg(reg, "g/a", 30)
    b = _pkg(reg, "g/b", 50)
    _put(reg, _tag_key("g/a", "latest"), canonical_json({"top_hash": b.top_hash, "version": b.key}))
    with pytest.raises(IntegrityError, match="not a record of g/a"):
        lakepkg.load("g/a", reg)
    rep = verify_registry(reg)
    assert any(x.startswith("g/a:latest") for x in rep.errors)
    assert lakepkg.load("g/b", reg)["orders"].rows == 50


@pytest.mark.parametrize("version", ["../../../../etc/passwd", "packages/g/esc/versions/../../../../../etc/passwd",
                                     "/etc/passwd", "packages/g/esc/versions/x\n.json"])
def test_no_tag_or_record_key_escapes_the_registry(reg, tmp_path, version):
    r1 = _pkg(reg, "g/esc")
    _put(reg, _tag_key("g/esc", "latest"), canonical_json({"top_hash": r1.top_hash, "version": version}))
    with pytest.raises(IntegrityError):
        lakepkg.load("g/esc", reg)
    with pytest.raises(IntegrityError):
        reg.record(version)
    assert any(x.startswith("g/esc:latest") for x in verify_registry(reg).errors)


def test_the_local_backend_never_reads_outside_its_root(tmp_path):
    reg = open_registry(str(tmp_path / "reg"))
    (tmp_path / "secret.json").write_text('{"top_hash": "' + "a" * 64 + '"}')
    for key in ["../secret.json", "../../secret.json", "/etc/passwd", "packages//x", "packages/./x", "a\\..\\b"]:
        with pytest.raises(UnsafePathError):
            reg.meta.read(key)
        with pytest.raises(UnsafePathError):
            reg.meta.create(key, b"{}")
    assert not (tmp_path / "x").exists()


def test_a_record_deleted_under_a_tag_is_reported(reg):
    _pkg(reg, "g/del", 30)
    r2 = _pkg(reg, "g/del", 40)
    reg.set_tag("g/del", "prod", r2.top_hash)
    reg.meta.delete(r2.key)
    with pytest.raises(NotFoundError, match="missing"):
        lakepkg.load("g/del:prod", reg)
    rep = verify_registry(reg)
    assert any(x.startswith("g/del:prod") and "missing" in x for x in rep.errors)
    assert any(x.startswith("g/del:latest") and "missing" in x for x in rep.errors)


def test_a_deleted_latest_tag_is_reported(reg):
    _pkg(reg, "g/nolatest")
    reg.meta.delete(_tag_key("g/nolatest", "latest"))
    rep = verify_registry(reg)
    assert not rep.ok and any("no latest tag" in x for x in rep.errors)


def _unsafe_version(reg, key: str):
    """Publish a version whose manifest holds an entry with logical key ``key`` (bytes are a real fragment)."""
    good = _pkg(reg, "g/src")
    entry = lakepkg.load("g/src", reg)["orders"].fragments()[0].entry
    sorter = EntrySorter("orders")
    sorter.add(Entry(key=key, object=entry.object, size=entry.size, rows=entry.rows, partition=entry.partition))
    t = lakepkg.load("g/src", reg)["orders"]
    h, _ = build_table_node(reg.store, "orders", t.schema, sorter, partition_columns=["ds"])
    top = store_node(reg.store, RootNodeData(tables={"orders": h}, files=[]))
    rec, _ = reg.publish("g/unsafe", top)
    return good, rec


@pytest.mark.parametrize("key", ["../../outside.parquet", "/etc/cron.d/x", "ds=d0/a\x01b.parquet", "a/./../../b"])
def test_unsafe_logical_keys_are_reported_and_not_pushed(reg, tmp_path, key):
    _, rec = _unsafe_version(reg, key)
    rep = verify_registry(reg)
    assert not rep.ok and any(x.startswith(f"g/unsafe@{rec.top_hash[:10]}") for x in rep.errors)
    dest = open_registry(str(tmp_path / "dest"))
    with pytest.raises(LakepkgError) as e:
        copy_version(reg, dest, "g/unsafe")
    assert "\n" not in str(e.value)
    assert dest.history("g/unsafe") == [] and list(dest.store.iter_objects()) == []   # nothing copied
    copy_version(reg, dest, "g/src")                                                   # a safe one still goes


def test_an_outage_is_unreachable_not_corrupt(tmp_path, monkeypatch):
    from tests.fixtures.s3 import TEST_ENV, new_bucket, start_moto_server, stop_moto_server

    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)

    proc, endpoint = start_moto_server()
    try:
        url = f"s3://{new_bucket(endpoint)}/r"
        reg = open_registry(url, endpoint_url=endpoint, cache_dir=str(tmp_path / "c"), retries=1, connect_timeout=1)
        rec = _pkg(reg, "g/out")
        records = reg.versions("g/out")
    finally:
        stop_moto_server(proc)
    rep = verify_registry(reg, records)
    assert not rep.ok and rep.unreachable and not rep.corrupt and not rep.missing
    assert rec.top_hash in rep.unreachable or any(rec.top_hash in d for d in rep.unreachable)
