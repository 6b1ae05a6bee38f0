"""Executable docs (issue 23 item 1): every fenced ``bash``/``sh``/``console``/``python`` block of
README.md and docs/*.md runs, in order per page, against a scratch registry (a fresh LAKEPKG_HOME) and
the servers the suite already runs — or carries the marker line ``<!-- not run: REASON -->`` directly
above its fence. A page whose example fails fails here with the page and line.

What a page may use (the harness sets them only for a page that mentions them):

* ``$PG_URL`` / ``$MYSQL_URL`` — a fresh PostgreSQL / MariaDB database (the ``pg_url`` / ``mysql_url``
  fixtures); ``$S3_BUCKET`` — a fresh bucket on the suite's S3 endpoint (``LAKEPKG_S3_ENDPOINT_URL``
  and test credentials are set); ``$METASTORE`` — the suite's Thrift metastore.

Blocks run in a subprocess per page (tests/docs_runner.py); see that module for how ``console`` output
is compared.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "docs_runner.py")
RUNNABLE = {"bash", "sh", "console", "python"}
MARKER = re.compile(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    not_run: Optional[str]  # the marker's reason, or None


def parse_page(path: str) -> list[Block]:
    """The fenced blocks of a Markdown page (every language), with their markers."""
    rel = os.path.relpath(path, ROOT)
    lines = open(path, encoding="utf-8").read().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence[0] * len(fence)):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        prev = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mm = MARKER.match(prev.strip())
        out.append(Block(rel, start + 1, lang, "\n".join(body) + "\n", mm.group(1) if mm else None))
    return out


def pages() -> list[str]:
    docs = os.path.join(ROOT, "docs")
    return [os.path.join(ROOT, "README.md")] + sorted(
        os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))


def page_counts() -> dict[str, tuple[int, int]]:
    """page → (runnable blocks, marked blocks): the figures the closing note lists."""
    out = {}
    for p in pages():
        blocks = [b for b in parse_page(p) if b.lang in RUNNABLE]
        out[os.path.relpath(p, ROOT)] = (sum(b.not_run is None for b in blocks), sum(b.not_run is not None for b in blocks))
    return out


def _env_for(code: str, request, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEPKG_", "AIRFLOW"))}
    env.update({"LAKEPKG_HOME": str(tmp_path / "home"), "LAKEPKG_NO_PROGRESS": "1", "PYTHONUNBUFFERED": "1",
                "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                "COLUMNS": "160"})
    if "PG_URL" in code:
        env["PG_URL"] = request.getfixturevalue("pg_url")
    if "MYSQL_URL" in code:
        env["MYSQL_URL"] = request.getfixturevalue("mysql_url")
    if "S3_BUCKET" in code:
        from tests.fixtures.s3 import TEST_ENV, new_bucket

        endpoint = request.getfixturevalue("s3_endpoint")
        env.update(TEST_ENV)
        env.update({"LAKEPKG_S3_ENDPOINT_URL": endpoint, "S3_BUCKET": new_bucket(endpoint),
                    "LAKEPKG_CACHE_DIR": str(tmp_path / "cache"), "NO_PROXY": "127.0.0.1,localhost"})
    if "METASTORE" in code:
        env["METASTORE"] = request.getfixturevalue("metastore")
    return env


def run_page(path: str, request, tmp_path) -> subprocess.CompletedProcess[str]:
    blocks = [b for b in parse_page(path) if b.lang in RUNNABLE and b.not_run is None]
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps({"page": os.path.relpath(path, ROOT),
                                "blocks": [{"line": b.line, "lang": b.lang, "code": b.code} for b in blocks]}))
    env = _env_for("".join(b.code for b in blocks), request, tmp_path)
    return subprocess.run([sys.executable, RUNNER, str(spec)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("page", [os.path.relpath(p, ROOT) for p in pages()])
def test_page_examples_run(page, request, tmp_path):
    path = os.path.join(ROOT, page)
    for b in parse_page(path):
        if b.lang in RUNNABLE and b.not_run is not None:
            assert b.not_run, f"{page}:{b.line}: a `not run` marker must say why"
    if not any(b.lang in RUNNABLE and b.not_run is None for b in parse_page(path)):
        return
    p = run_page(path, request, tmp_path)
    assert p.returncode == 0, (p.stderr.strip().splitlines() or ["(no message)"])[-1] + "\n" + p.stdout[-3000:] + \
        "\n" + p.stderr[-3000:]


def test_a_failing_example_names_its_page_and_line(request, tmp_path):
    page = tmp_path / "bad.md"
    page.write_text("# t\n\n```bash\nlakepkg ls\n```\n\n<!-- not run: needs a cluster -->\n```bash\nexit 3\n```\n\n"
                    "```python\nx = 1\n\nraise ValueError('boom')\n```\n\n```console\n$ echo hi\nho\n```\n")
    blocks = parse_page(str(page))
    assert [(b.line, b.lang, b.not_run) for b in blocks] == [(3, "bash", None), (8, "bash", "needs a cluster"),
                                                             (12, "python", None), (18, "console", None)]
    p = run_page(str(page), request, tmp_path)
    assert p.returncode == 1 and p.stderr.strip().splitlines()[-1].endswith("bad.md:15: ValueError: boom"), p.stderr


def test_console_output_is_checked(request, tmp_path):
    page = tmp_path / "out.md"
    page.write_text("```console\n$ echo 'pushed: 3 of 3 objects'\npushed: ... of 3 objects\n$ echo a\nb\n```\n")
    p = run_page(str(page), request, tmp_path)
    assert p.returncode == 1 and "out.md:4:" in p.stderr and "'b' not found" in p.stderr, p.stderr

