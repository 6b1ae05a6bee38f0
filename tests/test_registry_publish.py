"""Registry.publish confirms every object a version names, including through the fast object walk."""
from __future__ import annotations

import pyarrow as pa
import pytest

from lakepkg.errors import MissingObjectError
from lakepkg.format.manifest import Entry, EntrySorter, RootNodeData, build_table_node, store_node
from lakepkg.format.walk import page_objects, walk


def _version(reg, entries):
    s = EntrySorter("t")
    for e in entries:
        s.add(e)
    h, node = build_table_node(reg.store, "t", pa.schema([("object", pa.string())]), s, ["object"])
    return store_node(reg.store, RootNodeData(tables={"t": h}, files=[])), node


def test_the_fast_object_walk_equals_the_full_one_even_when_values_look_like_objects(any_registry):
    reg = any_registry
    real = [reg.store.put_bytes(f"obj {i}".encode()) for i in range(5)]
    decoy = "f" * 64  # a partition value shaped like an object field: "object":"fff…"
    entries = [Entry(key=f"object={decoy if i == 2 else i}/p{i}.parquet", object=real[i], size=5, rows=1,
                     partition={"object": decoy if i == 2 else str(i)}) for i in range(5)]
    top, node = _version(reg, entries)
    assert page_objects(reg.store, node.pages[0]) == [d["object"] for d in
                                                     (i.entry for i in walk(reg.store, top) if i.kind == "entry")]
    assert sorted(page_objects(reg.store, node.pages[0])) == sorted(real)
    rec, created = reg.publish("g/decoy", top)
    assert created and reg.resolve("g/decoy").top_hash == top


def test_publish_refuses_a_missing_source_listing(any_registry):
    reg = any_registry
    obj = reg.store.put_bytes(b"data")
    top, _ = _version(reg, [Entry(key="object=a/x.parquet", object=obj, size=4, rows=1, partition={"object": "a"})])
    with pytest.raises(MissingObjectError, match="0" * 12):
        reg.publish("g/listing", top, sources={"t": {"listing": "0" * 64}})
    assert reg.history("g/listing") == []
