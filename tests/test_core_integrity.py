"""Bad input and damage: tampered manifests, missing/corrupt objects, schema drift, verify, gc, diff."""
from __future__ import annotations

import json
import os
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.write.build import PackageBuilder
from lakepkg.read.diff import diff_packages
from lakepkg.errors import IntegrityError, MissingObjectError, SchemaMismatchError, SourceError
from lakepkg.maintain.gc import collect_garbage
from lakepkg.maintain.verify import verify_registry


def _obj_path(registry, d):
    return os.path.join(registry.store.objects_dir, d[:2], d)


def _overwrite(path, data):
    os.chmod(path, 0o644)
    with open(path, "wb") as f:
        f.write(data)


def _pkg(registry, name="t/i", n=300):
    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame({"id": range(n), "ds": [f"d{i % 3}" for i in range(n)]}), partition_cols=["ds"])
    return b.publish(name)


def test_tampered_root_is_refused(registry):
    rec = _pkg(registry)
    p = _obj_path(registry, rec.top_hash)
    data = open(p, "rb").read()
    _overwrite(p, data.replace(b'"orders"', b'"ORDERS"'))
    with pytest.raises(IntegrityError, match="corrupt"):
        lakepkg.load("t/i", registry)


def test_truncated_page_is_refused(registry):
    rec = _pkg(registry)
    t = lakepkg.load("t/i", registry)["orders"]
    page = t.node.pages[0].hash
    p = _obj_path(registry, page)
    _overwrite(p, open(p, "rb").read()[:-20])
    with pytest.raises(IntegrityError):
        list(t.iter_entries())
    rep = verify_registry(registry)
    assert not rep.ok and any("corrupt" in e or page[:12] in e for e in rep.errors)


def test_missing_and_corrupt_fragments_named_by_verify(registry):
    rec = _pkg(registry)
    frags = lakepkg.load("t/i", registry)["orders"].fragments()
    os.chmod(_obj_path(registry, frags[0].object), 0o644)
    os.unlink(_obj_path(registry, frags[0].object))
    _overwrite(_obj_path(registry, frags[1].object), b"garbage")
    rep = verify_registry(registry)
    assert frags[0].object in rep.missing and frags[1].object in rep.corrupt
    assert rep.missing[frags[0].object] == [f"t/i@{rec.top_hash[:10]}"]
    with pytest.raises(MissingObjectError, match="lakepkg verify"):
        frags[0].to_pandas()
    with pytest.raises(IntegrityError, match="corrupt"):
        frags[1].to_pandas(verify=True)


def test_schema_drift_between_fragments_publishes_nothing(registry, tmp_path):
    (tmp_path / "a").mkdir()
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "a" / "1.parquet")
    pq.write_table(pa.table({"x": ["a", "b"]}), tmp_path / "a" / "2.parquet")
    b = PackageBuilder(registry)
    with pytest.raises(SchemaMismatchError, match="x: int64 vs string|x: string vs int64"):
        b.add_path("t", str(tmp_path / "a"))
    assert registry.list_packages() == []


def test_missing_source_path(registry, tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        PackageBuilder(registry).add_path("t", str(tmp_path / "nope"))


def test_diff_tables_partitions_fragments(registry):
    base = pd.DataFrame({"id": range(900), "ds": [f"2026-11-0{i % 3 + 1}" for i in range(900)]})
    b = PackageBuilder(registry)
    b.add_table("orders", base, partition_cols=["ds"])
    b.add_table("same", pd.DataFrame({"k": [1, 2]}))
    b.add_file("README.md", b"v1")
    r1 = b.publish("t/d")
    changed = pd.concat([base[base.ds != "2026-11-01"],
                         pd.DataFrame({"id": [5000, 5001], "ds": ["2026-11-09"] * 2}),
                         ]).reset_index(drop=True)
    changed.loc[changed.ds == "2026-11-02", "id"] += 1
    b = PackageBuilder(registry)
    b.add_table("orders", changed, partition_cols=["ds"])
    b.add_table("same", pd.DataFrame({"k": [1, 2]}))
    b.add_table("extra", pd.DataFrame({"k": [1]}))
    b.add_file("README.md", b"v2")
    r2 = b.publish("t/d")
    d = diff_packages(lakepkg.load(f"t/d@{r1.top_hash}", registry), lakepkg.load(f"t/d@{r2.top_hash}", registry))
    by = {t.name: t for t in d.tables}
    assert set(by) == {"orders", "extra"}  # "same" skipped by hash
    assert by["extra"].status == "added"
    o = by["orders"]
    assert o.partitions_added == ["ds=2026-11-09"]
    assert o.partitions_removed == ["ds=2026-11-01"]
    assert o.partitions_changed == ["ds=2026-11-02"]
    assert o.fragments_changed == ["ds=2026-11-02/part-00000.parquet"]
    assert d.files_changed == ["README.md"]
    assert diff_packages(lakepkg.load(f"t/d@{r1.top_hash}", registry), lakepkg.load(f"t/d@{r1.top_hash}", registry)).empty


def test_gc_keeps_referenced_and_young_objects(registry):
    rec = _pkg(registry)
    orphan = registry.store.put_bytes(b"orphan from an interrupted publish")
    rep = collect_garbage(registry, grace_seconds=3600)
    assert rep.removed == 0 and rep.kept_young == 1 and registry.store.has(orphan)
    old = time.time() - 7200
    os.utime(_obj_path(registry, orphan), (old, old))
    rep = collect_garbage(registry, grace_seconds=3600)
    assert rep.removed == 1 and not registry.store.has(orphan)
    assert verify_registry(registry).ok
    assert lakepkg.load("t/i", registry)["orders"].to_pandas().shape[0] == 300


def test_store_rejects_bad_digest_and_wrong_bytes(registry):
    from lakepkg.errors import InvalidRefError

    with pytest.raises(InvalidRefError):
        registry.store.open("../../etc/passwd")
    with pytest.raises(IntegrityError):
        registry.store.put_bytes(b"abc", digest="0" * 64)


def test_altered_version_record_is_refused_not_followed(registry):
    """A record whose content names another tree than its key must not make name@<hash> load that tree."""
    r1 = _pkg(registry, "t/rec", 30)
    r2 = _pkg(registry, "t/rec", 60)
    path = os.path.join(registry.meta.root, *r1.record.key.split("/"))
    doc = json.loads(open(path, "rb").read())
    doc["top_hash"] = r2.top_hash
    open(path, "w").write(json.dumps(doc))
    with pytest.raises(IntegrityError, match="altered") as e:
        lakepkg.load(f"t/rec@{r1.top_hash[:8]}", registry)
    assert "\n" not in str(e.value)
    assert lakepkg.load("t/rec", registry)["orders"].rows == 60      # the intact version still reads
    rep = verify_registry(registry)                                     # verify names it and checks the rest
    assert not rep.ok and any(r1.top_hash[:10] in e and "altered" in e for e in rep.errors)
    assert rep.versions == 1 and not rep.missing and not rep.corrupt


def test_gc_spares_an_old_orphan_that_a_new_build_reuses(registry):
    """Dedup onto an old unreferenced object (an earlier interrupted publish) must not let gc delete it
    between the build and the publish."""
    df = pd.DataFrame({"id": range(50)})
    b = PackageBuilder(registry)
    b.add_table("t", df)
    built = b.build()                                   # interrupted: objects stored, nothing published
    old = time.time() - 7200
    for info in list(registry.store.iter_objects()):
        os.utime(_obj_path(registry, info.digest), (old, old))
    b = PackageBuilder(registry)                        # a new run dedups onto those objects...
    b.add_table("t", df)
    again = b.build()
    assert again.top_hash == built.top_hash
    rep = collect_garbage(registry, grace_seconds=3600)  # ...gc runs before it publishes
    assert rep.removed == 0
    registry.publish("t/reuse", again.top_hash)
    assert verify_registry(registry).ok
    assert lakepkg.load("t/reuse", registry)["t"].rows == 50
