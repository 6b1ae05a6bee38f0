"""``kill -9`` of build (and its publish), push and gc at random points, on a local registry and on S3.

Each build has fresh data (so it writes new objects) and enough of it that most kills land after
objects were written, not during start-up: the kill time is drawn between the end of the
interpreter's start-up and the end of an unkilled run, both measured first. After every kill:

* no partial version: every version the registry lists verifies (all its objects present and
  sound), and the package has either the versions it had or those plus complete new ones;
* after all kills of a kind, ``gc --grace-hours 0`` removes the leftovers: unreferenced objects,
  the store's temporaries and the metadata temporaries a killed writer leaves; ``verify`` is clean.

The seed is printed; ``LAKEPKG_FAULT_SEED=<n>`` replays a run.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry

from tests.fault_tools import raw_for, seeded

LAKEPKG = [sys.executable, "-m", "lakepkg.cli"]
FILES, ROWS = 16, 30_000


def _env():
    env = {**os.environ, "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    return env


def _write_data(folder, rnd):
    """FILES Parquet files of ROWS random rows (fresh content every call): ~4 MB."""
    gen = np.random.default_rng(rnd.randrange(1 << 30))
    for i in range(FILES):
        part = folder / f"ds=d{i % 4}"
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": gen.integers(0, 1 << 40, ROWS), "x": gen.random(ROWS)}), part / f"f{i:03d}.parquet")


def _timed(args, timeout=300):
    t = time.monotonic()
    p = subprocess.run(LAKEPKG + args, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return time.monotonic() - t


def _kill_at(args, delay):
    p = subprocess.Popen(LAKEPKG + args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    return p.returncode


def _startup():
    return _timed(["--version"])


def _profile(args, reg):
    """Run ``args`` unkilled; return (seconds until its first new object appears, seconds in all)."""
    raw = raw_for(reg)
    n0 = len(raw.keys("objects/"))
    t = time.monotonic()
    p = subprocess.Popen(LAKEPKG + args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    while p.poll() is None:
        if first is None and len(raw.keys("objects/")) > n0:
            first = time.monotonic() - t
        time.sleep(0.05)
    total = time.monotonic() - t
    assert p.returncode == 0, p.stderr.read()
    return (first if first is not None else total * 0.8), total


def _assert_consistent(reg, name, before):
    """Only complete versions: every listed version verifies; the old ones are all still there."""
    now = [r.top_hash for r in reg.versions(name)]
    assert now[: len(before)] == before or set(before) <= set(now), "a kill removed a published version"
    rep = verify_registry(reg, reg.versions(name)) if now else None
    assert rep is None or rep.ok, f"a killed run left a partial version: {rep.to_json() if rep else ''}"
    return now


def _leftovers(reg, meta=False):
    """Temporaries a killed writer can leave in the store (and, with ``meta``, in the metadata)."""
    raw = raw_for(reg)
    keys = raw.keys("") if meta else raw.keys("objects/")
    return [k for k in keys if os.path.basename(k).startswith(".tmp") or "/tmp/" in k]


def _gc_clean(reg):
    rep = collect_garbage(reg, grace_seconds=0)
    assert not _leftovers(reg), f"gc left temporaries: {_leftovers(reg)[:5]}"
    v = verify_registry(reg)
    assert v.ok, v.to_json()
    return rep


def _kill_builds(loc, tmp, rnd, n):
    reg = open_registry(loc)
    name = "k/builds"
    data = tmp / "data"
    _write_data(data, rnd)
    first, full = _profile(["build", name, "-t", f"t={data}", "-r", loc], reg)
    before = _assert_consistent(reg, name, [])
    landed, trials = 0, 0
    # n kills at random moments; on a loaded machine a run can be slower than the profile run and a
    # kill then lands before any object is written: up to n more, later in the run, until half landed
    while trials < n or (landed < n // 2 and trials < 2 * n):
        _write_data(data, rnd)
        objects_before = len(raw_for(reg).keys("objects/"))
        lo = first if trials < n else (first + full) / 2
        rc = _kill_at(["build", name, "-t", f"t={data}", "-r", loc], rnd.uniform(lo, full))
        landed += int(len(raw_for(reg).keys("objects/")) > objects_before or rc == 0)
        before = _assert_consistent(reg, name, before)
        trials += 1
    assert landed >= n // 2, f"only {landed} of {trials} kills landed after objects were written; raise FILES/ROWS"
    return _gc_clean(reg)


def _kill_pushes(src_loc, dst_loc, rnd, n):
    src = open_registry(src_loc)
    name = "k/builds"
    versions = [r.top_hash for r in src.versions(name)]
    dst = open_registry(dst_loc)
    full = None
    start = _startup()
    for i, top in enumerate(versions[:n]):
        if full is None:
            full = _timed(["push", f"{name}@{top}", "--to", dst_loc, "-r", src_loc]) + 0.2
            continue
        _kill_at(["push", f"{name}@{top}", "--to", dst_loc, "-r", src_loc], rnd.uniform(start, max(full, start + 0.5)))
        _assert_consistent(dst, name, [])
        _timed(["push", f"{name}@{top}", "--to", dst_loc, "-r", src_loc])  # resumable: finishes the job
        _assert_consistent(dst, name, [])
        assert top in [r.top_hash for r in dst.versions(name)]
    _gc_clean(dst)


def _kill_gc(loc, rnd, n):
    reg = open_registry(loc)
    versions = {r.top_hash for r in reg.versions("k/builds")}
    start = _startup()
    for _ in range(n):
        _kill_at(["gc", "--grace-hours", "0", "-r", loc], rnd.uniform(start, start + 1.0))
        assert {r.top_hash for r in reg.versions("k/builds")} == versions
        assert verify_registry(reg).ok, "a killed gc removed an object a version needs"


def test_kill_build_push_gc_local(tmp_path):
    rnd = seeded("kill-local")
    loc = str(tmp_path / "registry")
    _kill_builds(loc, tmp_path, rnd, 4)
    # versions to push and orphans for gc: builds that finish, then more killed ones
    data = tmp_path / "data"
    for _ in range(3):
        _write_data(data, rnd)
        _timed(["build", "k/builds", "-t", f"t={data}", "-r", loc])
    _kill_pushes(loc, str(tmp_path / "remote"), rnd, 3)
    for _ in range(2):
        _write_data(data, rnd)
        _kill_at(["build", "k/builds", "-t", f"t={data}", "-r", loc], rnd.uniform(1.0, 2.0))
    _kill_gc(loc, rnd, 2)
    _gc_clean(open_registry(loc))


def test_kill_build_and_push_s3(tmp_path, s3_bucket_url):
    rnd = seeded("kill-s3")
    _kill_builds(s3_bucket_url, tmp_path, rnd, 2)
    local = str(tmp_path / "local")
    data = tmp_path / "data"
    for _ in range(2):
        _write_data(data, rnd)
        _timed(["build", "k/builds", "-t", f"t={data}", "-r", local])
    _kill_pushes(local, s3_bucket_url + "-pushed", rnd, 2)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_gc_removes_metadata_temporaries(tmp_path, backend, request):
    """A writer killed between writing its temporary and linking it leaves ``.tmp-*`` beside the
    records (local) or under ``meta/`` (S3): gc at grace 0 removes them, and nothing else."""
    loc = request.getfixturevalue("s3_bucket_url") if backend == "s3" else str(tmp_path / "registry")
    reg = open_registry(loc)
    import pandas as pd

    from lakepkg.write.build import PackageBuilder

    b = PackageBuilder(reg)
    b.add_table("t", pd.DataFrame({"id": range(10)}))
    b.publish("k/meta")
    raw = raw_for(reg)
    stale = ["meta/packages/k/meta/versions/.tmp-killedwriter", "meta/packages/k/meta/tags/.tmp-abc123"]
    for key in stale:
        raw.put(key, b"{partial")
        if backend == "local":
            old = time.time() - 3600
            os.utime(os.path.join(loc, *key.split("/")), (old, old))
    time.sleep(1.1)
    collect_garbage(reg, grace_seconds=0)
    assert [k for k in stale if raw.get(k) is not None] == [], "gc kept metadata temporaries"
    assert verify_registry(reg).ok and reg.resolve("k/meta")
