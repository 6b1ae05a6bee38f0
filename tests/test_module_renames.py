"""The renamed packages (docs/cli.md, Renamed spellings): ``lakepkg.lifecycle`` is ``lakepkg.governance``
and ``lakepkg.hive`` is ``lakepkg.metastore``; the old paths give the same module objects for one release,
with one LakepkgDeprecationWarning per process. Run in a fresh interpreter: the warning is per process."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import warnings
warnings.simplefilter("always")
from lakepkg.errors import LakepkgDeprecationWarning
import sys
import lakepkg.governance as gov, lakepkg.metastore.thrift as thrift
import lakepkg.governance.retention
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    import lakepkg.lifecycle.retention
    from lakepkg.lifecycle import rm, where_used
    from lakepkg.lifecycle.retention import apply_retention
    import lakepkg.lifecycle as old_gov
    from lakepkg.hive.thrift import connect
    from lakepkg.hive import types as old_types
    import lakepkg.metastore.types as types
assert sys.modules["lakepkg.lifecycle.retention"] is sys.modules["lakepkg.governance.retention"]
assert rm is gov.rm and where_used is gov.where_used, "not the same objects"
assert apply_retention is gov.apply_retention and connect is thrift.connect and old_types is types
assert sorted(set(old_gov.__all__)) == sorted(set(gov.__all__))
msgs = [str(w.message) for w in seen if issubclass(w.category, LakepkgDeprecationWarning)]
assert len(msgs) == 2, msgs
assert "lakepkg.lifecycle is renamed lakepkg.governance" in msgs[0], msgs
assert "lakepkg.hive is renamed lakepkg.metastore" in msgs[1], msgs
try:
    import lakepkg.lifecycle.no_such_module
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("a module that does not exist under the new name imported under the old")
print("ok")
"""


def test_old_module_paths_are_the_new_modules_and_warn_once_each():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_new_code_never_imports_the_old_paths():
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    bad = [f"{p.relative_to(root)}:{i}" for base in ("lakepkg", "connectors", "spark_jobs", "tests", "bench")
           for p in (root / base).rglob("*.py") if p.name != "test_module_renames.py"
           and not (p.parent.name in ("lifecycle", "hive") and p.parent.parent.name == "lakepkg")
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if "import" in line and ("lakepkg.lifecycle" in line or "lakepkg.hive" in line or
                                    "from lakepkg import lifecycle" in line or "from lakepkg import hive" in line)
           and "_renamed" not in p.name]
    assert not bad, bad
