"""The lifecycle commands: --json everywhere, one-line errors, the redaction notice on stderr,
and `lakepkg audit` failing on a tampered or cut log."""
from __future__ import annotations

import json
import os

import pytest

from tests.lifecycle_helpers import new_marker, populate
from tests.cli_run import run_cli as run


@pytest.mark.parametrize("cmd", ["rm", "retain", "where-used", "redact", "audit"])
def test_help_has_json(cmd, home):
    assert "--json" in run([cmd, "--help"], home).stdout


def test_cli_where_used_redact_notice_and_audit(registry, home, tmp_path):
    marker = new_marker()
    made = populate(registry, marker)
    v0 = made["sales/orders"][0]
    where = f"customer = '{marker}'"
    wu = json.loads(run(["where-used", "--table", "orders", "--where", where, "--json"], home).stdout)
    assert len(wu["versions"]) == 6 and wu["fragments_read"] < wu["fragments_considered"]
    only = json.loads(run(["where-used", "--table", "orders", "--where", where, "-p", "crm/orders", "--json"], home).stdout)
    assert {v["package"] for v in only["versions"]} == {"crm/orders"}

    bad = [
        (["redact", "--table", "orders", "--where", where, "--all"], "needs --reason"),
        (["redact", "--table", "orders", "--where", "customer_id = 42", "--all", "--reason", "x"], "unknown column 'customer_id'"),
        (["redact", "--table", "orders", "--where", "customer = 'nobody'", "--all", "--reason", "x"], "nothing changed"),
        (["where-used", "--table", "orders", "--where", "nope = 1"], "unknown column 'nope'"),
        (["rm", f"sales/orders@{made['sales/orders'][1].short}", "--reason", "x"], "is tagged"),
        (["retain", "sales/orders", "--keep-days", "0"], "would remove every version"),
    ]
    for args, msg in bad:
        p = run(args, home, check=False)
        assert p.returncode != 0 and msg in p.stderr and p.stderr.count("\n") == 1, (args, p.stderr)
    assert len(registry.history("sales/orders")) == 3 and registry.audit_keys() == []

    out = json.loads(run(["redact", "--table", "orders", "--where", where, "--all", "--reason", "GDPR 17", "--json"], home).stdout)
    assert out["rows_removed"] == 22 and len(out["versions"]) == 6
    new0 = next(v["new"] for v in out["versions"] if v["old"] == v0.top_hash)
    p = run(["show", f"sales/orders@{v0.top_hash[:10]}", "--json"], home)
    assert json.loads(p.stdout)["top_hash"] == new0
    assert p.stderr.startswith("lakepkg: notice: sales/orders@") and "redacted on" in p.stderr and "GDPR 17" in p.stderr
    lock = tmp_path / "lakepkg.lock"
    lock.write_text(f"sales/orders@{v0.top_hash}\n")
    p = run(["install", "-R", str(lock)], home)
    assert "lakepkg: notice:" in p.stderr and "GDPR 17" in p.stderr

    log = json.loads(run(["audit", "--json"], home).stdout)
    assert log["ok"] and log["entries"][-1]["action"] == "redact" and marker not in json.dumps(log)
    text = run(["audit"], home).stdout
    assert "redact" in text and "chain ok" in text


def test_audit_detects_an_altered_and_a_cut_log(registry, home):
    from lakepkg.governance import rm

    populate(registry, new_marker())
    for rec in registry.versions("sales/orders")[:1] + registry.versions("crm/orders"):
        rm(f"{rec.package}@{rec.top_hash}", reason=f"drop {rec.short}", registry=registry)
    assert json.loads(run(["audit", "--json"], home).stdout)["ok"]
    keys = registry.audit_keys()
    assert len(keys) == 3
    path = os.path.join(registry.meta.root, *keys[1].split("/"))
    original = open(path, "rb").read()
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(original.replace(b"drop", b"kept"))
    p = run(["audit"], home, check=False)
    assert p.returncode == 1 and "audit entry 3 does not chain to entry 2" in p.stderr
    with open(path, "wb") as f:
        f.write(original)
    assert run(["audit"], home).returncode == 0
    os.unlink(os.path.join(registry.meta.root, *keys[2].split("/")))  # drop the newest entry
    p = run(["audit", "--json"], home, check=False)
    assert p.returncode == 1 and not json.loads(p.stdout)["ok"]
    assert "entries were removed" in json.loads(p.stdout)["problems"][0]
