"""Runs one documentation page's examples, in order, in a scratch folder — executed as a subprocess
by tests/test_docs_examples.py.

    python tests/docs_runner.py BLOCKS.json

BLOCKS.json: ``{"page": "docs/x.md", "blocks": [{"line": N, "lang": "bash"|"sh"|"console"|"python",
"code": "..."}]}``. The process's working folder is the page's scratch folder; ``LAKEPKG_HOME`` is a
fresh home there. Python blocks share one namespace (a page reads like one session); shell blocks run
with ``bash -e -o pipefail``; in a ``console`` block each ``$ command`` runs and the lines after it,
up to the next ``$``, are its expected output: every expected line must appear, in order (``...``
inside a line matches anything; a line that is only ``...`` matches any lines). The first failure is
printed as ``PAGE:LINE: what went wrong`` and the exit code is 1.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import traceback


def _line_re(expected: str) -> "re.Pattern[str]":
    parts = [re.escape(p) for p in re.split(r"\.\.\.|…", expected.strip())]
    return re.compile(r"\s*" + ".*".join(parts) + r"\s*$")


def check_output(expected: list[str], actual: str) -> str | None:
    """None when every expected line matches an actual line, in order; else what is missing."""
    got = [ln.rstrip() for ln in actual.splitlines()]
    i = 0
    for exp in expected:
        if not exp.strip() or exp.strip() in ("...", "…"):
            continue
        pat = _line_re(exp)
        while i < len(got) and not pat.match(got[i]):
            i += 1
        if i == len(got):
            return f"expected output line {exp.strip()!r} not found in:\n{actual}"
        i += 1
    return None


def _shell(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], capture_output=True, text=True)


def run_console(code: str) -> tuple[int, str] | None:
    """(offset of the failing line in the block, message), or None."""
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        start, cmd = i, lines[i][2:]
        while cmd.endswith("\\") and i + 1 < len(lines):  # a command continued on the next line
            i += 1
            cmd = cmd[:-1] + "\n" + lines[i]
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        p = _shell(cmd)
        if p.returncode != 0 and not any("lakepkg: error:" in e for e in expected):
            return start, f"`{cmd}` exited {p.returncode}: {(p.stderr or p.stdout).strip()[-2000:]}"
        missing = check_output(expected, p.stdout + p.stderr)
        if missing:
            return start, f"`{cmd}`: {missing}"
    return None


def main() -> int:
    spec = json.load(open(sys.argv[1]))
    page = spec["page"]
    namespace: dict = {"__name__": "__main__"}
    for block in spec["blocks"]:
        where = f"{page}:{block['line']}"
        lang, code = block["lang"], block["code"]
        print(f"-- {where} ({lang})", flush=True)
        if lang == "python":
            try:
                exec(compile(code, where, "exec"), namespace)
            except BaseException:  # noqa: BLE001 - any failure of an example is the page's failure
                etype, exc, tb = sys.exc_info()
                frames = [f for f in traceback.extract_tb(tb) if f.filename == where]
                line = block["line"] + (frames[-1].lineno if frames else 0)
                print(f"{page}:{line}: {etype.__name__}: {str(exc).strip()[:2000]}", file=sys.stderr)
                return 1
        elif lang == "console":
            failed = run_console(code)
            if failed:
                print(f"{page}:{block['line'] + 1 + failed[0]}: {failed[1]}", file=sys.stderr)
                return 1
        else:
            p = _shell(code)
            sys.stdout.write(p.stdout)
            if p.returncode != 0:
                print(f"{where}: the block exited {p.returncode}: {(p.stderr or p.stdout).strip()[-2000:]}",
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
