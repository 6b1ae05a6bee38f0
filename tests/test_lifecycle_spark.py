"""A redaction also removes Spark's local views of the redacted table nodes (their folder names are
partition values), and Spark then reads the successor without the rows."""
from __future__ import annotations

import warnings

import pandas as pd

import lakepkg
from lakepkg.governance import redact
from tests.lifecycle_helpers import files_holding, new_marker


def test_redaction_removes_spark_views(spark, registry, home):
    marker = new_marker()
    df = pd.DataFrame({"id": range(12), "customer": [marker if i % 4 == 0 else f"c{i % 3}" for i in range(12)]})
    b = lakepkg.PackageBuilder(registry)
    b.add_table("orders", df, partition_cols=["customer"])
    old = b.publish("shop/orders")
    t = lakepkg.load(f"shop/orders@{old.top_hash}", registry)["orders"]
    assert t.to_spark(spark, native=True).filter(f"customer = '{marker}'").count() == 3
    assert files_holding([str(home)], marker)  # the view folder customer=<marker> and the fragment
    rep = redact("orders", f"customer = '{marker}'", reason="erasure", all_packages=True, registry=registry)
    assert rep.rows_removed == 3 and rep.versions[0]["fragments_dropped"] == 1
    assert files_holding([str(home)], marker) == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t2 = lakepkg.load(f"shop/orders@{old.top_hash}", registry)["orders"]
    sdf = t2.to_spark(spark, native=True)
    assert sdf.count() == 9 and sdf.filter(f"customer = '{marker}'").count() == 0
