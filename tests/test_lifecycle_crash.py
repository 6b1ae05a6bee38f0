"""A redaction killed with SIGKILL at any step is finished by a re-run, and never leaves a version
half-redacted; a redaction racing publishes to the same package loses neither."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings

import pytest

from lakepkg.errors import ConfigError
from lakepkg.governance import check_log, rm
from lakepkg.governance.redact import FAULT_ENV, pending_journals
from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.verify import verify_registry
from tests.lifecycle_helpers import all_versions, build, files_holding, new_marker, orders, populate, rows_of

LAKEPKG = [sys.executable, "-m", "lakepkg.cli.__main__"]


def _env(home, **extra):
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1", **extra}
    env.pop("LAKEPKG_REGISTRY", None)
    env.pop(FAULT_ENV, None) if FAULT_ENV not in extra else None
    return env


def _redact_cmd(marker):
    return LAKEPKG + ["redact", "--table", "orders", "--where", f"customer = '{marker}'", "--all", "--reason", "crash test", "--json"]


def _consistent(reg, olds, counts, marker):
    """Every original version resolves either to itself with all its marker rows, or to a successor with none."""
    assert verify_registry(reg).ok
    states = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for old in olds:
            rec = reg.resolve(f"{old.package}@{old.top_hash}")
            n = sum(1 for r in rows_of(reg, f"{old.package}@{old.top_hash}") if marker in r)
            if rec.top_hash == old.top_hash:
                assert n == counts[old.top_hash], f"{old.package}@{old.short} lost some rows but not all"
                states.append("old")
            else:
                assert n == 0 and rec.redacted
                states.append("redacted")
    assert check_log(reg).ok
    return states


def _setup(reg, marker):
    populate(reg, marker)
    olds = [r for r in all_versions(reg) if r.package != "ops/other"]
    counts = {r.top_hash: sum(1 for x in rows_of(reg, f"{r.package}@{r.top_hash}") if marker in x) for r in olds}
    return olds, counts


def test_kill_at_every_step_then_rerun_completes(registry, home):
    reg = registry
    marker = new_marker()
    olds, counts = _setup(reg, marker)
    seen = []
    for point in ("built", "journal", "audited", "successor", "tags", "version", "objects"):
        p = subprocess.run(_redact_cmd(marker), capture_output=True, text=True, env=_env(home, **{FAULT_ENV: point}))
        assert p.returncode == -signal.SIGKILL, (point, p.returncode, p.stderr)
        seen.append((point, _consistent(reg, olds, counts, marker), len(pending_journals(reg))))
        if point == "journal":  # gc meanwhile (no grace) must keep what the pending redaction will publish
            journal_dir = os.path.join(reg.meta.root, "journal")
            assert os.listdir(journal_dir) and files_holding([journal_dir], marker) == []  # hashes only, no value
            collect_garbage(reg, grace_seconds=0)
            with pytest.raises(ConfigError, match="redaction of .* is pending"):
                rm(f"{olds[0].package}@{olds[0].top_hash}", reason="x", force=True, registry=reg)
    assert seen[0][1] == ["old"] * len(olds) and seen[0][2] == 0      # before the commit point: nothing visible
    assert seen[1][2] == 1                                            # committed: the journal says what is left to do
    assert "redacted" in seen[-1][1]
    p = subprocess.run(_redact_cmd(marker), capture_output=True, text=True, env=_env(home))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["resumed"] and pending_journals(reg) == []
    assert _consistent(reg, olds, counts, marker) == ["redacted"] * len(olds)
    assert files_holding([str(home)], marker) == []
    redactions = [e for e in check_log(reg).entries if e["action"] == "redact"]
    assert len(redactions) == 1 and len(redactions[0]["versions"]) == len(olds)  # re-runs never log twice


def test_kill_at_random_moments_then_rerun_completes(registry, home):
    reg = registry
    marker = new_marker()
    olds, counts = _setup(reg, marker)
    rnd = random.Random(int(time.time()))
    kills = 0
    for _ in range(4):
        proc = subprocess.Popen(_redact_cmd(marker), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(home))
        delay = rnd.uniform(0.5, 4.0)
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            kills += 1
        proc.stdout.close()
        proc.stderr.close()
        _consistent(reg, olds, counts, marker)
        if proc.returncode == 0:
            break
    print("kills:", kills)
    p = subprocess.run(_redact_cmd(marker), capture_output=True, text=True, env=_env(home))
    assert p.returncode in (0, 1), p.stderr  # 1: an earlier run had finished, "nothing changed"
    assert _consistent(reg, olds, counts, marker) == ["redacted"] * len(olds)
    assert files_holding([str(home)], marker) == [] and pending_journals(reg) == []


def test_redaction_racing_publishes_loses_neither(registry, home):
    reg = registry
    marker = new_marker()
    olds, counts = _setup(reg, marker)
    proc = subprocess.Popen(_redact_cmd(marker), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home))
    published = []
    i = 0
    while proc.poll() is None and i < 40:
        rec = build(reg, "sales/orders", orders(50 + i, "clean-value"), f"race {i}")
        published.append((rec, rows_of(reg, f"sales/orders@{rec.top_hash}")))
        i += 1
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert len(published) >= 2, "the publisher must have run while the redaction did"
    print("racing publishes:", len(published), "rounds:", json.loads(out)["rounds"])
    keys = {s.key for s in reg.history("sales/orders")}
    for rec, rows in published:  # every racing version is in the history, whole and unchanged
        assert rec.key in keys
        assert rows_of(reg, f"sales/orders@{rec.top_hash}") == rows
    assert _consistent(reg, olds, counts, marker) == ["redacted"] * len(olds)
    assert reg.tags("sales/orders")["latest"] == published[-1][0].top_hash
    assert files_holding([str(home)], marker) == []


def test_two_redactions_at_once_both_hold(registry, home):
    reg = registry
    marker = new_marker()
    olds, _counts = _setup(reg, marker)
    cmds = [_redact_cmd(marker),
            LAKEPKG + ["redact", "--table", "orders", "--where", "id = 2003", "--all", "--reason", "second", "--json"]]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home)) for c in cmds]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert sum(rc == 0 for _, _, rc in results) >= 1
    for cmd, (out, err, rc) in zip(cmds, results):
        if rc != 0:  # the loser of the commit lock says so in one line; a re-run completes it
            assert "another redaction" in err or "nothing changed" in err, err
            p = subprocess.run(cmd, capture_output=True, text=True, env=_env(home))
            assert p.returncode in (0, 1), p.stderr
    assert verify_registry(reg).ok and check_log(reg).ok and pending_journals(reg) == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for old in olds:
            rows = rows_of(reg, f"{old.package}@{old.top_hash}")
            assert not any(marker in r for r in rows), old.package
            assert not any(r[3] == "2003" for r in rows), old.package  # columns: amount, customer, ds, id
            assert len(reg.resolve(f"{old.package}@{old.top_hash}").redacted) == (2 if old.package != "sales/orders-eu" else 1)
    assert files_holding([str(home)], marker) == []
