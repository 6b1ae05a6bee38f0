"""Copying objects between stores through ObjectStore.copy_from, and versions through registry operations."""
from __future__ import annotations

import pytest

from lakepkg.errors import IntegrityError
from lakepkg.maintain.transfer import copy_version
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry
from lakepkg.store import open_store
from lakepkg.store.s3 import S3ObjectStore
from tests.fixtures.s3 import new_bucket
from tests.s3_helpers import build, object_key


def test_s3_to_s3_on_one_endpoint_is_a_server_side_copy(s3_endpoint, s3_bucket_url, tmp_path):
    src = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "c1"))
    dst = S3ObjectStore.from_url(f"s3://{new_bucket(s3_endpoint)}/other", cache_dir=str(tmp_path / "c2"))
    data = b"fragment bytes " * 1000
    d = src.put_bytes(data)
    got_before = src.stats.snapshot()["bytes_received"]
    assert dst.copy_from(src, d) == (True, len(data))
    assert dst.stats.snapshot()["bytes_sent"] == 0 and src.stats.snapshot()["bytes_received"] == got_before  # no bytes through us
    assert dst.verify_object(d) and dst.get_bytes(d) == data
    assert dst.copy_from(src, d) == (False, 0)  # present: nothing copied


def test_a_server_side_copy_of_corrupt_bytes_is_refused(s3_endpoint, s3_bucket_url, s3_client, tmp_path):
    src = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "c1"))
    dst_url = f"s3://{new_bucket(s3_endpoint)}/other"
    dst = S3ObjectStore.from_url(dst_url, cache_dir=str(tmp_path / "c2"))
    d = src.put_bytes(b"good" * 100)
    bucket, key = object_key(s3_bucket_url, d)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"evil" * 100)
    with pytest.raises(IntegrityError, match=d[:12]):
        dst.copy_from(src, d)
    assert not dst.has(d)  # nothing bad stays behind


@pytest.mark.parametrize("direction", ["local->s3", "s3->local", "local->local"])
def test_copy_from_streams_and_verifies_across_backends(direction, s3_bucket_url, s3_client, tmp_path):
    s3 = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "c"))
    local = open_store(str(tmp_path / "a"))
    other = open_store(str(tmp_path / "b"))
    src, dst = {"local->s3": (local, s3), "s3->local": (s3, local), "local->local": (local, other)}[direction]
    data = b"x" * 70_000
    d = src.put_bytes(data)
    assert dst.copy_from(src, d) == (True, len(data)) and dst.get_bytes(d) == data
    d2 = src.put_bytes(b"y" * 500)
    if direction.startswith("s3"):
        bucket, key = object_key(s3_bucket_url, d2)
        s3_client.put_object(Bucket=bucket, Key=key, Body=b"z" * 500)
    else:
        import os

        p = src.local_path(d2)
        os.chmod(p, 0o644)
        open(p, "wb").write(b"z" * 500)
    with pytest.raises(IntegrityError):
        dst.copy_from(src, d2)
    assert not dst.has(d2)


def test_push_records_through_the_registry_and_a_rerun_mints_nothing(tmp_path, s3_bucket_url):
    local = open_registry(str(tmp_path / "local"))
    remote = open_registry(s3_bucket_url, cache_dir=str(tmp_path / "c"))
    v1 = build(local, "sales/orders", 1)
    r1 = copy_version(local, remote, "sales/orders")
    assert r1.record_created and r1.latest_moved
    r2 = copy_version(local, remote, "sales/orders")
    assert not r2.record_created and not r2.latest_moved and r2.objects_copied == 0
    (rec,) = remote.versions("sales/orders")
    mine = local.record(local.history("sales/orders")[0].key)
    assert (rec.created_at, rec.author, rec.message, rec.top_hash) == (mine.created_at, mine.author, mine.message, v1.top_hash)
    assert remote.tag_value("sales/orders", "latest") == v1.top_hash
    back = open_registry(str(tmp_path / "back"))
    copy_version(remote, back, "sales/orders", as_name="copy/orders")
    assert back.resolve("copy/orders").package == "copy/orders" and verify_registry(back).ok
    assert verify_registry(remote).ok
