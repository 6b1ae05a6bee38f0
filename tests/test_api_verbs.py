"""The API verbs the CLI calls (``lakepkg.compact``, ``rm``, ``retain``, ``redact``, ``restore``,
``where_used``, ``audit``), called directly against real local registries, and the CLI's ``--json``
for the same verb agreeing with the API's result. A verb that changes the registry runs through the
API in one registry and through the CLI in a second one holding the same versions (same top hashes:
publishing is deterministic), and the two results are compared on what does not depend on the clock.
The checks the CLI used to repeat (``tag --expect``, ``verify``, ``install``, ``gc``) live in the API
once: the API raises what the CLI prints."""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import ConfigError, InvalidRefError, NotFoundError
from lakepkg.read.package import Package


def _orders(version: int) -> pa.Table:
    n = 40
    return pa.table({"id": list(range(n)), "customer": [f"c{i % 7}" for i in range(n)],
                     "amount": [float(i * (version + 1)) for i in range(n)],
                     "ds": ["2026-11-01" if i < 20 else "2026-11-02" for i in range(n)]})


def _populate(path: str) -> dict[str, Any]:
    """Two versions of t/orders (v1 tagged prod) and t/part, a clone of v2 keeping id < 30 through
    deletion vectors; the same versions (top hashes) in every registry this is run on."""
    reg = lakepkg.open_registry(path)
    made = []
    for v in range(2):
        b = lakepkg.PackageBuilder(reg)
        b.add_table("orders", _orders(v))
        made.append(b.publish("t/orders", f"v{v}", tags=["prod"] if v == 0 else ()).record)
    part = lakepkg.clone("t/orders", "t/part", registry=reg, where="id < 30", message="part")
    return {"reg": reg, "v": made, "part": part.record}


@pytest.fixture
def two(tmp_path):
    """(registry used through the API, registry used through the CLI), with equal content."""
    a, b = _populate(str(tmp_path / "api")), _populate(str(tmp_path / "cli"))
    assert [r.top_hash for r in a["v"]] == [r.top_hash for r in b["v"]] and a["part"].top_hash == b["part"].top_hash
    return a, b


def _cli_json(args: list[str], reg: Any, capsys: Any) -> Any:
    capsys.readouterr()
    rc = run(args + ["--json", "-r", reg.location])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    return json.loads(cap.out)


def test_compact(two, capsys):
    a, b = two
    assert Package(a["reg"], a["part"].top_hash)["orders"].has_deletes()
    res = lakepkg.compact("t/part", registry=a["reg"])
    from lakepkg.write.compaction import CompactResult

    assert isinstance(res, CompactResult)
    assert res.created and sum(t["fragments_rewritten"] for t in res.tables.values()) >= 1
    t = Package(a["reg"], res.record.top_hash)["orders"]
    assert not t.has_deletes() and sorted(t.to_arrow().column("id").to_pylist()) == list(range(30))
    cli = _cli_json(["compact", "t/part"], b["reg"], capsys)
    assert cli["top_hash"] == res.record.top_hash and cli["created"] is True and cli["tables"] == res.tables
    again = lakepkg.compact("t/part", registry=a["reg"])
    assert not again.created and again.record.top_hash == res.record.top_hash


def test_rm_and_audit(two, capsys):
    a, b = two
    v0, v1 = a["v"]
    with pytest.raises(ConfigError, match="rm needs --reason"):
        lakepkg.rm(f"t/orders@{v0.top_hash[:10]}", reason=" ", registry=a["reg"])
    rep = lakepkg.rm(f"t/orders@{v0.top_hash[:10]}", reason="bad load", force=True, registry=a["reg"])
    assert [v["top_hash"] for v in rep.versions] == [v0.top_hash] and rep.tags_deleted == ["t/orders:prod"]
    assert [r.top_hash for r in a["reg"].versions("t/orders")] == [v1.top_hash]
    cli = _cli_json(["rm", f"t/orders@{v0.top_hash[:10]}", "--reason", "bad load", "--force"], b["reg"], capsys)
    assert [v["top_hash"] for v in cli["versions"]] == [v0.top_hash]
    assert cli["tags_deleted"] == rep.tags_deleted and cli["latest"] == rep.latest
    assert cli["objects_freed"] == rep.objects_freed and cli["bytes_freed"] == rep.bytes_freed
    # audit: the API's report is what the CLI prints, on the same registry
    log = lakepkg.audit(registry=a["reg"])
    assert log.ok and [e["action"] for e in log.entries] == ["rm"] and log.entries[0]["reason"] == "bad load"
    assert _cli_json(["audit"], a["reg"], capsys) == json.loads(json.dumps(log.to_json(), default=str))


def test_retain(two, capsys):
    a, b = two
    v0, v1 = a["v"]
    res = lakepkg.retain("t/orders", keep_last=1, registry=a["reg"])
    assert isinstance(res, lakepkg.RetainResult) and res.report is None
    assert res.policy is not None and res.policy.keep_last == 1
    assert res.plan is not None and [r.top_hash for r in res.plan.remove] == [v0.top_hash]
    assert len(a["reg"].versions("t/orders")) == 2  # a policy alone removes nothing
    cli = _cli_json(["retain", "t/orders", "--keep-last", "1"], b["reg"], capsys)
    assert [r["top_hash"] for r in cli["plan"]["remove"]] == [v0.top_hash] and cli["policy"]["keep_last"] == 1
    with pytest.raises(ConfigError, match="give the package the policy is for"):
        lakepkg.retain(keep_last=1, registry=a["reg"])
    # a dry run over every package with a policy, then --apply
    dry = lakepkg.retain(registry=a["reg"])
    assert dry.report is not None and dry.report.dry_run and len(a["reg"].versions("t/orders")) == 2
    assert _cli_json(["retain"], a["reg"], capsys)["plans"][0]["remove"][0]["top_hash"] == v0.top_hash
    done = lakepkg.retain(apply=True, grace_hours=0, registry=a["reg"])
    assert done.report is not None and not done.report.dry_run
    assert [r.top_hash for r in a["reg"].versions("t/orders")] == [v1.top_hash]
    cli = _cli_json(["retain", "--apply", "--grace-hours", "0"], b["reg"], capsys)
    assert cli["dry_run"] is False and cli["objects_freed"] == done.report.objects_freed
    assert [r.top_hash for r in b["reg"].versions("t/orders")] == [v1.top_hash]


def test_where_used_and_redact(two, capsys):
    a, b = two
    use = lakepkg.where_used(table="orders", where="id = 35", registry=a["reg"])
    # id 35 is in both versions of t/orders, and its bytes in the clone (id < 30 live): the clone shares
    # t/orders v2's fragment object, whose deletion vector hides the row but does not remove its bytes
    held = sorted([r.top_hash for r in a["v"]] + [a["part"].top_hash])
    assert sorted(v.top_hash for v in use.versions) == held
    assert _cli_json(["where-used", "--table", "orders", "--where", "id = 35"], a["reg"], capsys) == use.to_json()
    with pytest.raises(ConfigError, match="redact needs --table T and --where PREDICATE"):
        lakepkg.redact("orders", reason="x", all_packages=True, registry=a["reg"])
    with pytest.raises(ConfigError, match="redact needs --reason"):
        lakepkg.redact("orders", "id = 35", all_packages=True, registry=a["reg"])
    rep = lakepkg.redact("orders", "id = 35", reason="GDPR 17", all_packages=True, registry=a["reg"])
    assert rep.rows_removed == 2 and {v["old"] for v in rep.versions} == set(held)
    # the clone's fragment is rewritten without the row's bytes, and keeps exactly its 30 live rows (the
    # rewrite of the shared object for t/orders v2, which holds 39, is not reused for it)
    from lakepkg.registry.core import RedactedVersionWarning

    with pytest.warns(RedactedVersionWarning, match="GDPR 17"):  # the old top hash names its successor
        part = a["reg"].resolve(f"t/part@{a['part'].top_hash[:10]}")
    ids = Package(a["reg"], part.top_hash, part)["orders"].to_arrow().column("id").to_pylist()
    assert sorted(ids) == list(range(30))
    assert part.top_hash != a["part"].top_hash and lakepkg.verify(registry=a["reg"]).ok
    assert lakepkg.where_used(table="orders", where="id = 35", registry=a["reg"]).versions == []
    cli = _cli_json(["redact", "--table", "orders", "--where", "id = 35", "--all", "--reason", "GDPR 17"], b["reg"], capsys)
    assert cli["rows_removed"] == rep.rows_removed and cli["table"] == rep.table and cli["predicate"] == rep.predicate
    assert sorted((v["old"], v["rows_removed"]) for v in cli["versions"]) == \
        sorted((v["old"], v["rows_removed"]) for v in rep.versions)
    # nothing interrupted: resume finds nothing, in both forms
    assert lakepkg.redact(resume=True, registry=a["reg"]).resumed == []
    assert _cli_json(["redact", "--resume"], a["reg"], capsys)["resumed"] == []


def test_restore_checks_in_the_api(tmp_path, capsys, monkeypatch):
    reg = _populate(str(tmp_path / "r"))["reg"]
    monkeypatch.delenv("LAKEPKG_METASTORE", raising=False)
    kw = dict(table="orders", into="db.x", location=str(tmp_path / "out"), registry=reg)
    with pytest.raises(ConfigError, match="give --metastore"):
        lakepkg.restore("t/orders", **kw)
    capsys.readouterr()
    assert run(["restore", "t/orders", "-t", "orders", "--into", "db.x", "--location", str(tmp_path / "out"),
                "-r", reg.location]) == 1
    assert "give --metastore" in capsys.readouterr().err
    with pytest.raises(NotFoundError):  # the reference is resolved before the metastore is reached
        lakepkg.restore("t/nosuch", metastore="thrift://127.0.0.1:1", **kw)


def test_checks_written_once_in_the_api(tmp_path, capsys):
    reg = _populate(str(tmp_path / "r"))["reg"]
    v0, v1 = [r.top_hash for r in reg.versions("t/orders")]
    with pytest.raises(InvalidRefError, match="invalid target"):
        lakepkg.tag("t/orders", "prod", "no such!", registry=reg)
    with pytest.raises(lakepkg.LakepkgError):  # compare-and-swap: prod holds v0, not v1
        lakepkg.tag("t/orders", "prod", v1[:8], expect=v1[:8], registry=reg)
    moved = lakepkg.tag("t/orders", "prod", v1[:8], expect=v0[:8], registry=reg)
    assert moved.top_hash == v1 and reg.resolve("t/orders:prod").top_hash == v1
    assert _cli_json(["tag", "t/orders", "prod", v0[:8], "--expect", v1[:8]], reg, capsys)["top_hash"] == v0
    with pytest.raises(NotFoundError, match="package t/nosuch not found"):
        lakepkg.verify("t/nosuch", registry=reg)
    seen: list[tuple[int, int]] = []
    rep = lakepkg.verify("t/orders", registry=reg, progress=lambda done, total: seen.append((done, total)))
    assert rep.ok and rep.versions == 2 and seen
    assert _cli_json(["verify", "t/orders"], reg, capsys)["objects_checked"] == rep.objects_checked
    with pytest.raises(ConfigError, match="finite number of hours"):
        lakepkg.gc(grace_hours=float("nan"), registry=reg)
    with pytest.raises(ConfigError, match="not both"):
        lakepkg.install("t/orders", requirement=str(tmp_path / "x.lock"), registry=reg)
    with pytest.raises(ConfigError, match="to install a lock file use"):
        lakepkg.install(registry=str(tmp_path / "mine.lock"))


def test_ls_show_log_are_the_api(tmp_path, capsys):
    reg = _populate(str(tmp_path / "r"))["reg"]
    rows = lakepkg.ls("t/", registry=reg)
    assert [p.name for p in rows] == ["t/orders", "t/part"] and rows[0].versions == 2 and rows[0].tags == ["latest", "prod"]
    assert _cli_json(["ls", "t/"], reg, capsys) == [p.to_json() for p in rows]
    d = lakepkg.show("t/part", registry=reg)
    assert d.package == "t/part" and [t["name"] for t in d.tables] == ["orders"] and d.tables[0]["rows"] == 30
    assert _cli_json(["show", "t/part"], reg, capsys) == json.loads(json.dumps(d.to_json(), default=str))
    hist = lakepkg.log("t/orders", registry=reg)
    cli = _cli_json(["log", "t/orders"], reg, capsys)
    assert [r["top_hash"] for r in cli] == [r.top_hash for r in hist]
    assert {t for r in cli for t in r["tags"]} == set(hist.tag_keys) == {"latest", "prod"}
