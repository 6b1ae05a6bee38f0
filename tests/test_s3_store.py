"""S3 object store against moto's HTTP server: write-once, checksums, integrity, faults, old versions."""
from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest

import lakepkg
from lakepkg.errors import IntegrityError, MissingObjectError, StoreUnavailableError
from lakepkg.registry import open_registry
from lakepkg.store import open_store
from lakepkg.store.s3 import S3ObjectStore, b64_sha256
from tests.fixtures.s3 import start_moto_server, stop_moto_server
from tests.s3_helpers import build, object_key, small_frame


def test_put_is_write_once_and_carries_sha256(s3_bucket_url, s3_client, tmp_path):
    store = open_store(s3_bucket_url)
    data = b"hello lakepkg" * 100
    d = store.put_bytes(data)
    assert d == hashlib.sha256(data).hexdigest()
    assert store.has(d) and store.size(d) == len(data)
    before = store.stats.snapshot()
    assert store.put_bytes(data) == d                      # present: HEAD only, nothing sent
    f = tmp_path / "x.bin"
    f.write_bytes(data)
    assert store.put_file(str(f)) == (d, len(data), False)
    after = store.stats.snapshot()
    assert after["puts"] == before["puts"] and after["bytes_sent"] == before["bytes_sent"]
    bucket, key = object_key(s3_bucket_url, d)
    head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head.get("ChecksumSHA256") == b64_sha256(d)     # the server holds the checksum we sent
    assert [o.digest for o in store.iter_objects()] == [d]
    assert store.get_bytes(d) == data and store.verify_object(d)


def test_a_dedup_hit_on_an_old_object_renews_it_for_gc(s3_bucket_url, s3_client, tmp_path):
    """An old unreferenced object that a publish reuses must not look old to gc: it is copied onto
    itself on the server (no bytes sent), renewing LastModified; young objects cost one HEAD."""
    import time

    store = open_store(s3_bucket_url)
    data = b"orphan left by an interrupted publish" * 50
    d = store.put_bytes(data)
    bucket, key = object_key(s3_bucket_url, d)
    first = s3_client.head_object(Bucket=bucket, Key=key)["LastModified"]
    time.sleep(1.2)
    store.put_bytes(data)  # young: left alone
    assert s3_client.head_object(Bucket=bucket, Key=key)["LastModified"] == first and store.stats.renewed == 0
    store.keep_refresh_after = 1.0  # stands for the 12 hours of a real store
    sent = store.stats.snapshot()["bytes_sent"]
    f = tmp_path / "o.bin"
    f.write_bytes(data)
    assert store.put_file(str(f)) == (d, len(data), False)
    head = s3_client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["LastModified"] > first and store.stats.renewed == 1
    assert store.stats.snapshot()["bytes_sent"] == sent and store.get_bytes(d) == data
    assert head.get("ChecksumSHA256") == b64_sha256(d)  # the server still holds its checksum


def test_put_file_refuses_a_file_that_does_not_match_its_name(s3_bucket_url, tmp_path):
    store = open_store(s3_bucket_url)
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    with pytest.raises(IntegrityError):
        store.put_file(str(f), "0" * 64)
    assert list(store.iter_objects()) == []


def test_corrupt_object_on_server_is_refused(s3_bucket_url, s3_client, tmp_path):
    store = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "cache"))
    data = b"good bytes" * 50
    d = store.put_bytes(data)
    bucket, key = object_key(s3_bucket_url, d)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"evil bytes" * 50)  # someone overwrites it
    with pytest.raises(IntegrityError, match="corrupt|wrong content"):
        store.get_bytes(d)
    with pytest.raises(IntegrityError):
        store.local_path(d)
    assert store.cache.lookup(d) is None                   # nothing bad entered the cache
    assert store.verify_object(d) is False
    s3_client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(MissingObjectError):
        store.local_path(d)


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_old_version_never_returns_todays_bytes(versioned, s3_bucket_url, s3_versioned_bucket_url, s3_client, tmp_path):
    """The failure other tools show on unversioned buckets (v1 silently reads v2's files) cannot happen."""
    url = s3_versioned_bucket_url if versioned else s3_bucket_url
    bucket = url[5:].split("/")[0]
    status = s3_client.get_bucket_versioning(Bucket=bucket).get("Status")
    assert (status == "Enabled") == versioned
    reg = open_registry(url, cache_dir=str(tmp_path / "c1"))
    src = tmp_path / "data.csv"
    original = pd.DataFrame({"k": [1, 2, 3], "v": ["a", "b", "c"]})
    original.to_csv(src, index=False)
    b = lakepkg.PackageBuilder(reg)
    b.add_path("t", str(src))
    b.add_file("notes.txt", str(src))                     # same logical key in every version
    v1 = b.publish("ns/data", "v1")
    changed = pd.DataFrame({"k": [1, 2, 3], "v": ["X", "Y", "Z"]})
    changed.to_csv(src, index=False)                     # the source file changes in place
    b = lakepkg.PackageBuilder(reg)
    b.add_path("t", str(src))
    b.add_file("notes.txt", str(src))
    v2 = b.publish("ns/data", "v2")
    assert v1.top_hash != v2.top_hash
    fresh = open_registry(url, cache_dir=str(tmp_path / "c2"))  # nothing cached: bytes come from the bucket
    old = lakepkg.load(f"ns/data@{v1.top_hash}", fresh)
    got = old["t"].to_pandas()
    assert got["v"].tolist() == original["v"].tolist()
    assert old["notes.txt"].read_text() == original.to_csv(index=False)
    assert lakepkg.load("ns/data", fresh)["t"].to_pandas()["v"].tolist() == ["X", "Y", "Z"]


def test_missing_bucket_and_dead_endpoint_are_one_line_errors(s3_endpoint):
    with pytest.raises(StoreUnavailableError) as e:
        open_registry("s3://no-such-bucket-here/x")
    msg = str(e.value)
    assert "does not exist" in msg and "\n" not in msg
    with pytest.raises(StoreUnavailableError) as e:
        open_registry("s3://any-bucket/x", endpoint_url="http://127.0.0.1:9")  # nothing listens there
    assert "cannot reach" in str(e.value) and "\n" not in str(e.value)


def test_no_credentials_and_wrong_credentials(s3_endpoint, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StoreUnavailableError, match="no AWS credentials"):
        open_registry("s3://some-bucket/x")
    # a server that checks keys: moto with authentication on (INITIAL_NO_AUTH_ACTION_COUNT=0)
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")
    proc, url = start_moto_server()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        with pytest.raises(StoreUnavailableError) as e:
            open_registry("s3://some-bucket/x", endpoint_url=url)
        msg = str(e.value)
        assert "credentials" in msg and "wrong-secret" not in msg and "\n" not in msg
    finally:
        stop_moto_server(proc)
