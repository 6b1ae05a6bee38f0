"""A redaction notice once (issue 23 item 7): once per process per reference, not for the successor
named by its own hash, once per command (push printed it twice), and one clean line in a notebook's
stderr instead of a warning pointing into lakepkg's source."""
from __future__ import annotations

import subprocess
import sys

import pyarrow as pa

import lakepkg
from lakepkg.governance.redact import redact
from tests.cli_run import cli_env, run_cli


def _redacted(registry):
    old = lakepkg.build("crm/users", {"users": pa.table({"id": [1, 2, 3], "name": ["ann", "bob", "cy"]})},
                        registry=registry)
    rep = redact("users", "name = 'bob'", reason="erasure 7", packages=["crm/users"], registry=registry)
    new = next(v["new"] for v in rep.versions if v["old"] == old.top_hash)
    return old.top_hash, new


def _notices(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "was redacted" in ln]


def test_cli_notice_once_per_command_and_not_for_the_successor(registry, home, tmp_path):
    old, new = _redacted(registry)
    p = run_cli(["push", f"crm/users@{old[:12]}", "--to", str(tmp_path / "remote")], home)
    assert len(_notices(p.stderr)) == 1 and p.stderr.startswith("lakepkg: notice: crm/users@"), p.stderr
    p = run_cli(["show", f"crm/users@{new[:12]}", "--json"], home)
    assert _notices(p.stderr) == [], p.stderr


def test_python_notice_once_per_process_in_one_clean_line(registry, home):
    old, new = _redacted(registry)
    code = ("import lakepkg\n"
            f"for _ in range(3):\n    assert lakepkg.load('crm/users@{old[:12]}').top_hash == '{new}'\n"
            f"lakepkg.load('crm/users@{new}')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(home))
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("lakepkg: notice: crm/users@") and "erasure 7" in lines[0], p.stderr
    assert "refs.py" not in p.stderr and "warnings.warn" not in p.stderr and "RedactedVersionWarning" not in p.stderr
