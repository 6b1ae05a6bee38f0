"""One reader (issue 18, item 1): every byte of a fragment that becomes Arrow goes through
``lakepkg/read/arrow_scan.py``, and every path that reads fragments hashes a file before its first use.

The grep test fails when a module of lakepkg/ outside the reader opens fragment files itself. The
corruption test damages one fragment behind lakepkg's back (replaced by another valid fragment's
bytes: the damage that would otherwise return other rows) and reads it through every path that is
not a table read (those are in test_trust_verified_reads.py): the row diff, where-used, a single
Fragment, restore's copy, install --dest of live rows, the delta base read, Spark (native view and
the data source). Each raises one IntegrityError line naming the object; none returns rows.
"""
from __future__ import annotations

import os
import re
import shutil

import pandas as pd
import pyarrow.fs as pafs
import pytest

import lakepkg
from lakepkg.errors import IntegrityError
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder

LAKEPKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lakepkg")
READER = "read/arrow_scan.py"
# modules that may open Parquet files themselves, and why (none of them turns a fragment into Arrow)
ALLOWED = {
    READER: "the one reader",
    "store/base.py": "the store: local_path is its primitive; verified_path hashes what it hands out",
    "store/local.py": "the store: local_path of a local folder",
    "store/s3.py": "the store: local_path of the download cache",
    "write/fragments.py": "the writer's own check of a file it wrote or is about to store (describe_parquet)",
    "source/folder.py": "reads a source's files (not fragments) to describe them",
}
PATTERNS = re.compile(r"(?<!def )\blocal_path\(|pq\.read_table|pq\.ParquetFile|pq\.read_schema|pq\.read_metadata"
                      r"|\bds\.dataset\(|pads\.dataset\(")


def test_only_the_reader_opens_fragments():
    found = []
    for folder, dirs, files in os.walk(LAKEPKG):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for f in files:
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, f), LAKEPKG).replace(os.sep, "/")
            if rel in ALLOWED:
                continue
            with open(os.path.join(folder, f), encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    code = line.split("#", 1)[0]
                    if PATTERNS.search(code) and not code.lstrip().startswith(('"', "'")):
                        found.append(f"lakepkg/{rel}:{n}: {line.strip()}")
    assert not found, ("fragments are read only through lakepkg/read/arrow_scan.py (ArrowScan); found:\n"
                       + "\n".join(found))
    with open(os.path.join(LAKEPKG, READER), encoding="utf-8") as fh:
        assert "pq.read_table" in fh.read()  # the pattern the test looks for is where it should be


def _publish(reg, name, lo):
    b = PackageBuilder(reg)
    b.add_table("t", pd.DataFrame({"id": range(lo, lo + 200), "ds": ["a", "b"] * 100}), partition_cols=["ds"],
                rows_per_fragment=50)
    return b.publish(name)


@pytest.fixture()
def damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEPKG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    reg = open_registry(str(tmp_path / "reg"))
    _publish(reg, "v/other", 10_000)
    _publish(reg, "v/good", 0)
    frags = lakepkg.load("v/good", reg)["t"].fragments()
    target = frags[0].object
    other = lakepkg.load("v/other", reg)["t"].fragments()[0].object
    p = os.path.join(reg.store.objects_dir, target[:2], target)
    os.chmod(p, 0o644)
    os.unlink(p)
    shutil.copyfile(os.path.join(reg.store.objects_dir, other[:2], other), p)
    return reg, target


def _refused(fn, digest):
    with pytest.raises(IntegrityError) as ei:
        fn()
    msg = str(ei.value)
    assert digest[:12] in msg and "lakepkg verify" in msg and "\n" not in msg, msg


def _row_diff(reg):
    return lakepkg.load("v/other", reg).diff(lakepkg.load("v/good", reg), rows=True)


def _where_used(reg):
    from lakepkg.governance.where_used import where_used

    return where_used(table="t", where="id = 3", registry=reg)


def _fragment(reg):
    t = lakepkg.load("v/good", reg)["t"]
    return [f.to_arrow(["id"]) for f in t.fragments()]


def _restore_copy(reg, tmp_path):
    from lakepkg.metastore.restore import _write_fragment

    t = lakepkg.load("v/good", reg)["t"]
    for i, d in enumerate(t.iter_entries()):
        _write_fragment(reg.store, d, pafs.LocalFileSystem(), str(tmp_path / f"r{i}.parquet"), False)


def _install_dest(reg, tmp_path):
    return lakepkg.install("v/good", registry=reg, dest=str(tmp_path / "dest"))


def _delta_base(reg):
    from lakepkg.write.deletion_vectors import read_live

    t = lakepkg.load("v/good", reg)["t"]
    return [read_live(reg.store, d, "t") for d in t.iter_entries()]


def test_every_path_hashes_a_fragment_before_its_first_use(damaged, tmp_path):
    reg, digest = damaged
    _refused(lambda: _row_diff(reg), digest)
    _refused(lambda: _where_used(reg), digest)
    _refused(lambda: _fragment(reg), digest)
    _refused(lambda: _restore_copy(reg, tmp_path), digest)
    _refused(lambda: _install_dest(reg, tmp_path), digest)
    _refused(lambda: _delta_base(reg), digest)


def test_spark_reads_hash_fragments_before_the_jvm_reads_them(damaged, spark):
    reg, digest = damaged
    t = lakepkg.load("v/good", reg)["t"]
    _refused(lambda: t.to_spark(spark, native=True).collect(), digest)  # the native view over links
    with pytest.raises(Exception) as ei:  # the data source: the executor's error, through Spark
        t.to_spark(spark, native=False).collect()
    assert digest[:12] in str(ei.value) and "lakepkg verify" in str(ei.value)
