"""The CLI prints through one output object (lakepkg/cli/output.py: a console form and a JSON form): no
command module branches on ``--json`` (``if as_json``, ``... if as_json else ...``, ``if out.json``,
``not as_json``), and no command module prints JSON itself (``json.dumps`` / ``emit_json``). A command
hands its result to one ``Output`` method; the form is chosen once, by ``make_output``."""
from __future__ import annotations

import os
import re

CLI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lakepkg", "cli")
# output.py (JSON), _console.py and _output_base.py hold the two forms; __init__.py picks the form of an error before a command runs
ALLOWED = {"output.py", "_output_base.py", "_console.py", "__init__.py"}
FORK = re.compile(r"\bif\b[^#\n]*\b(as_json|json_|json|_json)\b|\b(as_json|json_)\b\s+else\b|\bnot\s+(as_json|json_)\b"
                  r"|\bout\.json\b|\bjson\.dumps\(|\bemit_json\(|\bprint_json\(")


def forks(root: str = CLI) -> list[str]:
    """``file:line: text`` of every line of a command module that branches on --json or prints JSON."""
    found = []
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py") or name in ALLOWED:
            continue
        with open(os.path.join(root, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                code = line.split("#", 1)[0]
                if FORK.search(code):
                    found.append(f"{name}:{n}: {line.strip()}")
    return found


def test_no_command_branches_on_json():
    found = forks()
    assert not found, ("a command branches on --json or prints JSON itself; give lakepkg/cli/output.py's Output "
                       "a method (console and JSON form) instead:\n" + "\n".join(found))


def test_the_grep_finds_a_fork(tmp_path):
    """The check above can fail: each shape of fork in a command module is found."""
    shapes = ["    if as_json:\n", "    x = ['--json'] if as_json else []\n", "    if not as_json:\n",
              "    if out.json:\n", "    emit_json(res.to_json())\n", "    if print_ and as_json:\n",
              "    sys.stdout.write(json.dumps(d))\n"]
    for i, s in enumerate(shapes):
        (tmp_path / f"cmd{i}.py").write_text("def f(as_json):\n" + s)
    (tmp_path / "fine.py").write_text("def f(as_json: bool = JsonOpt):\n    out = make_output(as_json)\n")
    assert sorted(x.split(":")[0] for x in forks(str(tmp_path))) == sorted(f"cmd{i}.py" for i in range(len(shapes)))
