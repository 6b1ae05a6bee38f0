"""ObjectStore.verified_path: a local file known to hash to its object's name, on the local store and S3."""
from __future__ import annotations

import os
import time

import pytest

from lakepkg.errors import IntegrityError, MissingObjectError
from lakepkg.format.hashing import hash_file
from lakepkg.store import open_store
from lakepkg.store.local import LocalObjectStore
from lakepkg.store.s3 import S3ObjectStore
from tests.s3_helpers import object_key


def _overwrite(path: str, data: bytes) -> None:
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data)


def test_local_verified_path_hashes_and_catches_replaced_bytes(tmp_path):
    store = LocalObjectStore(str(tmp_path / "reg"))
    good = store.put_bytes(b"good fragment bytes" * 100)
    other = store.put_bytes(b"another valid object" * 100)
    p = store.verified_path(good)
    assert hash_file(p)[0] == good
    time.sleep(0.01)
    _overwrite(store.local_path(good), open(store.local_path(other), "rb").read())  # swapped for a valid object
    with pytest.raises(IntegrityError, match=rf"object {good[:12]} \(orders/f1\) .* is corrupt.*lakepkg verify"):
        store.verified_path(good, what="orders/f1")
    assert store.verify_object(good) is False and store.verify_object(other) is True
    with pytest.raises(MissingObjectError):
        store.verified_path("ab" * 32)


def test_local_verified_path_survives_dedup_renewal_without_rehash(tmp_path):
    """keep() renews the mtime; the verdict carries over (no second hash), and a later rewrite is caught."""
    store = LocalObjectStore(str(tmp_path / "reg"))
    d = store.put_bytes(b"x" * 5000)
    p = store.verified_path(d)
    before = os.stat(p).st_mtime_ns
    time.sleep(0.01)
    assert store.keep(d) and os.stat(p).st_mtime_ns != before
    from lakepkg.store.verified import VERIFIED

    assert VERIFIED.is_verified(p, d)
    _overwrite(p, b"y" * 5000)  # same size, new bytes
    with pytest.raises(IntegrityError):
        store.verified_path(d)


def test_adopt_file_moves_a_finished_file_in(tmp_path):
    store = open_store(str(tmp_path / "reg"))
    f = tmp_path / "frag.parquet"
    f.write_bytes(b"parquet-ish" * 10)
    d, n, written = store.adopt_file(str(f))
    assert written and n == 110 and not f.exists() and store.get_bytes(d) == b"parquet-ish" * 10
    f.write_bytes(b"parquet-ish" * 10)
    assert store.adopt_file(str(f)) == (d, 110, False) and not f.exists()


def test_s3_cache_hit_is_verified_and_a_damaged_cache_file_is_fetched_again(s3_bucket_url, s3_client, tmp_path):
    store = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "cache"))
    data = b"remote fragment" * 200
    d = store.put_bytes(data)
    p = store.verified_path(d)
    assert open(p, "rb").read() == data
    _overwrite(p, b"X" * len(data))  # the cache file is damaged on disk
    fresh = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "cache"))
    assert fresh.get_bytes(d, verify=True) == data            # verify=True honoured on a cache hit
    assert open(fresh.verified_path(d), "rb").read() == data  # re-fetched, checked
    bucket, key = object_key(s3_bucket_url, d)
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"evil" * 10)   # the remote copy is replaced
    _overwrite(fresh.cache.path(d), b"Y" * len(data))
    third = S3ObjectStore.from_url(s3_bucket_url, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(IntegrityError, match=f"object {d[:12]}.*corrupt.*lakepkg verify"):
        third.verified_path(d)
    assert third.cache.lookup(d) is None  # nothing bad stays in the cache
