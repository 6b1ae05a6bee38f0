"""Races between real processes, on a local registry and on S3.

* 8 publishers x 20 versions of one package (x 4 on S3, where moto serves one request at a time): every version lands in the history, none is lost
  or overwritten, ``latest`` names one of them and ``verify`` is clean.
* Tag compare-and-swap: 8 processes released together each try to move ``prod`` from the same
  expected version to their own; exactly one wins per round, the others get
  ``ConcurrentUpdateError``, and the tag holds the winner's version.
* gc at grace 0 racing builds: no version that was published is missing an object afterwards.

The seed is printed; ``LAKEPKG_FAULT_SEED=<n>`` replays a run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry

from tests.fault_tools import seeded

PUBLISHERS, VERSIONS = 8, 20
S3_VERSIONS = 4  # each publish is ~10 requests to moto's single-threaded HTTP server
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _location(backend, tmp_path, request):
    return request.getfixturevalue("s3_bucket_url") if backend == "s3" else str(tmp_path / "registry")


def _spawn(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1", "PYTHONPATH": REPO}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


PUBLISHER = """
    import sys, time, json
    import pandas as pd
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder
    loc, who, n, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    reg = open_registry(loc)
    while time.time() < start:
        time.sleep(0.005)
    out = []
    for i in range(n):
        b = PackageBuilder(reg)
        b.add_table("t", pd.DataFrame({"who": [who] * 3, "i": [i] * 3, "j": [0, 1, 2]}))
        res = b.publish("c/shared", f"{who}-{i}")
        out.append(getattr(res, "top_hash", None) or res.record.top_hash)
    print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_concurrent_publishers_lose_nothing(backend, tmp_path, request):
    loc = _location(backend, tmp_path, request)
    open_registry(loc)
    start = time.time() + 3.0  # every process imported and waiting: they start together
    n = VERSIONS if backend == "local" else S3_VERSIONS
    procs = [_spawn(PUBLISHER, loc, str(w), str(n), str(start)) for w in range(PUBLISHERS)]
    published = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        published += json.loads(out)
    assert len(set(published)) == PUBLISHERS * n
    reg = open_registry(loc)
    history = [r.top_hash for r in reg.versions("c/shared")]
    assert sorted(history) == sorted(published), f"{len(set(published) - set(history))} versions lost"
    assert reg.tags("c/shared")["latest"] in published
    assert verify_registry(reg).ok


CAS = """
    import sys, time
    from lakepkg.errors import ConcurrentUpdateError
    from lakepkg.registry import open_registry
    loc, mine, expected, start = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    reg = open_registry(loc)
    while time.time() < start:
        time.sleep(0.002)
    try:
        reg.set_tag("c/cas", "prod", mine, expected=expected)
        print("WON")
    except ConcurrentUpdateError:
        print("LOST")
"""


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_tag_compare_and_swap_has_one_winner(backend, tmp_path, request):
    import pandas as pd

    from lakepkg.write.build import PackageBuilder

    rnd = seeded(f"cas-{backend}")
    loc = _location(backend, tmp_path, request)
    reg = open_registry(loc)
    tops = []
    for i in range(9):
        b = PackageBuilder(reg)
        b.add_table("t", pd.DataFrame({"i": [i]}))
        res = b.publish("c/cas")
        tops.append(getattr(res, "top_hash", None) or res.record.top_hash)
    reg.set_tag("c/cas", "prod", tops[0])
    rounds = 2 if backend == "local" else 1
    for _ in range(rounds):
        expected = reg.resolve("c/cas:prod").top_hash
        contenders = rnd.sample([t for t in tops if t != expected], 8)
        start = time.time() + 2.5
        procs = [_spawn(CAS, loc, t, expected, str(start)) for t in contenders]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
            results.append(out.strip())
        assert results.count("WON") == 1, results
        winner = contenders[results.index("WON")]
        assert reg.resolve("c/cas:prod").top_hash == winner


GC_RACER = """
    import random, sys, time
    from lakepkg.errors import LakepkgError
    from lakepkg.maintain.gc import collect_garbage
    from lakepkg.registry import open_registry
    loc, until = sys.argv[1], float(sys.argv[2])
    reg = open_registry(loc)
    rnd = random.Random(until)
    n = 0
    stopped = 0
    while time.time() < until:
        try:
            collect_garbage(reg, grace_seconds=0)
        except LakepkgError:  # gc refuses to run over a version it cannot read: the final verify names it
            stopped += 1
        n += 1
        # irregular gaps: passes land at every point of a build, yet a loaded machine still gets some
        # builds through (a gc with no gap at grace 0 rightly refuses every build slower than one pass)
        time.sleep(rnd.choice((0.0, 0.0, 0.05, 0.2, 1.0)))
    print(n)
"""

BUILDER = """
    import sys, json, random
    import pandas as pd
    from lakepkg.errors import LakepkgError
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder
    loc, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(seed)
    reg = open_registry(loc)
    ok, refused = [], 0
    for i in range(n):
        b = PackageBuilder(reg)
        # half shared content (a dedup hit on an object gc may be deleting), half new
        b.add_table("t", pd.DataFrame({"k": [rnd.randrange(4) for _ in range(200)], "i": range(200)}), rows_per_fragment=50)
        try:
            res = b.publish("c/race")
            ok.append(getattr(res, "top_hash", None) or res.record.top_hash)
        except LakepkgError:
            refused += 1   # a publish may fail loudly; it must never succeed incomplete
    print(json.dumps({"ok": ok, "refused": refused}))
"""


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_gc_racing_builds_never_breaks_a_published_version(backend, tmp_path, request):
    rnd = seeded(f"gc-race-{backend}")
    loc = _location(backend, tmp_path, request)
    open_registry(loc)
    builds = 12 if backend == "local" else 4
    until = time.time() + (20 if backend == "local" else 15)
    gcp = _spawn(GC_RACER, loc, str(until))
    builders = [_spawn(BUILDER, loc, str(builds), str(rnd.randrange(1 << 30))) for _ in range(2)]
    published = []
    for p in builders:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        published += json.loads(out)["ok"]
    out, err = gcp.communicate(timeout=300)
    assert gcp.returncode == 0, err[-2000:]
    assert int(out) > 0 and published, (out, published)
    reg = open_registry(loc)
    recs = [r for r in reg.versions("c/race") if r.top_hash in published]
    rep = verify_registry(reg, recs)
    assert rep.ok, f"published versions missing objects after gc raced them: {rep.to_json()}"
