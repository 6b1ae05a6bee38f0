"""The local read cache: verified, no network on a second read, bounded LRU, shared by processes."""
from __future__ import annotations

import multiprocessing as mp
import os
import time

import lakepkg
from lakepkg.store.cache import ObjectCache
from lakepkg.read.package import Package
from lakepkg.registry import open_registry
from lakepkg.registry.core import Registry
from lakepkg.registry.s3 import S3MetaBackend
from lakepkg.store.s3 import S3Connection, S3ObjectStore
from tests.s3_helpers import build


def test_second_read_does_no_network_io(s3_bucket_url, tmp_path):
    cache_dir = str(tmp_path / "cache")
    reg = open_registry(s3_bucket_url, cache_dir=cache_dir)
    v = build(reg, "sales/orders", 1)
    first = open_registry(s3_bucket_url, cache_dir=cache_dir)
    pkg = lakepkg.load(f"sales/orders@{v.top_hash}", first)
    df1 = pkg["orders"].to_pandas()
    leaf = pkg["orders"].fragments()[0]
    assert first.store.stats.bytes_received > 0
    before = first.store.stats.snapshot()
    leaf.to_pandas()
    assert first.store.stats.snapshot() == before              # same leaf again: zero requests
    # the strongest form: the endpoint is gone, the cached package still reads
    bucket = s3_bucket_url[5:].split("/")[0]
    conn = S3Connection(bucket, "team/registry", endpoint_url="http://127.0.0.1:9", retries=1)
    dead = Registry(S3ObjectStore(conn, ObjectCache(cache_dir)), S3MetaBackend(conn), conn.location)
    again = Package(dead, v.top_hash)
    assert again["orders"].to_pandas().equals(df1)
    assert dead.store.local_path(leaf.object) == first.store.local_path(leaf.object)
    assert dead.store.stats.requests == 0


def test_lru_eviction_keeps_recently_used(tmp_path):
    cache = ObjectCache(str(tmp_path / "c"), max_bytes=2500, min_age=0)
    blobs = {}
    import hashlib

    for i in range(3):
        data = bytes([i]) * 1000
        d = hashlib.sha256(data).hexdigest()
        blobs[i] = d
        cache.get(d, lambda tmp, data=data: open(tmp, "wb").write(data))
        time.sleep(0.02)
    # three objects of 1000 bytes in a 2500-byte cache: the oldest went
    assert cache.lookup(blobs[0]) is None and cache.lookup(blobs[2]) is not None
    time.sleep(0.05)                                         # file clocks are coarse (a few ms)
    cache.lookup(blobs[1])                                   # touch 1: now 2 is the least recently used
    time.sleep(0.05)
    data = b"z" * 1000
    d3 = hashlib.sha256(data).hexdigest()
    cache.get(d3, lambda tmp: open(tmp, "wb").write(data))
    assert cache.lookup(blobs[1]) is not None and cache.lookup(blobs[2]) is None
    assert cache.size() <= 2500


def _reader(args):
    url, endpoint, cache_dir, top = args
    os.environ["LAKEPKG_S3_ENDPOINT_URL"] = endpoint
    reg = open_registry(url, cache_dir=cache_dir)
    pkg = Package(reg, top)
    rows = len(pkg["orders"].to_pandas())
    return rows, reg.store.cache.stats.misses


def test_concurrent_processes_share_the_cache(s3_bucket_url, s3_endpoint, tmp_path):
    reg = open_registry(s3_bucket_url, cache_dir=str(tmp_path / "writer-cache"))
    v = build(reg, "sales/orders", 2)
    cache_dir = str(tmp_path / "shared")
    ctx = mp.get_context("spawn")
    with ctx.Pool(3) as pool:
        res = pool.map(_reader, [(s3_bucket_url, s3_endpoint, cache_dir, v.top_hash)] * 3)
    assert all(r[0] == 40 for r in res)
    cache = ObjectCache(cache_dir)
    cached = [os.path.basename(p) for _, _, p in cache.entries()]
    # every object was downloaded once in total, whichever process got there first
    assert sum(r[1] for r in res) == len(cached)
    assert not [p for p in os.listdir(os.path.join(cache_dir, "objects")) if p.startswith(".tmp-")]
