"""S3 registry: conditional writes (If-None-Match / If-Match) and several processes publishing one name."""
from __future__ import annotations

import multiprocessing as mp
import os

import lakepkg
from lakepkg.registry import open_registry
from lakepkg.registry.s3 import S3MetaBackend
from tests.s3_helpers import build


def test_create_and_compare_and_swap(s3_bucket_url):
    reg = open_registry(s3_bucket_url)
    meta = reg.meta
    assert isinstance(meta, S3MetaBackend)
    assert meta.create("a/x.json", b"1") is True
    assert meta.create("a/x.json", b"2") is False            # If-None-Match: * refuses
    data, tok = meta.read("a/x.json")
    assert data == b"1"
    assert meta.replace("a/x.json", b"3", None) is False      # must-not-exist, but exists
    assert meta.replace("a/x.json", b"3", tok) is True        # If-Match on the ETag read
    assert meta.replace("a/x.json", b"4", tok) is False       # stale token
    assert meta.read("a/x.json")[0] == b"3"
    assert meta.replace("a/y.json", b"5", '"0123"') is False  # the key does not exist
    assert meta.replace("a/y.json", b"5", None) is True
    assert list(meta.list("a/")) == ["a/x.json", "a/y.json"]
    meta.delete("a/y.json")
    assert meta.read("a/y.json") is None


def _publisher(args):
    url, endpoint, cache, worker, count = args
    os.environ["LAKEPKG_S3_ENDPOINT_URL"] = endpoint
    os.environ["LAKEPKG_CACHE_DIR"] = cache
    reg = open_registry(url)
    out = []
    for i in range(count):
        rec = build(reg, "team/shared", worker * 100 + i)
        out.append(rec.top_hash)
    return out


def test_processes_publishing_one_name_all_land_in_history(s3_bucket_url, s3_endpoint, tmp_path):
    workers, each = 4, 3
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        results = pool.map(_publisher, [(s3_bucket_url, s3_endpoint, str(tmp_path / "cache"), w, each) for w in range(workers)])
    published = [h for r in results for h in r]
    assert len(set(published)) == workers * each
    reg = open_registry(s3_bucket_url)
    hist = reg.history("team/shared")
    assert sorted(s.top_hash for s in hist) == sorted(published)   # no version lost
    latest = reg.resolve("team/shared")
    assert latest.key == hist[-1].key                               # latest holds the newest record
    for h in published:                                             # every one still loads
        assert lakepkg.load(f"team/shared@{h}", reg)["orders"].rows == 40
