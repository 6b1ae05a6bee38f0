"""Incremental re-snapshot at the scale of the issue: 1,000 partitions, one changed, reads one file.

Unchanged source files are overwritten with zeros of the same size and their modification time
put back: their listing (path, size, mtime) is unchanged, so a re-snapshot that reused them never
noticed, while one that read any of them would fail (they are no longer Parquet) or store other bytes.
"""
from __future__ import annotations

import os
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import SourceError
from lakepkg_connectors.hive import snapshot_hive
from tests.fixtures.metastore import hms_register_table

N = 1000


def _write(root: str, i: int, rows: int = 2) -> str:
    d = os.path.join(root, f"p={i:04d}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "part-0.parquet")
    pq.write_table(pa.table({"id": pa.array(range(i * 10, i * 10 + rows), pa.int64())}), path)
    return path


def _scramble_keeping_listing(path: str) -> None:
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.write(b"\0" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_resnapshot_of_1000_partitions_with_one_changed_reads_one_file(metastore, tmp_path, registry):
    db = "i" + uuid.uuid4().hex[:10]
    root = str(tmp_path / "big")
    paths = [_write(root, i) for i in range(N)]
    hms_register_table(metastore, db, "big", [("id", "bigint")], "file:" + root, [("p", "string")],
                       partitions=[([f"{i:04d}"], "file:" + os.path.dirname(p)) for i, p in enumerate(paths)])
    first = snapshot_hive([f"{db}.big"], metastore=metastore, to="big/t", registry=registry)
    assert first.tables["big"]["files_read"] == N
    changed = 517
    for i, p in enumerate(paths):
        if i != changed:
            _scramble_keeping_listing(p)
    _write(root, changed, rows=5)
    second = snapshot_hive([f"{db}.big"], metastore=metastore, to="big/t", registry=registry)
    s = second.tables["big"]
    assert second.created and s["files_read"] == 1 and s["files_reused"] == N - 1
    assert s["bytes_read"] == os.path.getsize(paths[changed])
    t = lakepkg.load("big/t", registry)["big"]
    assert len(t.to_pandas()) == 2 * (N - 1) + 5   # reused entries point at the stored, verified objects
    from lakepkg.read.package import diff_refs

    (td,) = diff_refs(f"big/t@{first.record.top_hash}", f"big/t@{second.record.top_hash}", registry).tables
    assert td.partitions_changed == [f"p={changed:04d}"] and not td.partitions_added and not td.partitions_removed
    # the scrambled files really are unreadable: a full re-read fails, and publishes nothing
    with pytest.raises(SourceError):
        snapshot_hive([f"{db}.big"], metastore=metastore, to="big/t", registry=registry, incremental=False)
    assert sorted(r.top_hash for r in registry.history("big/t")) == sorted([first.record.top_hash,
                                                                              second.record.top_hash])


def test_unchanged_orc_table_resnapshots_to_the_same_top_hash(metastore, tmp_path, registry):
    """Converted (ORC) files reused from the previous version keep the table's writer settings:
    the same source state gives the same top hash and no new version (invariant 5)."""
    import pyarrow.orc as po

    db = "o" + uuid.uuid4().hex[:10]
    d = tmp_path / "orc"
    d.mkdir()
    po.write_table(pa.table({"id": pa.array([1, 2], pa.int64())}), str(d / "a.orc"))
    hms_register_table(metastore, db, "t", [("id", "bigint")], "file:" + str(d), fmt="orc")
    first = snapshot_hive([f"{db}.t"], metastore=metastore, to="x/orc", registry=registry)
    second = snapshot_hive([f"{db}.t"], metastore=metastore, to="x/orc", registry=registry)
    assert second.tables["t"]["files_reused"] == 1
    assert second.record.top_hash == first.record.top_hash and not second.created
    assert lakepkg.load("x/orc", registry)["t"].node.writer is not None
