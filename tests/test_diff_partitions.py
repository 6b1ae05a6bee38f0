"""A diff compares changed pages' lines as bytes; partition labels still come out right when a
partition keeps entries that are equal on both sides (lines in changed pages, or shared pages)."""
from __future__ import annotations

import pyarrow as pa

import lakepkg
from lakepkg.format.manifest import Entry, EntrySorter, RootNodeData, build_table_node, store_node
from lakepkg.read.diff import diff_packages


def _publish(reg, name, files):
    s = EntrySorter("t")
    for key, obj in files.items():
        p = key.split("/")[0].split("=")[1]
        s.add(Entry(key=key, object=obj, size=1, rows=1, partition={"p": p}, stats={"v": {"min": 0.5, "max": 2.5, "nulls": 0}}))
    h, _ = build_table_node(reg.store, "t", pa.schema([("p", pa.string()), ("v", pa.float64())]), s, ["p"])
    top = store_node(reg.store, RootNodeData(tables={"t": h}, files=[]))
    reg.publish(name, top)
    return lakepkg.load(f"{name}@{top}", registry=reg)


def test_partition_labels_of_added_removed_and_changed_entries(registry):
    o = [registry.store.put_bytes(f"o{i}".encode()) for i in range(6)]
    base = {"p=1/a.parquet": o[0], "p=1/b.parquet": o[1], "p=2/c.parquet": o[2], "p=3/d.parquet": o[3]}
    v1 = _publish(registry, "g/parts", base)
    # p=1 loses a (b stays, an equal line of the same changed page); p=2's c changes; p=3 goes; p=4 comes
    v2 = _publish(registry, "g/parts", {"p=1/b.parquet": o[1], "p=2/c.parquet": o[4], "p=4/e.parquet": o[5]})
    td = diff_packages(v1, v2).tables[0]
    assert (td.fragments_removed, td.fragments_changed, td.fragments_added) == (
        ["p=1/a.parquet", "p=3/d.parquet"], ["p=2/c.parquet"], ["p=4/e.parquet"])
    assert td.partitions_changed == ["p=1", "p=2"]
    assert td.partitions_removed == ["p=3"] and td.partitions_added == ["p=4"]
    back = diff_packages(v2, v1).tables[0]
    assert back.partitions_changed == ["p=1", "p=2"]
    assert back.partitions_added == ["p=3"] and back.partitions_removed == ["p=4"]
