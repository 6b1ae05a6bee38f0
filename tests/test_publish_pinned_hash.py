"""The package format cannot drift: a fixed small package keeps the top hash computed before the
single-publish refactoring (DESIGN invariants 3 and 5; docs/format.md)."""
from __future__ import annotations

import pandas as pd

from lakepkg.write.build import PackageBuilder

FRAME = {"id": [1, 2, 3], "name": ["a", "b", "c"], "amount": [1.5, 2.25, -3.0]}
README = b"# pinned\nfixed content\n"
# computed on the tree before lakepkg/write/publish.py existed (commit 617d721)
PINNED = "724547d50b6bc69ccc623ebb021d27ab5e398254fbd3c5fe3ea5d1105ece86f4"
PINNED_PARTITIONED = "27009d116e7d89553c03871d0fe6caa7a7699de5f512a998b550e9b8a8270467"


def _builder(registry, partition_cols=None):
    b = PackageBuilder(registry)
    b.add_table("orders", pd.DataFrame(FRAME), partition_cols=partition_cols)
    b.add_file("README.md", README)
    return b


def test_top_hash_of_a_fixed_package_is_pinned(registry):
    assert _builder(registry).build().top_hash == PINNED
    assert _builder(registry, ["name"]).build().top_hash == PINNED_PARTITIONED


def test_publish_keeps_the_pinned_top_hash(registry):
    res = _builder(registry).publish("pin/fixed", message="pinned")
    assert res.top_hash == PINNED and res.created
    assert registry.resolve("pin/fixed").top_hash == PINNED
    # the same content again: the same top hash, nothing new minted
    again = _builder(registry).publish("pin/fixed")
    assert again.top_hash == PINNED and not again.created
    assert len(registry.history("pin/fixed")) == 1
