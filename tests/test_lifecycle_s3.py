"""Redaction, where-used, rm and gc on an S3 registry (moto's real HTTP endpoint), including a copy
pushed from a local registry: no byte of the marker is left in the bucket, the local registry or
the read cache, and a lock file pinning an old top hash installs the redacted successor."""
from __future__ import annotations

import os
import warnings

import pytest

import lakepkg
from lakepkg.governance import check_log, redact, rm, where_used
from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.lockfile import install_lockfile
from lakepkg.maintain.transfer import push
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry
from lakepkg.registry.core import RedactedVersionWarning
from lakepkg.store.s3 import parse_s3_url
from tests.lifecycle_helpers import all_versions, bucket_objects_holding, files_holding, new_marker, populate, rows_of


def test_redaction_on_s3_and_on_the_pushed_copy(registry, home, s3_bucket_url, s3_client, tmp_path, monkeypatch):
    marker = new_marker()
    made = populate(registry, marker)
    for name in ("sales/orders", "crm/orders", "sales/orders-eu"):
        for rec in registry.versions(name):
            push(f"{name}@{rec.top_hash}", s3_bucket_url, registry=registry)
    s3 = open_registry(s3_bucket_url)
    bucket = parse_s3_url(s3_bucket_url)[0]
    cache = os.environ["LAKEPKG_CACHE_DIR"]
    olds = [r for r in all_versions(s3)]
    assert len(olds) == 6 and s3.tags("sales/orders")["prod"] == made["sales/orders"][1].top_hash
    before = {r.top_hash: rows_of(s3, f"{r.package}@{r.top_hash}") for r in olds}  # fills the read cache
    assert bucket_objects_holding(s3_client, bucket, marker) and files_holding([cache], marker)
    where = f"customer = '{marker}'"
    use = where_used(table="orders", where=where, registry=s3)
    assert len(use.versions) == 6 and use.fragments_read < use.fragments_considered
    v0 = made["sales/orders"][0]
    lock = tmp_path / "lakepkg.lock"
    lock.write_text(f"sales/orders@{v0.top_hash}  {s3_bucket_url}\n")

    rep_s3 = redact("orders", where, reason="erasure request 9", all_packages=True, registry=s3)
    rep_local = redact("orders", where, reason="erasure request 9", all_packages=True, registry=registry)
    assert rep_s3.rows_removed == rep_local.rows_removed == 22
    # the same rewrite gives the same successor hashes in both registries
    assert sorted((v["old"], v["new"]) for v in rep_s3.versions) == sorted((v["old"], v["new"]) for v in rep_local.versions)

    assert bucket_objects_holding(s3_client, bucket, marker) == []
    assert files_holding([str(home), cache], marker) == []
    assert where_used(table="orders", where=where, registry=s3).versions == []
    assert verify_registry(s3).ok and verify_registry(registry).ok and check_log(s3).ok
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for old in olds:
            assert rows_of(s3, f"{old.package}@{old.top_hash}") == [r for r in before[old.top_hash] if marker not in r]
    succ0 = next(v["new"] for v in rep_s3.versions if v["old"] == v0.top_hash)
    assert s3.tags("sales/orders")["prod"] == next(v["new"] for v in rep_s3.versions if v["old"] == made["sales/orders"][1].top_hash)

    # a fresh machine installs the lock file: the successor arrives, with the notice, from S3
    monkeypatch.setenv("LAKEPKG_HOME", str(tmp_path / "fresh"))
    with pytest.warns(RedactedVersionWarning, match="redacted on .*: erasure request 9"):
        reps = install_lockfile(str(lock))
    assert reps[0].top_hash == succ0 and reps[0].record_created
    fresh = open_registry()
    with pytest.warns(RedactedVersionWarning, match="erasure request 9"):
        pkg = lakepkg.load("sales/orders", fresh, lock=str(lock))  # the copy has no redirect keys: found by record
    assert pkg.top_hash == succ0
    assert all(marker not in r for r in rows_of(fresh, f"sales/orders@{succ0}"))


def test_rm_and_gc_on_s3(s3_bucket_url, registry):
    s3 = open_registry(s3_bucket_url)
    marker = new_marker()
    made = populate(registry, marker)
    for rec in registry.versions("crm/orders"):
        push(f"crm/orders@{rec.top_hash}", s3_bucket_url, registry=registry)
    first, second = made["crm/orders"]
    rep = rm(f"crm/orders@{second.top_hash}", reason="bad load", registry=s3)
    assert s3.tags("crm/orders")["latest"] == first.top_hash
    from lakepkg.governance.objects import live_objects

    unreferenced = {o.digest for o in s3.store.iter_objects()} - live_objects(s3, s3.iter_all_records())
    assert unreferenced == set(check_log(s3).entries[0]["objects"]) and len(unreferenced) == rep.objects_freed > 0
    g = collect_garbage(s3, grace_seconds=0)  # S3 objects this young are inside gc's clock-skew margin: kept
    assert g.removed + g.kept_young >= rep.objects_freed and verify_registry(s3).ok
    assert lakepkg.load(f"crm/orders@{first.top_hash}", s3)["orders"].to_pandas().shape[0] == 62
    assert [e["action"] for e in check_log(s3).entries] == ["rm"]


def test_kill_during_redaction_on_s3_then_rerun_completes(s3_bucket_url, s3_client, registry, home):
    import signal
    import subprocess
    import sys

    from lakepkg.governance.redact import FAULT_ENV, pending_journals

    marker = new_marker()
    populate(registry, marker)
    for name in ("sales/orders", "sales/orders-eu"):
        for rec in registry.versions(name):
            push(f"{name}@{rec.top_hash}", s3_bucket_url, registry=registry)
    s3 = open_registry(s3_bucket_url)
    olds = all_versions(s3)
    cmd = [sys.executable, "-m", "lakepkg.cli.__main__", "redact", "--registry", s3_bucket_url, "--table", "orders",
           "--where", f"customer = '{marker}'", "--all", "--reason", "s3 crash", "--json"]
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    for point in ("tags", "objects"):
        p = subprocess.run(cmd, capture_output=True, text=True, env={**env, FAULT_ENV: point})
        assert p.returncode == -signal.SIGKILL, p.stderr
        assert len(pending_journals(s3)) == 1 and verify_registry(s3).ok
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for old in olds:  # each version: all its marker rows, or none
                rows = rows_of(s3, f"{old.package}@{old.top_hash}")
                n = sum(1 for r in rows if marker in r)
                assert n == 0 or (s3.resolve(f"{old.package}@{old.top_hash}").top_hash == old.top_hash and n == 3)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert pending_journals(s3) == [] and verify_registry(s3).ok and check_log(s3).ok
    bucket = parse_s3_url(s3_bucket_url)[0]
    assert bucket_objects_holding(s3_client, bucket, marker) == []
    assert files_holding([os.environ["LAKEPKG_CACHE_DIR"]], marker) == []
    assert [e["action"] for e in check_log(s3).entries] == ["redact"]
