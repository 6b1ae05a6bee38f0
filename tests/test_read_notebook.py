"""Notebook views: a package, a table, a version history and a diff display as HTML (schema, rows,
fragments, sizes, partitions, provenance, run record, tags), escape what they show, and keep a short
text repr."""
from __future__ import annotations

import pyarrow as pa
import pytest

import lakepkg
from lakepkg.errors import NotFoundError
from lakepkg.read.diff import PackageDiff
from lakepkg.read.history import VersionHistory, log
from lakepkg.write.build import PackageBuilder


@pytest.fixture()
def two_versions(registry):
    recs = []
    for n, msg in ((20, "first <b>load</b>"), (30, "second")):
        b = PackageBuilder(registry)
        b.add_table("orders", pa.table({"id": pa.array(range(n), pa.int64()), "region": ["eu", "us"] * (n // 2)}),
                    partition_cols=["region"], meta={"owner": "sales-team"}, rows_per_fragment=5)
        b.add_file("README.md", b"# Orders\n")
        recs.append(b.publish("shop/orders", message=msg, author="ana",
                              run={"dag_id": "daily_orders", "run_id": f"run-{n}", "commit": "abc123"}))
    registry.set_tag("shop/orders", "prod", recs[0].top_hash)
    return registry, recs


def test_a_package_displays_its_tables_schema_files_run_record_and_tags(two_versions):
    registry, recs = two_versions
    pkg = lakepkg.load(f"shop/orders@{recs[0].top_hash}", registry)
    html = pkg._repr_html_()
    for text in (recs[0].top_hash, "ana", "first &lt;b&gt;load&lt;/b&gt;", "prod", "orders", "20", "README.md",
                 "daily_orders", "run-20", "abc123", "schema of orders", "int64", "region"):
        assert text in html, text
    assert "<b>load</b>" not in html  # user text is escaped
    assert repr(pkg) == f"<Package shop/orders@{recs[0].top_hash[:10]} tables=['orders']>"
    assert pkg.tags == ["prod"] and lakepkg.load("shop/orders", registry).tags == ["latest"]


def test_a_table_displays_schema_rows_fragments_size_partitions_and_provenance(two_versions):
    registry, recs = two_versions
    t = lakepkg.load(f"shop/orders@{recs[1].top_hash}/orders", registry)
    html = t._repr_html_()
    assert f"{t.rows:,}" in html and f"{t.node.fragments:,}" in html and t.hash in html
    assert "partitions (2)" in html and "<td" in html and ">eu<" in html and ">us<" in html
    assert "sales-team" in html and "id" in html and "int64" in html
    assert " B<" in html or "kB<" in html  # a human size
    assert repr(t).startswith("<Table orders rows=30 fragments=")


def test_a_history_lists_versions_newest_first_with_their_tags(two_versions):
    registry, recs = two_versions
    hist = log("shop/orders", registry)
    assert isinstance(hist, VersionHistory) and isinstance(hist, list)
    assert [r.top_hash for r in hist] == [recs[1].top_hash, recs[0].top_hash]
    assert hist.tags == {"latest": recs[1].top_hash, "prod": recs[0].top_hash}
    assert hist.tags_of(hist[1]) == ["prod"] and hist.to_json()[0]["tags"] == ["latest"]
    html = hist._repr_html_()
    assert html.index(recs[1].top_hash[:10]) < html.index(recs[0].top_hash[:10])
    assert "run-30" in html and "prod" in html and "first &lt;b&gt;load&lt;/b&gt;" in html
    assert repr(hist).startswith("<VersionHistory shop/orders: 2 versions, newest ")
    with pytest.raises(NotFoundError, match="package shop/none not found"):
        log("shop/none", registry)


def test_a_diff_displays_what_changed_table_by_table(two_versions):
    registry, recs = two_versions
    a = lakepkg.load(f"shop/orders@{recs[0].top_hash}", registry)
    b = lakepkg.load(f"shop/orders@{recs[1].top_hash}", registry)
    d = a.diff(b)
    assert isinstance(d, PackageDiff) and not d.empty
    td = d.tables[0]
    assert td.name == "orders" and td.status == "changed"
    assert d.summary.startswith("orders: changed, +") and repr(d).startswith("<PackageDiff ")
    html = d._repr_html_()
    assert "orders" in html and "changed" in html and str(len(td.fragments_added)) in html
    assert a.diff(a).summary == "identical" and "identical" in a.diff(a)._repr_html_()
