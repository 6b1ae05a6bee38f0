"""Spark reads consume the one read plan: a reference is resolved exactly once per DataFrame (a tag
moved between making the DataFrame and ``collect()`` changes nothing), the data source takes the
pinned plan as JSON, and a filtered plan reads the same rows natively and through the data source."""
from __future__ import annotations

import pyarrow as pa
import pytest

import lakepkg
import lakepkg.spark
from lakepkg.registry import Registry, open_registry
from lakepkg.write.build import PackageBuilder


@pytest.fixture()
def tagged(tmp_path):
    """shop/tagged with two versions: ``prod`` points at v1 (ids 0..4), ``latest`` at v2 (ids 0..9)."""
    loc = str(tmp_path / "reg")
    reg = open_registry(loc)
    recs = []
    for n in (5, 10):
        b = PackageBuilder(reg)
        b.add_table("orders", pa.table({"id": pa.array(range(n), pa.int64()),
                                        "ds": [f"d{i % 2}" for i in range(n)]}), partition_cols=["ds"])
        recs.append(b.publish("shop/tagged"))
    reg.set_tag("shop/tagged", "prod", recs[0].top_hash)
    return loc, reg, recs


@pytest.fixture()
def resolves(monkeypatch):
    """Counts Registry.resolve calls in this (the driver's) process."""
    calls: list[str] = []
    real = Registry.resolve

    def counting(self, ref):
        calls.append(str(ref))
        return real(self, ref)

    monkeypatch.setattr(Registry, "resolve", counting)
    return calls


def _ids(df) -> list[int]:
    return sorted(r.id for r in df.collect())


def test_spark_read_resolves_the_reference_once(spark, tagged, resolves):
    loc, reg, recs = tagged
    df = lakepkg.spark.read(spark, "shop/tagged:prod/orders", registry=loc)
    assert len(resolves) == 1
    reg.set_tag("shop/tagged", "prod", recs[1].top_hash)  # the tag moves after the DataFrame is made
    del resolves[:]
    assert _ids(df) == list(range(5)) and df.filter("ds = 'd1'").count() == 2
    assert resolves == []  # collect() and a filtered count planned from the pinned plan only
    assert _ids(lakepkg.spark.read(spark, "shop/tagged:prod/orders", registry=loc)) == list(range(10))


def test_a_loaded_table_reaches_spark_with_no_resolve(spark, tagged, resolves):
    loc, reg, recs = tagged
    t = lakepkg.load("shop/tagged:prod/orders", loc)
    del resolves[:]
    native, source = t.to_spark(spark, native=True), t.to_spark(spark, native=False)
    assert _ids(native) == _ids(source) == list(range(5))
    assert resolves == []


def test_format_pkg_resolves_once_per_dataframe(spark, tagged):
    """Spark makes the data source once per DataFrame and pickles it into every later planning step,
    so the plan made in its __init__ serves every action. Without a user schema that happens at
    load(); with one, Spark asks for nothing until the first action, which then pins the version."""
    loc, reg, recs = tagged
    reg.set_tag("shop/tagged", "prod", recs[0].top_hash)
    plain = spark.read.format("pkg").option("registry", loc).load("shop/tagged:prod/orders")
    typed = spark.read.format("pkg").option("registry", loc).schema("id long").load("shop/tagged:prod/orders")
    assert typed.count() == 5
    reg.set_tag("shop/tagged", "prod", recs[1].top_hash)
    assert _ids(plain) == list(range(5)) and plain.filter("ds = 'd0'").count() == 3
    assert _ids(typed) == list(range(5)) and typed.filter("id > 1").count() == 3
    again = spark.read.format("pkg").option("registry", loc).load("shop/tagged:prod/orders")
    assert _ids(again) == list(range(10))  # a new DataFrame sees where the tag is now


def test_a_filtered_plan_reads_the_same_rows_natively_and_through_the_data_source(spark, tagged):
    loc, reg, recs = tagged
    t = lakepkg.load(f"shop/tagged@{recs[1].top_hash}/orders", loc)
    plan = t.scan([[("ds", "==", "d0"), ("id", ">=", 4)], [("id", "in", [1, 3])]], ["id", "ds"])
    want = sorted(plan.to_arrow()["id"].to_pylist())
    assert want == [1, 3, 4, 6, 8]
    for native in (True, False):
        df = plan.to_spark(spark, native=native)
        assert df.columns == ["id", "ds"] and _ids(df) == want
    assert _ids(lakepkg.spark.to_spark(spark, plan)) == want
    # a shipped plan is what the data source reads: the option, with no reference at all
    df = spark.read.format("pkg").option("plan", plan.to_json_text(tasks=False)).schema("id long, ds string").load()
    assert _ids(df) == want
