"""Three-way merges, table-driven in the shape of Dolt's merge tests (tests/merge_scenarios.py):
each scenario publishes an ancestor, clones it, publishes ours (a delta on the ancestor: fragments
with deletion vectors) and theirs, merges theirs into ours through the Python API and through the
CLI, and compares the merged rows with the expected table exactly, or the conflicts package with
the expected conflicts (issue 21)."""
from __future__ import annotations

import json

import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.registry import open_registry
from tests.merge_scenarios import SCENARIOS, Scenario, _table, publish_side

def _canon(rows: list[dict]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)


def setup_scenario(reg, sc: Scenario):
    f = sc.files or ({}, {}, {}, {})
    publish_side(reg, "m/main", sc.ancestor, sc, f[0])
    lakepkg.clone("m/main", "m/theirs", registry=reg)
    publish_side(reg, "m/main", sc.ours, sc, f[1])
    publish_side(reg, "m/theirs", sc.theirs, sc, f[2])
    return reg.resolve("m/main").top_hash


def run_merge(reg, sc: Scenario, via: str, capsys):
    if via == "python":
        res = lakepkg.merge("m/main", "m/theirs", "m/main", registry=reg, strategy=sc.strategy)
        return res.status, res.to_json()
    rc = run(["merge", "m/main", "m/theirs", "--to", "m/main", "--strategy", sc.strategy, "--json", "-r", reg.location])
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert (rc == 1) == (doc["status"] == "conflicts"), cap.err
    return doc["status"], doc


@pytest.mark.parametrize("via", ["python", "cli"])
@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_merge_scenario(tmp_path, sc: Scenario, via: str, capsys):
    reg = open_registry(str(tmp_path / "reg"))
    ours_before = setup_scenario(reg, sc)
    status, doc = run_merge(reg, sc, via, capsys)
    if sc.expected is not None:
        assert status in ("merged", "fast-forward", "up-to-date"), doc
        got = lakepkg.load("m/main", reg)
        assert sorted(got.tables) == sorted(sc.expected)
        for tname, rows in sc.expected.items():
            want = _table(rows).to_pylist()
            assert _canon(got.table(tname).to_arrow().to_pylist()) == _canon(want), tname
        if sc.files:
            assert {f.key: f.read_bytes() for f in got.files} == sc.files[3]
        if status == "merged" and doc["published"]["created"]:  # a result equal to ours mints nothing
            rec = reg.resolve("m/main")
            assert rec.merge["parents"][1].startswith("m/theirs@") and rec.parent == ours_before
        return
    assert status == "conflicts", doc
    assert reg.resolve("m/main").top_hash == ours_before  # nothing published
    conf = lakepkg.load("m/main-conflicts", reg)
    for tname, expected in sc.conflicts.items():
        rows = conf.table(tname).to_arrow().to_pylist()
        key = sc.key or [c for c in rows[0] if not c.endswith("_count")]
        got = sorted((json.dumps({k: r[k] for k in key}) if len(key) > 1 or not sc.key else r[key[0]],
                      r.get("conflict_columns", [])) for r in rows)
        want = sorted((json.dumps(k) if isinstance(k, dict) else k, cols) for k, cols in expected)
        assert got == want
    if sc.schema_conflict:
        assert sc.schema_conflict in conf.table("_schema").to_pandas()["column"].tolist()
    if sc.table_conflict:
        assert sc.table_conflict in conf.table("_tables").to_pandas()["table"].tolist()
    if sc.files and not sc.files[3]:
        assert conf.table("_files").to_pandas()["key"].tolist() == ["README.md"]
    summary = conf.table("_summary").to_pandas()
    assert (summary["num_conflicts"] > 0).all() and len(summary) >= 1
