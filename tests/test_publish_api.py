"""The top-level Python API mirrors the CLI: every verb, from Python, with the CLI's names and options
and one result type each; `import lakepkg` stays cheap and `dir(lakepkg)` lists the verbs."""
from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import ConcurrentUpdateError, NotFoundError

VERBS = ["snapshot", "build", "load", "push", "pull", "install", "lock", "log", "history", "diff", "tag",
         "verify", "gc"]
NAMES = VERBS + ["Source", "PublishResult", "Package", "PackageBuilder", "open_registry", "LakepkgError"]


def test_every_verb_is_listed_and_import_stays_cheap():
    assert set(NAMES) <= set(lakepkg.__all__) and set(NAMES) <= set(dir(lakepkg))
    for name in NAMES:
        assert getattr(lakepkg, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lakepkg.nope  # noqa: B018
    code = "import sys, lakepkg; print(sorted(m for m in ('pyarrow', 'pandas', 'lakepkg.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"ds": ["a", "b"] * n, "v": list(range(2 * n))})


def test_verbs_from_python(registry, tmp_path):
    remote = str(tmp_path / "remote")
    # build -> PublishResult
    v1 = lakepkg.build("api/orders", tables={"orders": _frame(2)}, files={"README.md": b"# orders\n"},
                       registry=registry, message="one", tags=["first"], partition_cols={"orders": ["ds"]})
    assert isinstance(v1, lakepkg.PublishResult) and v1.created and v1.tables["orders"]["rows"] == 4
    assert v1.tables["orders"]["fragments"] == 2 and registry.tags("api/orders")["first"] == v1.top_hash
    v2 = lakepkg.build("api/orders", tables={"orders": _frame(3)}, registry=registry, message="two")
    # load -> Package
    pkg = lakepkg.load("api/orders", registry)
    assert isinstance(pkg, lakepkg.Package) and pkg.top_hash == v2.top_hash and pkg["orders"].rows == 6
    # log / history -> records, newest first
    assert [r.top_hash for r in lakepkg.log("api/orders", registry=registry)] == [v2.top_hash, v1.top_hash]
    assert lakepkg.history is lakepkg.log
    with pytest.raises(NotFoundError, match="not found"):
        lakepkg.log("api/none", registry=registry)
    # diff -> PackageDiff (against latest by default)
    d = lakepkg.diff(v1.ref, registry=registry)
    assert not d.empty and d.files_removed == ["README.md"]
    assert lakepkg.diff(v1.ref, v1.ref, registry).empty
    # tag -> TagResult, compare-and-swap with expect
    t = lakepkg.tag("api/orders", "prod", v1.top_hash[:8], registry=registry)
    assert t.top_hash == v1.top_hash and t.to_json()["tag"] == "prod"
    with pytest.raises(ConcurrentUpdateError):
        lakepkg.tag("api/orders", "prod", "latest", expect=v2.top_hash[:8], registry=registry)
    assert lakepkg.tag("api/orders", "prod", "latest", expect=v1.top_hash[:8], registry=registry).top_hash == v2.top_hash
    assert lakepkg.tag("api/orders", "prod", delete=True, registry=registry).deleted
    assert "prod" not in registry.tags("api/orders")
    # verify -> VerifyReport
    rep = lakepkg.verify(registry=registry)
    assert rep.ok and rep.versions == 2 and rep.objects_checked > 3
    assert lakepkg.verify(v1.ref, registry=registry).versions == 1
    # lock -> entries, written to the file
    lockfile = tmp_path / "lakepkg.lock"
    (entry,) = lakepkg.lock(f"api/orders@{v1.top_hash[:8]}", registry=registry, file=str(lockfile))
    assert entry.top_hash == v1.top_hash and v1.top_hash in lockfile.read_text()
    # push / pull -> TransferReport
    pushed = lakepkg.push(v1.ref, to=remote, registry=registry)
    assert pushed.objects_copied > 0 and pushed.top_hash == v1.top_hash
    assert lakepkg.push(v1.ref, to=remote, registry=registry).objects_copied == 0
    other = lakepkg.open_registry(str(tmp_path / "other"))
    pulled = lakepkg.pull(v1.ref, source=remote, registry=other, as_name="api/copy")
    assert pulled.top_hash == v1.top_hash and other.resolve("api/copy").top_hash == v1.top_hash
    # install -> one report per installed version (a ref, or a lock file)
    (inst,) = lakepkg.install(v1.ref, source=remote, registry=str(tmp_path / "third"), dest=str(tmp_path / "out"))
    assert inst.files_written >= 3 and (tmp_path / "out" / "README.md").read_text() == "# orders\n"
    reports = lakepkg.install(requirement=str(lockfile), source=remote, registry=str(tmp_path / "fourth"))
    assert [r.top_hash for r in reports] == [v1.top_hash]
    with pytest.raises(lakepkg.LakepkgError, match="not both or neither"):
        lakepkg.install()
    # gc -> GcReport (nothing unreferenced is old enough)
    g = lakepkg.gc(dry_run=True, registry=registry)
    assert g.dry_run and g.removed == 0 and g.referenced > 3
    # PackageBuilder -> the same one publish
    b = lakepkg.PackageBuilder(registry)
    b.add_table("t", pa.table({"x": [1]}))
    res = b.publish("api/builder", tags=["x"])
    assert isinstance(res, lakepkg.PublishResult) and res.ref == f"api/builder@{res.top_hash[:10]}"


def test_snapshot_verb_with_a_source_and_a_connector_name(registry, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    pq.write_table(pa.table({"a": [1, 2, 3]}), data / "p.parquet")
    by_name = lakepkg.snapshot("files", to="api/snap", registry=registry, tables={"t": str(data)})
    by_source = lakepkg.snapshot([lakepkg.Source("files", {"tables": {"t": str(data)}})], to="api/snap",
                                 registry=registry, message="again", inputs=["api/orders@0123456789"])
    assert by_name.created and not by_source.created and by_source.top_hash == by_name.top_hash
    assert by_name.tables["t"]["rows"] == 3 and by_name.record.message == "snapshot via files"
    full = lakepkg.snapshot(("files", {"tables": {"t": str(data)}}), to="api/snap", registry=registry,
                            incremental=False, files={"README.md": str(data / "p.parquet")})
    assert full.created and full.tables["t"]["files_read"] == 1 and [f.key for f in lakepkg.load(full.ref, registry).files] == ["README.md"]


def test_cli_build_prints_the_headline_and_result_json(home, tmp_path):
    data = tmp_path / "t"
    data.mkdir()
    pq.write_table(pa.table({"a": [1]}), data / "p.parquet")
    env = {**os.environ, "LAKEPKG_HOME": str(home), "LAKEPKG_NO_PROGRESS": "1"}
    env.pop("LAKEPKG_REGISTRY", None)
    run = lambda *a: subprocess.run([sys.executable, "-m", "lakepkg.cli", "build", "b/x", *a], capture_output=True,
                                    text=True, env=env, timeout=300)
    p = run("--table", f"t={data}")
    assert p.returncode == 0 and " published  top hash " in p.stdout, p.stderr
    import json

    j = json.loads(run("--table", f"t={data}", "--json").stdout)
    assert j["created"] is False and j["ref"] == f"b/x@{j['top_hash'][:10]}" and j["tables"]["t"]["rows"] == 1
    twice = run("--table", f"t={data}", "--table", f"t={data}")
    assert twice.returncode != 0 and "given twice" in twice.stderr
