"""diff tells why (issue 23 item 5): besides data, the text names what changed — message, metadata keys
(old → new), provenance, sources, tags — and a table with +0 -0 ~0 fragments says what did change."""
from __future__ import annotations

import pyarrow as pa

import lakepkg
from lakepkg.cli import run
from lakepkg.write.build import PackageBuilder


def _cli(args, capsys):
    capsys.readouterr()
    rc = run(args)
    return rc, capsys.readouterr().out


def test_metadata_only_change_is_named_and_exit_code_1(registry, capsys):
    t = pa.table({"id": [1, 2, 3]})
    a = lakepkg.build("shop/x", {"t": t}, registry=registry, message="one", meta={"owner": "ann"})
    b = lakepkg.build("shop/x", {"t": t}, registry=registry, message="two", meta={"owner": "bob", "tier": 1})
    d = lakepkg.diff(a.ref, b.ref, registry)
    assert not d.empty and d.tables == []
    assert "meta.owner: 'ann' → 'bob'" in d.changes and "meta.tier: + 1" in d.changes
    assert "message: 'one' → 'two'" in d.changes
    rc, out = _cli(["diff", a.ref, b.ref, "--exit-code"], capsys)
    assert rc == 1 and "meta.owner: 'ann' → 'bob'" in out and "message: 'one' → 'two'" in out
    assert "tags: (none) on the old version, latest on the new" in out


def test_table_with_no_fragment_change_says_what_changed(registry, capsys):
    t = pa.table({"id": [1, 2, 3]})
    b1 = PackageBuilder(registry)
    b1.add_table("t", t, meta={"source": "crm"})
    r1 = b1.publish("shop/y")
    b2 = PackageBuilder(registry)
    b2.add_table("t", t, meta={"source": "erp"})
    r2 = b2.publish("shop/y")
    d = lakepkg.diff(f"shop/y@{r1.top_hash}", f"shop/y@{r2.top_hash}", registry)
    (td,) = d.tables
    assert (td.fragments_added, td.fragments_removed, td.fragments_changed) == ([], [], [])
    assert td.changes == ["meta.source: 'crm' → 'erp'"]
    rc, out = _cli(["diff", f"shop/y@{r1.top_hash}", f"shop/y@{r2.top_hash}"], capsys)
    assert "+0 -0 ~0 fragments" in out and "  meta.source: 'crm' → 'erp'" in out


def test_schema_change_names_the_columns(registry):
    a = lakepkg.build("shop/z", {"t": pa.table({"id": [1], "v": ["a"]})}, registry=registry)
    b = lakepkg.build("shop/z", {"t": pa.table({"id": [1], "w": [2.5]})}, registry=registry)
    (td,) = lakepkg.diff(a.ref, b.ref, registry).tables
    assert "schema: +column w, -column v" in td.changes


def test_identical_content_under_another_message_is_said(registry, capsys):
    t = pa.table({"id": [1, 2]})
    a = lakepkg.build("team/a", {"t": t}, registry=registry, message="first")
    b = lakepkg.build("team/b", {"t": t}, registry=registry, message="copy")
    assert a.top_hash == b.top_hash
    rc, out = _cli(["diff", a.ref, b.ref, "--exit-code"], capsys)
    assert rc == 0 and out.splitlines()[0] == "identical content" and "message: 'first' → 'copy'" in out
