"""Requests are a measured quantity: S3 requests per operation (bench/bench_requests.py, counted by a
botocore before-send hook on a moto server) follow what is new, not the package. Also the bench's
smoke run."""
from __future__ import annotations

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _bench():
    spec = importlib.util.spec_from_file_location("bench_requests", os.path.join(HERE, "..", "bench", "bench_requests.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tables(s3_endpoint, tmp_path_factory):
    bench = _bench()
    return bench, {n: {r["op"]: r for r in bench.run(n, str(tmp_path_factory.mktemp(f"req{n}")), s3_endpoint)}
                   for n in (12, 48)}


@pytest.mark.parametrize("op,per_object", [("unchanged re-snapshot", 2), ("one-file-changed re-snapshot", 2),
                                           ("re-push", 1), ("push one-file-changed", 1)])
def test_requests_of_a_change_do_not_grow_with_the_package(tables, op, per_object):
    bench, t = tables
    small, big = t[12][op], t[48][op]
    assert big["requests"] <= small["requests"] + 2, (small, big)   # 4x the files, the same requests
    assert big["requests"] <= per_object * big["new_objects"] + bench.CONSTANT, big  # new objects + a constant
    assert big["by_op"].get("HeadObject", 0) <= big["new_objects"] + 8, big  # no HEAD per object of the package


@pytest.mark.parametrize("op,per_object", [("first snapshot", 2), ("push", 1), ("pull", 1)])
def test_requests_of_a_whole_package_grow_with_its_objects_only(tables, op, per_object):
    """A push PUTs each object once (If-None-Match: *); a snapshot HEADs before each PUT (a dedup hit
    sends no bytes); a pull GETs each object once."""
    bench, t = tables
    for n in (12, 48):
        r = t[n][op]
        assert r["new_objects"] > n and r["requests"] <= per_object * r["new_objects"] + bench.CONSTANT, r
    assert t[48][op]["requests"] - t[12][op]["requests"] >= 36  # one request per new file: it grows with them
