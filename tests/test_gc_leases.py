"""The gc/publish protocol on S3 (moto): writer leases that gc respects, a publish that settles only
when a gc overlapped it, and the window between gc's check and its delete (docs/store.md, "gc and
publish"). Writers run in their own processes where a machine matters (kill -9, a skewed clock)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest

from lakepkg.errors import MissingObjectError
from lakepkg.format.walk import walk
from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder

WRITER = textwrap.dedent("""
    import os, sys, time
    skew = float(os.environ.get("SKEW_SECONDS", "0"))
    if skew:  # this machine's clock is off by `skew` seconds (lakepkg reads it through time.time)
        _real = time.time
        time.time = lambda: _real() + skew
    import pandas as pd
    from lakepkg.write.build import PackageBuilder
    b = PackageBuilder(sys.argv[1])
    b.add_table("t", pd.DataFrame({"id": range(int(sys.argv[2]), int(sys.argv[2]) + 50), "ds": ["a", "b"] * 25}),
                partition_cols=["ds"])
    built = b.build()
    print(built.top_hash, flush=True)
    sys.stdin.readline()  # hold the lease until told to go on
    if sys.argv[3] == "publish":
        print(b.publish("g/leased").record.key, flush=True)
""")


def _writer(url: str, seed: int, then: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, url, str(seed), then], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def _objects(reg, top: str) -> set[str]:
    return {i.digest for i in walk(reg.store, top)}


@pytest.fixture()
def s3reg(s3_bucket_url, tmp_path):
    return open_registry(s3_bucket_url, cache_dir=str(tmp_path / "gc-cache"))


def test_gc_spares_a_killed_leaseholder_until_its_lease_expires(s3reg, s3_bucket_url):
    """kill -9 of a writer holding a lease: gc (grace 0) keeps what it wrote while the lease lives, and
    removes it once the lease expired (no heartbeat), with the lease itself cleared later."""
    p = _writer(s3_bucket_url, 1, "wait", LAKEPKG_LEASE_TTL_SECONDS="4")
    top = p.stdout.readline().strip()
    written = _objects(s3reg, top)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert len(s3reg.leases()) == 1
    rep = collect_garbage(s3reg, grace_seconds=0)
    assert rep.removed == 0 and rep.kept_young >= len(written)
    assert all(s3reg.store.has(d) for d in written)
    time.sleep(4 + 2 + 1.5)  # the lease's time to live, the clock step, whole seconds
    rep = collect_garbage(s3reg, grace_seconds=0)
    assert written <= set(rep.removed_digests)
    time.sleep(5)  # twice the time to live since its last beat: the lease itself goes
    assert collect_garbage(s3reg, grace_seconds=0).leases_expired == 1 and s3reg.leases() == []


def test_a_writer_whose_lease_expired_cannot_publish_what_gc_removed(s3reg, s3_bucket_url, monkeypatch):
    """A writer stalled past its lease (no heartbeat): gc takes its objects; its publish overlapped that gc,
    confirms, finds them gone and publishes nothing."""
    monkeypatch.setenv("LAKEPKG_LEASE_TTL_SECONDS", "2")
    w = open_registry(s3_bucket_url)
    b = PackageBuilder(w)
    b.add_table("t", pd.DataFrame({"id": range(30)}))
    b.lease._beat.stop()  # the writer stalls: no heartbeat
    built = b.build()
    time.sleep(2 + 2 + 1.5)
    rep = collect_garbage(s3reg, grace_seconds=0)
    assert rep.removed >= 3  # fragment, page, table node, root
    with pytest.raises(MissingObjectError):  # its objects are gone: nothing is recorded
        b.publish("g/stalled")
    assert w.history("g/stalled") == [] and verify_registry(s3reg).ok
    assert built.top_hash


@pytest.mark.parametrize("skew", [5.0, -5.0])
def test_clock_skew_between_writer_and_gc_machines_changes_nothing(s3reg, s3_bucket_url, skew):
    """The writer's machine runs 5 s ahead (or behind) of the gc's: every time the protocol compares is
    the store's clock, so gc still spares the leaseholder's objects and its publish lands whole."""
    p = _writer(s3_bucket_url, 100 + int(skew), "publish", SKEW_SECONDS=str(skew))
    top = p.stdout.readline().strip()
    rep = collect_garbage(s3reg, grace_seconds=0)  # overlaps the build
    assert rep.removed == 0, rep
    p.stdin.write("go\n")
    p.stdin.flush()
    key = p.stdout.readline().strip()
    assert p.wait(timeout=120) == 0
    assert s3reg.record(key).top_hash == top
    assert _objects(s3reg, top) <= {o.digest for o in s3reg.store.iter_objects()}
    assert verify_registry(s3reg).ok


def test_the_window_between_gcs_check_and_its_delete_is_closed(s3reg, s3_bucket_url):
    """gc HEADs an old orphan, finds it stale, and is paused before its DELETE; meanwhile a leased
    build reuses that object (a dedup hit) and publishes. The publish waits for the gc to end, then
    confirms: it either lands whole or publishes nothing; it never names a deleted object."""
    orphan = PackageBuilder(open_registry(s3_bucket_url))
    frame = pd.DataFrame({"id": range(40)})
    orphan.add_table("t", frame)
    old = orphan.build()
    orphan.lease.close()
    time.sleep(2.5)  # the orphan is older than the gc's horizon below (whole seconds)

    gc_reg = open_registry(s3_bucket_url)
    checked, go = threading.Event(), threading.Event()
    real_delete = gc_reg.store.delete

    def paused_delete(digest: str) -> None:  # gc's delete, after its HEAD found the object stale
        checked.set()
        go.wait(60)
        real_delete(digest)

    gc_reg.store.delete = paused_delete  # type: ignore[method-assign]
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(rep=collect_garbage(gc_reg, grace_seconds=0)))
    t.start()
    assert checked.wait(60)

    def publish() -> None:
        b = PackageBuilder(open_registry(s3_bucket_url))
        b.add_table("t", frame)  # the same bytes: dedup hits on objects the paused gc is deleting
        try:
            result["pub"] = b.publish("g/window")
        except MissingObjectError as exc:
            result["refused"] = exc

    pt = threading.Thread(target=publish)
    pt.start()
    deadline = time.monotonic() + 120
    while not s3reg.history("g/window") and time.monotonic() < deadline:
        time.sleep(0.2)  # the record is written; the publish now waits for the overlapping gc
    time.sleep(1)
    assert s3reg.history("g/window") and pt.is_alive()
    go.set()
    t.join(60)
    pt.join(60)
    assert result["rep"].removed >= 1
    assert "refused" in result and s3reg.history("g/window") == []
    assert verify_registry(s3reg).ok
    assert old.top_hash  # the orphan build was never published


def test_a_leased_publish_with_no_gc_around_costs_a_constant(s3reg, s3_bucket_url):
    """No gc overlapped: the publish checks no object (HEADs do not grow with the package)."""
    for n in (10, 400):
        b = PackageBuilder(open_registry(s3_bucket_url))
        b.add_table("t", pd.DataFrame({"id": range(n * 1000)}), rows_per_fragment=1000)
        built = b.build()
        stats = b.registry.store.stats
        before = sum(stats.sent_snapshot().values())
        b.publish(f"g/const{n}")
        sent = stats.sent_snapshot()
        used = sum(sent.values()) - before
        assert used <= 25, (n, used, sent)
        assert len(_objects(s3reg, built.top_hash)) > n
