"""Redaction on a local registry: rows leave every version, the bytes leave the disk, lineage stays,
old references resolve to the successors with a notice, and bad input changes nothing."""
from __future__ import annotations

import json
import warnings

import pytest

import lakepkg
from lakepkg.errors import ConfigError, LakepkgError, NotFoundError
from lakepkg.format.manifest import load_root, load_table_node
from lakepkg.format.walk import table_entries
from lakepkg.governance import check_log, redact, where_used
from lakepkg.governance.predicate import parse_predicate
from lakepkg.maintain.lockfile import LockEntry, install_lockfile, write_lockfile
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry.core import RedactedVersionWarning
from tests.lifecycle_helpers import all_versions, files_holding, new_marker, populate, rows_of


def _state(reg):
    """Every metadata key with its bytes, and every object: what 'nothing changed' compares."""
    meta = {k: reg.meta.read(k)[0] for k in reg.meta.list("")}
    return meta, sorted(o.digest for o in reg.store.iter_objects())


def _entries(reg, top, table="orders"):
    root = load_root(reg.store, top)
    return {e["key"]: e for e in table_entries(reg.store, load_table_node(reg.store, root.tables[table]))}


def test_redaction_end_to_end(registry, home, tmp_path):
    reg = registry
    marker = new_marker()
    made = populate(reg, marker)
    where = f"customer = '{marker}'"
    olds = {r.key: r for r in all_versions(reg)}
    before = {r.top_hash: rows_of(reg, f"{r.package}@{r.top_hash}") for r in olds.values() if r.package != "ops/other"}
    assert files_holding([str(home)], marker), "the scan must see the planted marker before the redaction"
    lock = tmp_path / "lakepkg.lock"
    v0 = made["sales/orders"][0]
    write_lockfile([LockEntry("sales/orders", v0.top_hash)], str(lock))
    v2_entries = _entries(reg, made["sales/orders"][2].top_hash)
    v2_notes = load_root(reg.store, made["sales/orders"][2].top_hash).tables["notes"]

    use = where_used(table="orders", where=where, registry=reg)
    assert {(v.package, v.top_hash) for v in use.versions} == {(r.package, r.top_hash) for r in olds.values() if r.package != "ops/other"}
    assert {v.top_hash: v.rows for v in use.versions}[v0.top_hash] == 3
    assert sorted(next(v.tags for v in use.versions if v.top_hash == made["sales/orders"][1].top_hash)) == ["prod"]
    assert use.fragments_read < use.fragments_considered  # ds=2026-11-03 fragments pruned by their max statistic
    # each distinct fragment that may match is read once, however many versions share it: sales/orders ds=1
    # (one object in all 3 versions and the derived package) + ds=2 (3 objects); crm/orders ds=1 (1) + ds=2 (2) + ds=5 (2)
    assert use.fragments_read == 1 + 3 + 1 + 2 + 2

    rep = redact("orders", where, reason="GDPR request 17", all_packages=True, registry=reg)
    assert len(rep.versions) == 6 and rep.rows_removed == 3 * 3 + 5 * 2 + 3 and rep.objects_deleted > 0

    # not one byte of the marker is left anywhere under LAKEPKG_HOME (registry, store, views, caches)
    assert files_holding([str(home)], marker) == []
    assert where_used(table="orders", where=where, registry=reg).versions == []
    gone = where_used(digest=v0.top_hash[:12], registry=reg)
    assert gone.versions == [] and gone.redacted[0]["reason"] == "GDPR request 17"
    assert gone.redacted[0]["successor"] == next(v["new"] for v in rep.versions if v["old"] == v0.top_hash)
    assert verify_registry(reg).ok
    succ = {v["old"]: v["new"] for v in rep.versions}
    for old in olds.values():
        if old.package == "ops/other":
            assert reg.resolve(f"ops/other@{old.top_hash}").key == old.key  # untouched
            continue
        assert reg.meta.read(old.key) is None
        with pytest.warns(RedactedVersionWarning, match=r"redacted on \d{4}-\d\d-\d\d: GDPR request 17"):
            rec = reg.resolve(f"{old.package}@{old.top_hash[:12]}")
        assert rec.top_hash == succ[old.top_hash]
        # lineage: everything but the data stays
        assert (rec.created_at, rec.author, rec.message, rec.run, rec.derived_from) == \
               (old.created_at, old.author, old.message, old.run, old.derived_from)
        assert rec.redacted[-1]["from"] == old.top_hash and rec.redacted[-1]["predicate"] == parse_predicate(where, "orders").digest
        # every other row reads back identically
        assert rows_of(reg, f"{old.package}@{old.top_hash}") == [r for r in before[old.top_hash] if marker not in r]
    assert [len(reg.history(n)) for n in ("sales/orders", "crm/orders", "sales/orders-eu")] == [3, 2, 1]
    assert reg.tags("sales/orders")["prod"] == succ[made["sales/orders"][1].top_hash]
    assert reg.tags("sales/orders")["latest"] == succ[made["sales/orders"][2].top_hash]
    # unaffected fragments and tables keep their hashes; a fragment whose rows all matched is gone
    new_v2 = _entries(reg, succ[made["sales/orders"][2].top_hash])
    for k, e in v2_entries.items():
        assert (new_v2[k]["object"] == e["object"]) == k.startswith("ds=2026-11-03")
    assert load_root(reg.store, succ[made["sales/orders"][2].top_hash]).tables["notes"] == v2_notes
    crm = _entries(reg, succ[made["crm/orders"][0].top_hash])
    assert not any(k.startswith("ds=2026-11-05") for k in crm)
    # the derived package's successor keeps where it came from
    with pytest.warns(RedactedVersionWarning):
        eu = reg.resolve("sales/orders-eu")
    assert eu.derived_from == made["sales/orders-eu"][0].derived_from

    # the audit log: one redaction entry, hashes only, chain intact
    log = check_log(reg)
    assert log.ok
    entry = log.entries[-1]
    assert entry["action"] == "redact" and entry["reason"] == "GDPR request 17" and entry["rows_removed"] == 22
    assert entry["predicate"] == parse_predicate(where, "orders").digest and len(entry["versions"]) == 6
    assert marker not in json.dumps(log.entries)

    # a lock file pinning the old top hash installs the successor, with the notice
    with pytest.warns(RedactedVersionWarning, match="redacted on"):
        reps = install_lockfile(str(lock))
    assert reps[0].top_hash == succ[v0.top_hash]
    with pytest.warns(RedactedVersionWarning):
        pkg = lakepkg.load("sales/orders", reg, lock=str(lock))
    assert pkg.top_hash == succ[v0.top_hash]

    # the same command again: nothing matches, nothing changes
    state = _state(reg)
    with pytest.raises(NotFoundError, match="nothing changed"):
        redact("orders", where, reason="GDPR request 17", all_packages=True, registry=reg)
    assert _state(reg) == state


def test_a_version_redacted_twice_resolves_through_the_chain(registry):
    reg = registry
    m1, m2 = new_marker(), new_marker()
    made = populate(reg, m1)
    v0 = made["sales/orders"][0]
    redact("orders", f"customer = '{m1}' AND ds = '2026-11-01'", reason="first", packages=["sales/orders", "sales/orders-eu"], registry=reg)
    with pytest.warns(RedactedVersionWarning, match="first"):
        first = reg.resolve(f"sales/orders@{v0.top_hash}")
    assert all(m1 not in r for r in rows_of(reg, f"sales/orders@{first.top_hash}") if "2026-11-01" in r)
    assert any(r[3] == "1005" for r in rows_of(reg, f"sales/orders@{first.top_hash}"))  # columns: amount, customer, ds, id
    redact("orders", "id = 1005", reason="second", packages=["sales/orders", "sales/orders-eu"], registry=reg)
    with pytest.warns(RedactedVersionWarning, match="second"):
        last = reg.resolve(f"sales/orders@{v0.top_hash[:8]}")
    assert [e["from"] for e in last.redacted] == [v0.top_hash, first.top_hash]
    assert not any(r[3] == "1005" for r in rows_of(reg, f"sales/orders@{v0.top_hash}"))
    assert verify_registry(reg).ok and check_log(reg).ok


def test_bad_input_changes_nothing(registry):
    reg = registry
    marker = new_marker()
    populate(reg, marker)
    state = _state(reg)
    cases = [
        (LakepkgError, "unknown column 'customer_id'", dict(table="orders", where="customer_id = 42", all_packages=True)),
        (NotFoundError, "nothing changed", dict(table="orders", where="customer = 'nobody'", all_packages=True)),
        (ConfigError, "needs a reason", dict(table="orders", where=f"customer = '{marker}'", all_packages=True, reason=" ")),
        (ConfigError, "--package NAME", dict(table="orders", where=f"customer = '{marker}'")),
        (ConfigError, "not a SQL predicate|not supported", dict(table="orders", where="customer = = 1", all_packages=True)),
        (ConfigError, "not a valid", dict(table="orders", where="id = 'abc'", all_packages=True)),
        (NotFoundError, "no version searched has a table", dict(table="nope", where="a = 1", all_packages=True)),
        (ConfigError, "add --package sales/orders", dict(table="orders", where=f"customer = '{marker}'", packages=["sales/orders-eu"])),
    ]
    for exc, msg, kw in cases:
        kw.setdefault("reason", "test")
        with pytest.raises(exc, match=msg) as info:
            redact(registry=reg, **kw)
        assert "\n" not in str(info.value)
        assert _state(reg) == state, kw


def test_where_used_by_object_and_by_source(registry, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    reg = registry
    d = tmp_path / "lake" / "orders"
    for day in ("2026-11-01", "2026-11-02"):
        (d / f"ds={day}").mkdir(parents=True)
        pq.write_table(pa.table({"id": [1, 2], "customer": ["a", day]}), d / f"ds={day}" / "part-0.parquet")
    b = lakepkg.PackageBuilder(reg)
    b.add_path("orders", str(d))
    v1 = b.publish("lake/orders")
    (d / "ds=2026-11-03").mkdir()
    pq.write_table(pa.table({"id": [3], "customer": ["c"]}), d / "ds=2026-11-03" / "part-0.parquet")
    b = lakepkg.PackageBuilder(reg)
    b.add_path("orders", str(d))
    v2 = b.publish("lake/orders", tags=["prod"])
    src = str(d / "ds=2026-11-01" / "part-0.parquet")
    use = where_used(source=src, registry=reg)
    assert [v.top_hash for v in use.versions] == [v1.top_hash, v2.top_hash]
    obj = use.versions[0].hits[0]["object"]
    assert use.versions[0].hits[0]["key"] == "ds=2026-11-01/part-0.parquet"
    by_obj = where_used(digest=obj[:10], registry=reg)
    assert [(v.top_hash, v.tags) for v in by_obj.versions] == [(v1.top_hash, []), (v2.top_hash, ["latest", "prod"])]
    assert by_obj.versions[0].hits[0]["role"] == "fragment"
    new_only = where_used(source=str(d / "ds=2026-11-03"), registry=reg)
    assert [v.top_hash for v in new_only.versions] == [v2.top_hash]
    assert where_used(digest=v1.top_hash, registry=reg).versions[0].hits[0]["role"] == "root"
    with pytest.raises(ConfigError, match="exactly one"):
        where_used(registry=reg)
    with pytest.raises(ConfigError, match="not an object hash"):
        where_used(digest="xyz", registry=reg)
    # a redaction of a lake snapshot drops the rewritten file from the listing: the next
    # incremental snapshot reads that source file again instead of reusing the redacted fragment
    redact("orders", "customer = '2026-11-02'", reason="test", all_packages=True, registry=reg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert where_used(source=str(d / "ds=2026-11-02"), registry=reg).versions == []
        assert len(where_used(source=src, registry=reg).versions) == 2
