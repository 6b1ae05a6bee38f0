"""The one read plan (lakepkg.read.scan): ``Table.scan`` pins a version and prunes once; pandas,
Arrow, dataset, batches, leaves and head all read the plan; a plan ships as JSON or a pickle and
re-plans only from its pinned table node, never from a reference."""
from __future__ import annotations

import datetime as dt
import decimal
import os
import pickle

import pyarrow as pa
import pytest

import lakepkg
from lakepkg.errors import ConfigError, IntegrityError
from lakepkg.read.package import File, Fragment, Package, Table, load
from lakepkg.read.scan import FragmentTask, ScanPlan
from lakepkg.registry import Registry
from lakepkg.write.build import PackageBuilder


def _table(n: int = 90) -> pa.Table:
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "amount": pa.array([decimal.Decimal(i) / 4 for i in range(n)], pa.decimal128(10, 2)),
        "ts": pa.array([dt.datetime(2026, 1, 1) + dt.timedelta(hours=i) for i in range(n)], pa.timestamp("us")),
        "ds": pa.array([f"2026-11-0{i // 30 + 1}" for i in range(n)]),
    })


@pytest.fixture()
def orders(registry):
    """shop/orders: 3 partitions (ds) x 3 fragments of 10 rows, ids ascending across fragments."""
    b = PackageBuilder(registry)
    b.add_table("orders", _table(), partition_cols=["ds"], rows_per_fragment=10)
    b.add_file("README.md", b"# orders\n")
    rec = b.publish("shop/orders")
    return lakepkg.load(f"shop/orders@{rec.top_hash}", registry)["orders"]


def _no_resolve(monkeypatch):
    def refuse(self, ref):
        raise AssertionError(f"a reference was resolved during a read: {ref}")

    monkeypatch.setattr(Registry, "resolve", refuse)


def test_scan_pins_the_version_and_prunes_by_partition_and_min_max(orders):
    t = orders
    plan = t.scan([("ds", "==", "2026-11-02")], ["id", "ds"])
    assert (plan.top_hash, plan.table, plan.table_hash) == (t.package.top_hash, "orders", t.hash)
    assert plan.registry_location == t.package.registry.location
    assert plan.schema.equals(t.schema) and plan.partition_columns == ["ds"]
    assert len(plan.tasks) == 3 and {task.partition["ds"] for task in plan.tasks} == {"2026-11-02"}
    assert all(isinstance(task, FragmentTask) and task.rows == 10 and task.deletes is None for task in plan.tasks)
    # min/max statistics: ids 85..89 live in the last fragment only
    last = t.scan([("id", ">=", 85)])
    assert [task.key for task in last.tasks] == [t.fragments()[-1].key]
    assert t.scan([("id", ">", 1000)]).tasks == []
    # OR of ANDs: one fragment from day 1 (ids < 5), one from day 3 (ids >= 85)
    either = t.scan([[("id", "<", 5)], [("id", ">=", 85)]])
    assert len(either.tasks) == 2 and sorted(either.to_arrow()["id"].to_pylist()) == [0, 1, 2, 3, 4, 85, 86, 87, 88, 89]


def test_every_reader_returns_the_planned_rows(orders):
    t = orders
    flt = [("ds", "in", ["2026-11-01", "2026-11-03"]), ("id", ">=", 25)]
    plan = t.scan(flt, ["ds", "id", "amount"])
    want = sorted(i for i in range(90) if i >= 25 and i // 30 != 1)
    got = plan.to_arrow()
    assert got.column_names == ["ds", "id", "amount"] and sorted(got["id"].to_pylist()) == want
    assert sorted(plan.to_pandas()["id"]) == want
    batches = list(plan.to_batches(batch_size=4))
    assert all(b.schema.names == ["ds", "id", "amount"] and b.num_rows <= 4 for b in batches)
    assert sorted(pa.Table.from_batches(batches)["id"].to_pylist()) == want
    dataset = plan.to_arrow_dataset()
    assert len(dataset.files) == len(plan.tasks) == len(plan.local_paths()) == 4
    assert dataset.to_table(filter=plan.expression).num_rows == len(want)
    # the Table methods are the plan's readers
    assert t.to_arrow(flt, ["ds", "id", "amount"]).equals(got)
    assert sorted(t.to_pandas(flt)["id"]) == want
    assert len(t.to_arrow_dataset(flt).files) == 4
    assert t.head(15).num_rows == 15 and t.head(15)["id"].to_pylist() == list(range(15))
    assert plan.head(3)["id"].to_pylist() == [25, 26, 27]


def test_a_leaf_reads_through_the_plan_with_its_partition_column(orders):
    leaf = orders.fragments([("ds", "==", "2026-11-03")])[0]
    assert isinstance(leaf, Fragment) and leaf.task.key == leaf.key
    full = leaf.to_arrow()
    assert full.column_names == ["id", "amount", "ts", "ds"] and set(full["ds"].to_pylist()) == {"2026-11-03"}
    sub = leaf.to_arrow(columns=["ds", "id"])
    assert sub.column_names == ["ds", "id"] and sub["id"].to_pylist() == list(range(60, 70))
    assert len(leaf.to_pandas()) == 10


def test_a_plan_ships_as_json_and_reads_the_same_rows_without_resolving(orders, monkeypatch):
    flt = [("ts", ">=", dt.datetime(2026, 1, 2, 12)), ("amount", "<", decimal.Decimal("20.5")),
           ("ds", "!=", "2026-11-03")]
    plan = orders.scan(flt, ["id", "ts"])
    expected = plan.to_arrow()
    assert sorted(expected["id"].to_pylist()) == list(range(36, 60))
    _no_resolve(monkeypatch)
    for text in (plan.to_json_text(), plan.to_json_text(tasks=False)):
        shipped = ScanPlan.from_json(text)
        assert shipped.filters == plan.filters and shipped.columns == ["id", "ts"]
        assert [x.key for x in shipped.tasks] == [x.key for x in plan.tasks]
        assert shipped.to_arrow().equals(expected)
    assert "stats" not in plan.to_json()["tasks"][0]  # tasks carry what a read needs, not planning data
    with pytest.raises(ConfigError, match="not JSON"):
        ScanPlan.from_json("{nope")
    with pytest.raises(ConfigError, match="scan plan format"):
        ScanPlan.from_json({"format": "other/9"})


def test_refine_re_plans_the_pinned_node_and_pickles_keep_a_chosen_subset(orders, monkeypatch):
    plan = orders.scan([("ds", ">=", "2026-11-02")])
    _no_resolve(monkeypatch)
    refined = plan.refine([("id", "<", 45)])
    assert len(plan.tasks) == 6 and len(refined.tasks) == 2
    assert sorted(refined.to_arrow()["id"].to_pylist()) == list(range(30, 45))
    assert refined.table_hash == plan.table_hash and refined.top_hash == plan.top_hash
    back = pickle.loads(pickle.dumps(refined))
    assert back._store is None or back._store is not refined._store  # the store reopens in the receiver
    assert sorted(back.to_arrow()["id"].to_pylist()) == list(range(30, 45))
    one = plan.with_tasks(plan.tasks[:1])
    again = pickle.loads(pickle.dumps(one.select(["id"])))
    assert again.to_arrow()["id"].to_pylist() == list(range(30, 40))  # the subset, not a re-plan


def test_unknown_columns_and_corrupt_objects_are_one_line_errors(orders):
    with pytest.raises(ConfigError, match=r"table 'orders' of shop/orders@\w+ has no column\(s\) nope; its columns: id"):
        orders.scan(columns=["id", "nope"])
    with pytest.raises(ConfigError, match=r"no column\(s\) bad"):
        orders.to_pandas([("bad", "==", 1)])
    plan = orders.scan([("id", "<", 10)], verify=True)
    victim = plan.local_paths()[0]
    os.chmod(victim, 0o644)
    with open(victim, "r+b") as fh:
        fh.seek(8)
        fh.write(b"\0corrupt\0")
    with pytest.raises(IntegrityError, match=r"object \w+ .*is corrupt.*run `lakepkg verify`"):
        plan.to_arrow()


def test_load_is_typed_by_kind_and_facts_are_properties(orders, registry):
    ref = f"shop/orders@{orders.package.top_hash[:10]}"
    pkg = load(ref, registry, kind=Package)
    assert isinstance(pkg, Package) and isinstance(load(f"{ref}/orders", registry, kind=Table), Table)
    assert isinstance(load(f"{ref}/README.md", registry, kind=File), File)
    with pytest.raises(ConfigError, match="is a table, not a file"):
        load(f"{ref}/orders", registry, kind=File)
    assert pkg.readme == "# orders\n" and [f.key for f in pkg.files] == ["README.md"]
    assert [p["ds"] for p in pkg.table("orders").partitions] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert pkg.tags == ["latest"]
