"""``lakepkg clone``: a new package whose first version is the source (or a filtered part of it),
sharing its objects, recording ``derived_from`` (issue 21 item 1)."""
from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import ConfigError


def _objects(reg) -> set[str]:
    out = set()
    for root, _dirs, files in os.walk(reg.store.location.removeprefix("file://")):
        out.update(files)
    return out


@pytest.fixture()
def src(registry):
    orders = pd.DataFrame({"id": range(1, 9), "ds": ["a"] * 4 + ["b"] * 4, "amount": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    items = pd.DataFrame({"sku": ["x", "y"]})
    return lakepkg.build("shop/orders", tables={"orders": orders, "items": items},
                         files={"README.md": b"# orders\n"}, partition_cols={"orders": ["ds"]}, registry=registry)


def test_clone_whole_shares_objects_and_records_derived_from(registry, src):
    before = _objects(registry)
    res = lakepkg.clone(src.ref, "team/orders", registry=registry)
    assert res.created and res.record.derived_from == f"shop/orders@{src.top_hash}"
    pkg = lakepkg.load("team/orders", registry)
    assert pkg.tables == ["items", "orders"] and pkg.readme == "# orders\n"
    old = lakepkg.load(src.ref, registry)
    for t in pkg.tables:
        assert pkg.table(t).hash == old.table(t).hash  # the same table nodes: nothing copied
    new = _objects(registry) - before
    assert len(new) <= 2  # only the root node (and nothing else of size) is new
    assert pkg.table("orders").to_pandas().sort_values("id")["amount"].tolist() == [1.0, 2, 3, 4, 5, 6, 7, 8]


def test_clone_where_keeps_matching_rows_through_vectors(registry, src):
    res = lakepkg.clone(src.ref, "team/big", registry=registry, tables=["orders"], where="amount > 2.5 AND amount < 7")
    pkg = lakepkg.load(res.ref, registry)
    assert pkg.tables == ["orders"]
    got = pkg.table("orders").to_pandas().sort_values("id")
    assert got["id"].tolist() == [3, 4, 5, 6]
    src_objects = {f.object for f in lakepkg.load(src.ref, registry).table("orders").fragments()}
    assert {f.object for f in pkg.table("orders").fragments()} <= src_objects  # fragments kept, bytes shared
    assert res.tables["orders"]["fragments_with_vector"] == 2


def test_clone_partition_keeps_fragments(registry, src):
    res = lakepkg.clone(src.ref, "team/b", registry=registry, tables="orders", partitions="ds = 'b'")
    assert lakepkg.load(res.ref, registry).table("orders").to_pandas()["id"].sort_values().tolist() == [5, 6, 7, 8]


def test_clone_cli_json_and_bad_input(registry, src, capsys):
    loc = registry.location
    assert run(["clone", src.ref, "team/cli", "-t", "items", "--json", "-r", loc]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["derived_from"] == f"shop/orders@{src.top_hash}" and doc["created"]
    assert lakepkg.load("team/cli", registry).tables == ["items"]
    for args, text in ((["-t", "nope"], "matches no table"), (["--partition", "amount > 1"], "not a partition column"),
                       (["--where", "colour = 1", "-t", "orders"], "not a column")):
        assert run(["clone", src.ref, "team/bad", *args, "-r", loc]) == 1
        err = capsys.readouterr().err
        assert text in err and err.count("\n") == 1, err
    assert "team/bad" not in registry.list_packages()
    with pytest.raises(ConfigError):
        lakepkg.clone(src.ref, "team/bad", registry=registry, where="")
