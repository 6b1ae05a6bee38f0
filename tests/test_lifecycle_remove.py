"""rm, retention and gc: versions leave the history, tags follow the rules, gc frees exactly the
objects no remaining version names (grace period kept), and the audit log records it all."""
from __future__ import annotations

import os

import pandas as pd
import pytest

import lakepkg
from lakepkg.errors import ConfigError, InvalidRefError, NotFoundError
from lakepkg.governance import apply_retention, check_log, get_policy, rm, set_policy
from lakepkg.governance.objects import live_objects
from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.lockfile import LockEntry, write_lockfile
from lakepkg.maintain.verify import verify_registry


def _publish(reg, name, i, **kw):
    b = lakepkg.PackageBuilder(reg)
    b.add_table("t", pd.DataFrame({"a": range(i * 100, i * 100 + 30), "ds": ["x"] * 30}))
    b.add_table("shared", pd.DataFrame({"s": [1, 2, 3]}))  # the same object in every version
    res = b.publish(name, f"v{i}", **kw)
    return getattr(res, "record", res)  # the version record (publish returns a PublishResult)


def _objects(reg):
    return {o.digest: o.size for o in reg.store.iter_objects()}


def test_rm_moves_latest_needs_force_for_tags_and_gc_frees_exactly_what_is_unreferenced(registry):
    reg = registry
    v = [_publish(reg, "ns/p", i) for i in range(3)]
    reg.set_tag("ns/p", "prod", v[1].top_hash)
    with pytest.raises(ConfigError, match=r"ns/p@.* \(prod\) is tagged; move the tag first"):
        rm(f"ns/p@{v[1].short}", reason="bad load", registry=reg)
    with pytest.raises(ConfigError, match="reason"):
        rm(f"ns/p@{v[0].short}", reason="", registry=reg)
    with pytest.raises(InvalidRefError, match="give the version to remove"):
        rm("ns/p", reason="x", registry=reg)
    assert len(reg.history("ns/p")) == 3

    rep = rm(f"ns/p@{v[2].short}", reason="bad load", registry=reg)  # latest moves back
    assert reg.tags("ns/p")["latest"] == v[1].top_hash and rep.latest["ns/p"] == v[1].top_hash
    before = _objects(reg)
    assert collect_garbage(reg, grace_seconds=3600).removed == 0  # the grace period still holds
    g = collect_garbage(reg, grace_seconds=0)
    gone = set(before) - set(_objects(reg))
    assert g.removed == rep.objects_freed == len(gone) and g.bytes_removed == rep.bytes_freed
    live = live_objects(reg, reg.versions("ns/p"))
    assert not (gone & live) and live <= set(_objects(reg))
    assert verify_registry(reg).ok

    rep = rm(f"ns/p:prod", reason="superseded", force=True, registry=reg)
    assert rep.tags_deleted == ["ns/p:prod"] and "prod" not in reg.tags("ns/p")
    assert reg.tags("ns/p")["latest"] == v[0].top_hash
    rm(f"ns/p@{v[0].short}", reason="empty it", registry=reg)  # the only version: allowed
    assert reg.history("ns/p") == [] and reg.tags("ns/p") == {} and "ns/p" not in reg.list_packages()
    with pytest.raises(NotFoundError):
        lakepkg.load("ns/p", reg)
    collect_garbage(reg, grace_seconds=0)
    assert _objects(reg) == {}

    log = check_log(reg)
    assert log.ok and [e["action"] for e in log.entries] == ["rm", "rm", "rm"]
    assert [e["reason"] for e in log.entries] == ["bad load", "superseded", "empty it"]
    assert log.entries[0]["versions"][0]["top_hash"] == v[2].top_hash and log.entries[0]["objects"]


def test_retention_dry_run_apply_and_refusals(registry, tmp_path):
    reg = registry
    v = [_publish(reg, "ns/r", i) for i in range(6)]
    reg.set_tag("ns/r", "prod", v[0].top_hash)
    lock = tmp_path / "notebook.lock"
    write_lockfile([LockEntry("ns/r", v[2].top_hash)], str(lock))
    with pytest.raises(ConfigError, match="would remove every version of ns/r"):
        set_policy("ns/r", keep_days=0, registry=reg)
    assert get_policy(reg, "ns/r") is None
    with pytest.raises(ConfigError, match="needs a rule"):
        set_policy("ns/r", registry=reg)
    with pytest.raises(NotFoundError, match="has no retention policy"):
        apply_retention(["ns/r"], registry=reg)

    plan = set_policy("ns/r", keep_last=2, keep_tagged=True, keep_locks=(str(lock),), registry=reg)
    assert sorted(k["top_hash"] for k in plan.keep) == sorted(x.top_hash for x in (v[0], v[2], v[4], v[5]))
    dry = apply_retention(registry=reg)
    assert dry.dry_run and [r.top_hash for r in dry.plans[0].remove] == [v[1].top_hash, v[3].top_hash]
    assert len(reg.history("ns/r")) == 6  # a dry run changes nothing
    before = sum(_objects(reg).values())
    done = apply_retention(["ns/r"], apply=True, registry=reg, grace_seconds=0)
    assert dry.objects_freed == 0 and dry.bytes_unreferenced > 0  # a dry run frees nothing
    assert sum(_objects(reg).values()) == before - dry.bytes_unreferenced and done.gc["bytes_removed"] == dry.bytes_unreferenced
    assert done.bytes_freed == dry.bytes_unreferenced and done.objects_pending == 0  # grace 0: all of it now
    assert [s.top_hash for s in reg.history("ns/r")] == [x.top_hash for x in (v[0], v[2], v[4], v[5])]
    assert verify_registry(reg).ok

    # a later policy that would leave nothing is refused at apply time too, unless forced
    reg.delete_tag("ns/r", "prod")
    os.unlink(lock)
    with pytest.raises(ConfigError, match="lock file .* not found"):  # a pin that cannot be read keeps everything
        apply_retention(apply=True, registry=reg)
    assert len(reg.history("ns/r")) == 4
    write_lockfile([], str(lock))
    key = "packages/ns/r/retention.json"
    cur = reg.read_doc(key)
    reg.write_doc(key, {**cur[0], "keep_last": None, "keep_days": 0}, cur[1])
    with pytest.raises(ConfigError, match="would remove every version"):
        apply_retention(apply=True, registry=reg)
    assert len(reg.history("ns/r")) == 4
    apply_retention(apply=True, force=True, registry=reg, grace_seconds=0)
    assert reg.history("ns/r") == []
    actions = [e["action"] for e in check_log(reg).entries]
    assert actions == ["retention-policy", "retain", "retain"] and check_log(reg).ok


def test_rm_racing_publishes_loses_none(registry):
    import threading

    reg = registry
    v = [_publish(reg, "ns/race", i) for i in range(4)]
    published = []

    def publisher():
        for i in range(10, 16):
            published.append(_publish(reg, "ns/race", i))

    t = threading.Thread(target=publisher)
    t.start()
    for old in v[:3]:
        rm(f"ns/race@{old.top_hash}", reason="cleanup", registry=reg)
    t.join()
    keys = [s.key for s in reg.history("ns/race")]
    assert keys == [v[3].key] + [p.key for p in published]
    assert reg.tags("ns/race")["latest"] == published[-1].top_hash
    assert verify_registry(reg).ok and check_log(reg).ok


def test_retain_apply_counts_agree_with_what_gc_then_removes(tmp_path):
    """`retain --apply` said "11 objects are freed", then gc removed 0 (issue 23): the grace period
    kept them. Its counts now say what its gc freed and what waits for the grace, and a later
    `lakepkg gc` past the grace removes exactly the waiting ones (a real local registry, the CLI)."""
    import json

    from lakepkg.registry import open_registry
    from tests.cli_run import run_cli

    home = tmp_path / "home"
    reg = open_registry(str(home / "registry"))
    v = [_publish(reg, "ns/keep", i) for i in range(3)]
    v1_only = live_objects(reg, [v[0]]) - live_objects(reg, v[1:])
    # v1 was published two days ago: its objects are past the 24 h grace, v2's are not
    old = __import__("time").time() - 2 * 24 * 3600
    for d in v1_only:
        os.utime(reg.store.local_path(d), (old, old))
    run_cli(["retain", "ns/keep", "--keep-last", "1"], home)
    dry = json.loads(run_cli(["retain", "--json"], home).stdout)
    assert dry["dry_run"] and dry["objects_freed"] == 0
    unreferenced = dry["objects_unreferenced"]
    assert unreferenced > len(v1_only) > 0

    done = json.loads(run_cli(["retain", "--apply", "--json"], home).stdout)  # gc with the default 24 h grace
    assert done["objects_unreferenced"] == unreferenced and done["bytes_unreferenced"] == dry["bytes_unreferenced"]
    assert done["objects_freed"] == len(v1_only) == done["gc"]["removed"]
    assert done["objects_pending"] == unreferenced - len(v1_only) == done["gc"]["kept_young"]
    assert done["bytes_freed"] + done["bytes_pending"] == done["bytes_unreferenced"]
    assert done["bytes_freed"] == done["gc"]["bytes_removed"]
    assert not v1_only & set(_objects(reg))  # what it said it freed is gone

    g = json.loads(run_cli(["gc", "--json"], home).stdout)  # still inside the grace: nothing, and says so
    assert g["removed"] == 0 and g["kept_young"] == done["objects_pending"]
    g = json.loads(run_cli(["gc", "--grace-hours", "0", "--json"], home).stdout)
    assert g["removed"] == done["objects_pending"] and g["bytes_removed"] == done["bytes_pending"]
    assert verify_registry(reg).ok and [r.top_hash for r in reg.versions("ns/keep")] == [v[2].top_hash]
