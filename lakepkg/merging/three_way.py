"""``lakepkg merge OURS THEIRS --to NAME``: the steps of a three-way merge of two versions, in order.

1. the two versions are loaded and their merge base found (:mod:`lakepkg.merging.history`), or
   named with ``base``; versions with no common history and no ``base`` are refused;
2. theirs already in ours' history: nothing to merge (nothing is minted when ``NAME`` already
   names ours); ours in theirs' history: a fast-forward to theirs;
3. table by table: a table only one side changed is taken from that side as it is (its node
   hash); one both sides changed is merged by key (:mod:`lakepkg.merging.keyed`) or as a
   multiset (:mod:`lakepkg.merging.unkeyed`) after its schema (:mod:`lakepkg.merging.schema`);
   plain files by key and hash (:mod:`lakepkg.merging.files`);
4. with conflicts left (``strategy="fail"``, no ``resolve`` for them) nothing is published: the
   conflicts are written as a package of their own (:mod:`lakepkg.merging.conflicts`) and the
   result says so; otherwise the merged tables (:mod:`lakepkg.merging.result`) are published
   through the one publish, the record naming both parents, with a compare-and-swap on
   ``NAME``'s latest.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError, SchemaMismatchError
from lakepkg.format.names import validate_package_name
from lakepkg.format.pandas_arrow import arrow_from_pandas
from lakepkg.merging.conflicts import ConflictReport, conflicts_package
from lakepkg.merging.files import merge_files
from lakepkg.merging.history import History, merge_base
from lakepkg.merging.keyed import merge_keyed
from lakepkg.merging.outcome import TableOutcome
from lakepkg.merging.result import merged_table_node
from lakepkg.merging.schema import merge_schemas
from lakepkg.merging.unkeyed import merge_unkeyed
from lakepkg.read.package import Package, Table, load
from lakepkg.registry import Registry, open_registry
from lakepkg.write.publish import PublishResult, publish

STRATEGIES = ("fail", "ours", "theirs")
AUTO = "auto"


@dataclass
class MergeResult:
    """What ``lakepkg.merge`` did. ``status``: ``merged``, ``up-to-date`` (theirs is already in ours'
    history), ``fast-forward`` (ours is in theirs' history) or ``conflicts`` (nothing published;
    ``conflicts`` says what and where the conflicts package is)."""

    status: str
    ours: str
    theirs: str
    base: Optional[str]
    published: Optional[PublishResult] = None
    conflicts: Optional[ConflictReport] = None
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "conflicts"

    @property
    def ref(self) -> Optional[str]:
        return self.published.ref if self.published else None

    def headline(self) -> str:
        if self.status == "conflicts":
            assert self.conflicts is not None
            where = f"; conflicts written to {self.conflicts.package}" if self.conflicts.package else ""
            return (f"merge of {_short(self.theirs)} into {_short(self.ours)}: conflicts, nothing published{where}; resolve with "
                    "--strategy ours|theirs or --resolve TABLE=PATH")
        if self.published is None:
            return f"{self.ours} already contains {self.theirs}: nothing to merge"
        return f"{self.published.headline()}  ({self.status}; base {_short(self.base) if self.base else 'none'})"

    def lines(self) -> list[str]:
        out = [self.headline()]
        if self.conflicts is not None:
            out += [f"  {line}" for line in self.conflicts.summary_lines()]
        return out

    def __repr__(self) -> str:
        return f"<MergeResult {self.status} {_short(self.theirs)} into {_short(self.ours)}>"

    def _repr_html_(self) -> str:
        """The notebook view: the outcome, the versions, and per table what happened or conflicted."""
        from lakepkg.read.html import card, facts, grid, section

        head = facts([("status", self.status), ("ours", self.ours), ("theirs", self.theirs), ("base", self.base),
                      ("published", self.published.ref if self.published else None),
                      ("conflicts package", self.conflicts.package if self.conflicts else None)])
        parts = [head]
        if self.conflicts is not None:
            parts.append(section("conflicts", grid(["", ""], [(line, "") for line in self.conflicts.summary_lines()]),
                                 open_=True))
        if self.tables:
            rows = [(n, f.get("from"), f.get("rows"), f.get("new_rows"), f.get("rows_deleted"),
                     f.get("vectors_written")) for n, f in sorted(self.tables.items())]
            parts.append(section("tables", grid(["table", "from", "rows", "new rows", "rows deleted", "vectors"], rows),
                                 open_=True))
        return card(f"Merge: {self.status}", *parts)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "ours": self.ours, "theirs": self.theirs, "base": self.base,
                "published": self.published.to_json() if self.published else None,
                "conflicts": self.conflicts.to_json() if self.conflicts else None, "tables": self.tables}


@dataclass
class _Built:
    """A root already in the store (fast-forward, up-to-date), as :func:`publish` takes it."""

    top_hash: str
    sources: dict[str, Any]
    tables: dict[str, dict[str, Any]]


def _full(pkg: Package) -> str:
    return f"{pkg.name}@{pkg.top_hash}"


def _short_of(pkg: Package) -> str:
    return _short(_full(pkg))


def _short(ref: str) -> str:
    name, sep, h = ref.rpartition("@")
    return f"{name}@{h[:10]}" if sep else ref[:10]


def table_key(t: Optional[Table]) -> Optional[list[str]]:
    if t is None:
        return None
    k = (t.node.writer or {}).get("key") or t.provenance.get("key")
    return list(k) if k else None


def _as_arrow(name: str, value: Any) -> pa.Table:
    """A ``--resolve`` value: a Parquet or CSV path, a pandas DataFrame or an Arrow table."""
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, (str, os.PathLike)):
        import pandas as pd

        path = str(value)
        if not os.path.isfile(path):
            raise ConfigError(f"--resolve {name}={path}: no such file; give a Parquet or CSV file of the chosen rows")
        try:
            df = pd.read_csv(path) if path.lower().endswith(".csv") else pd.read_parquet(path)
        except (ValueError, OSError, ImportError) as exc:
            raise ConfigError(f"--resolve {name}={path}: cannot read it as {'CSV' if path.lower().endswith('.csv') else 'Parquet'} "
                              f"({str(exc).splitlines()[0][:120]})") from None
        value = df
    try:
        return arrow_from_pandas(value)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ConfigError(f"--resolve {name}: give a Parquet/CSV path, a pandas DataFrame or an Arrow table "
                          f"({str(exc).splitlines()[0][:120]})") from None


def merge_versions(ours_ref: str, theirs_ref: str, to: str, *, registry: "Registry | str | None" = None,
                   base: Optional[str] = None, strategy: str = "fail", keys: Optional[dict[str, list[str]]] = None,
                   resolve: Optional[dict[str, Any]] = None, message: str = "", conflicts_to: Optional[str] = None,
                   expect: Optional[str] = AUTO, tags: Iterable[str] = ()) -> MergeResult:
    """Merge ``theirs_ref`` into ``ours_ref`` and publish the result as the newest version of ``to``
    (see the module docstring and docs/merge.md).

    ``keys``: table → key columns (``--key``); ``resolve``: table → the chosen rows for its
    conflicting keys (a Parquet/CSV path, a DataFrame or an Arrow table); ``conflicts_to``: the
    conflicts package (default ``<to>-conflicts``); ``expect``: ``to``'s latest must still be this
    version when the result is published (a hash prefix, ``"none"``: ``to`` must not exist yet;
    default: ours when ``to`` exists — a merge into a package whose latest is another version is
    refused — checked again when the result is published)."""
    reg = open_registry(registry)
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy {strategy!r}: use fail, ours or theirs")
    validate_package_name(to)
    conflicts_name = conflicts_to or f"{to}-conflicts"
    validate_package_name(conflicts_name)
    o, t = load(ours_ref, reg, kind=Package), load(theirs_ref, reg, kind=Package)
    assert o.record is not None and t.record is not None
    if expect == AUTO:
        expected = reg.tag_value(to, "latest") if reg.history(to) else None
        if expected is not None and expected != o.top_hash:
            raise ConfigError(f"{to}'s latest is {expected[:10]}, not ours ({o.ref}): the merge would replace it; merge "
                              f"into {to}'s latest, or give --expect {expected[:10]} to publish over it")
    elif expect is None or expect == "none":
        expected = None
    else:
        expected = reg.resolve(f"{to}@{expect}").top_hash
    hist = History(reg)
    anc_o, anc_t = hist.ancestors(o.record), hist.ancestors(t.record)
    common = {k: v for k, v in anc_o.items() if k in anc_t}
    keys = {k: list(v) for k, v in (keys or {}).items()}
    resolve = dict(resolve or {})
    for opt, spec in (("--key", keys), ("--resolve", resolve)):
        unknown = sorted(n for n in spec if n not in o.tables and n not in t.tables)
        if unknown:
            raise ConfigError(f"{opt} {unknown[0]}: no table of that name in ours or theirs "
                              f"(tables: {', '.join(sorted(set(o.tables) | set(t.tables))) or 'none'})")
    merge_field = {"parents": [_full(o), _full(t)], "strategy": strategy}
    if t.top_hash in anc_o:
        res = MergeResult("up-to-date", _full(o), _full(t), _full(o))
        if expected != o.top_hash:
            res.published = publish(reg, to, _Built(o.top_hash, dict(o.record.sources), {}), tags=tags,
                                    message=message or f"merge {_short_of(t)} into {_short_of(o)} (up to date)",
                                    merge={**merge_field, "base": _full(o)}, expect_latest=expected)
        return res
    if o.top_hash in anc_t:
        pub = publish(reg, to, _Built(t.top_hash, dict(t.record.sources), {}), tags=tags,
                      message=message or f"merge {_short_of(t)} into {_short_of(o)} (fast-forward)",
                      merge={**merge_field, "base": _full(o)}, expect_latest=expected)
        return MergeResult("fast-forward", _full(o), _full(t), _full(o), published=pub)
    if base is not None:
        b: Optional[Package] = load(base, reg, kind=Package)
    else:
        rec = merge_base(reg, o.record, t.record, hist) if common else None
        if rec is None:
            raise ConfigError(f"{o.ref} and {t.ref} share no history (no common parent, clone or merge); name "
                              "their common base with --base REF")
        b = Package(reg, rec.top_hash, rec)
    assert b is not None
    report = ConflictReport()
    outcomes: dict[str, tuple[str, Any, dict[str, Any], Optional[dict[str, Any]]]] = {}
    facts: dict[str, dict[str, Any]] = {}
    for name in sorted(set(b.tables) | set(o.tables) | set(t.tables)):
        hb, ho, ht = (p.root.tables.get(name) for p in (b, o, t))
        src_o = (o.record.sources or {}).get(name)
        src_t = (t.record.sources or {}).get(name)
        both_changed = ho is not None and ht is not None and hb not in (ho, ht) and ho != ht
        if name in resolve and not both_changed:
            raise ConfigError(f"--resolve {name}: the table has no conflicts to resolve (only one side changed it)")
        if ho == ht or ht == hb:
            if ho is not None:
                outcomes[name] = (ho, o.table(name).node, {"from": "ours"}, src_o)
            continue
        if ho == hb:
            if ht is not None:
                outcomes[name] = (ht, t.table(name).node, {"from": "theirs"}, src_t)
            continue
        if ho is None or ht is None:
            gone, kept = ("ours", "theirs") if ho is None else ("theirs", "ours")
            if strategy == "fail":
                report.table_level.append((name, f"removed in {gone}, changed in {kept}"))
            elif strategy == kept:
                side = t if kept == "theirs" else o
                outcomes[name] = (side.root.tables[name], side.table(name).node, {"from": kept},
                                  src_t if kept == "theirs" else src_o)
            continue
        tb = b.table(name) if hb is not None else None
        to_, tt = o.table(name), t.table(name)
        outcome = _merge_table(name, tb, to_, tt, keys.get(name), strategy, resolve.get(name))
        if outcome.has_conflicts:
            report.tables.append(outcome)
            continue
        layout = to_ if outcome.layout == "ours" else tt
        h, node, f = merged_table_node(reg.store, outcome, layout, list(layout.iter_entries()))
        outcomes[name] = (h, node, {"from": "merged", **f}, None)
    files = merge_files(b, o, t, strategy)
    if files.conflicts:
        report.files = files.conflict_table()
    base_full = _full(b) if b.name else b.top_hash
    if not report.empty:
        tables, meta = conflicts_package(report)
        from lakepkg.write.build import PackageBuilder

        cb = PackageBuilder(reg, meta={**meta, "ours": _full(o), "theirs": _full(t), "base": base_full, "target": to})
        for n, tab in tables.items():
            cb.add_table(n, tab)
        pub = cb.publish(conflicts_name, f"conflicts of merging {_short_of(t)} into {_short_of(o)}")
        report.package = pub.ref
        return MergeResult("conflicts", _full(o), _full(t), base_full, conflicts=report)
    from lakepkg.write.build import PackageBuilder

    meta = t.meta if o.meta == b.meta else o.meta
    builder = PackageBuilder(reg, meta=dict(meta))
    for name, (h, node, f, src) in outcomes.items():
        builder.copy_table_from(h, node, facts=f, source=src)
        facts[name] = {**f, "rows": node.rows}
    for key in sorted(files.entries):
        builder.add_file_entry(files.entries[key])
    pub = builder.publish(to, message or f"merge {_short_of(t)} into {_short_of(o)}", tags=tags,
                          merge={**merge_field, "base": base_full}, expect_latest=expected)
    return MergeResult("merged", _full(o), _full(t), base_full, published=pub, tables=facts)


def _merge_table(name: str, base: Optional[Table], ours: Table, theirs: Table, key: Optional[list[str]],
                 strategy: str, resolve: Any) -> TableOutcome:
    """One table both sides changed: its schema, then its rows by key or as a multiset."""
    if key is None:
        ko, kt = table_key(ours), table_key(theirs)
        if ko and kt and ko != kt:
            raise ConfigError(f"table {name!r} is keyed by ({', '.join(ko)}) in ours and ({', '.join(kt)}) in theirs; "
                              f"give the key to merge by with --key {name}=COLS")
        key = ko or kt or table_key(base)
    if sorted(ours.partition_columns) != sorted(theirs.partition_columns):
        raise SchemaMismatchError(f"table {name!r} is partitioned by ({', '.join(ours.partition_columns)}) in ours and "
                                  f"({', '.join(theirs.partition_columns)}) in theirs; repartition one side first")
    ms = merge_schemas(base.schema if base is not None else None, ours.schema, theirs.schema, strategy)
    if ms.conflicts and strategy == "fail":  # rows of columns whose type does not merge are not compared
        return TableOutcome(name, ms.schema, key, schema_conflicts=list(ms.conflicts))
    if key:
        res = _as_arrow(name, resolve) if resolve is not None else None
        return merge_keyed(name, base, ours, theirs, key, ms, strategy, res)
    if resolve is not None:
        raise ConfigError(f"--resolve {name}: the table has no key, rows cannot be chosen by key; use --strategy "
                          f"ours|theirs, or give its key with --key {name}=COLS")
    return merge_unkeyed(name, base, ours, theirs, ms, strategy)
