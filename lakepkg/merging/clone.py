"""``lakepkg clone SRC NEW``: a new package whose first version is SRC, or a filtered part of it.

The clone shares SRC's objects: no byte is copied. Tables are chosen by name or glob
(``tables``); ``partitions`` (SQL over partition columns) keeps the fragments of the matching
partitions; ``where`` (a SQL row predicate) keeps the matching rows of each fragment — a
fragment keeps its object and gets a deletion vector for the rows that do not match (one
whose rows all match keeps its entry as is; one with no matching row is left out). Without
``where`` this is the filtered publish of :meth:`lakepkg.read.package.SubPackage.publish`
under its everyday name; with it the same, with vectors. Either way the version records
``derived_from`` (``name@tophash`` of SRC) and goes through the one publish.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from lakepkg.errors import ConfigError
from lakepkg.format.manifest import Entry, EntrySorter, build_table_node
from lakepkg.format.names import validate_package_name
from lakepkg.governance.predicate import matching_mask, parse_predicate
from lakepkg.merging.located import live_positions, physical_rows
from lakepkg.read.package import Fragment, Package, Table, load
from lakepkg.registry import Registry, open_registry
from lakepkg.write.fragments import with_vector
from lakepkg.write.publish import PublishResult

__all__ = ["clone"]


def _partition_filter(text: str, table: Table) -> Any:
    pred = parse_predicate(text, table.name)
    outside = sorted(pred.columns - set(table.partition_columns))
    if outside:
        raise ConfigError(f"--partition {text!r} names {', '.join(outside)}, which "
                          f"{'is not a partition column' if len(outside) == 1 else 'are not partition columns'} of "
                          f"table {table.name!r} (partition columns: {', '.join(table.partition_columns) or 'none'}); "
                          "filter rows with --where")
    return pred.for_schema(table.schema) or [[(table.partition_columns[0], "in", [])]]


def _where_node(table: Table, text: str, partitions: Optional[Any]) -> tuple[str, Any, dict[str, int]]:
    """The table's node keeping only the rows matching ``text`` (vectors on the kept fragments)."""
    pred = parse_predicate(text, table.name)
    missing = sorted(pred.columns - set(table.schema.names))
    if missing:
        raise ConfigError(f"--where {text!r} names {', '.join(missing)}, not a column of table {table.name!r} "
                          f"(columns: {', '.join(table.schema.names)}); choose tables with --table")
    conjs = pred.for_schema(table.schema)
    cols = sorted(pred.columns, key=table.schema.names.index)
    sorter = EntrySorter(f"table {table.name!r}")
    facts = {"fragments_kept": 0, "fragments_with_vector": 0, "fragments_left_out": 0}
    for d in table.iter_entries(partitions):
        rows = Fragment(table.store, Entry.from_json(d), table).to_arrow(cols)
        hit = np.zeros(rows.num_rows, dtype=bool) if conjs is None else \
            np.asarray(matching_mask(rows, conjs).to_numpy(zero_copy_only=False), dtype=bool)
        if not hit.any():
            facts["fragments_left_out"] += 1
            continue
        if hit.all():
            sorter.add(Entry.from_json(d))
            facts["fragments_kept"] += 1
            continue
        live = live_positions(table.store, d, table.name)
        keep = np.zeros(physical_rows(d), dtype=bool)
        keep[live[hit]] = True
        sorter.add(Entry.from_json(with_vector(table.store, d, np.flatnonzero(~keep), physical_rows(d))))
        facts["fragments_with_vector"] += 1
    h, node = build_table_node(table.store, table.name, table.schema, sorter, table.partition_columns,
                               table.provenance, table.meta, table.node.writer)
    return h, node, facts


def clone(src: str, new: str, *, registry: "Registry | str | None" = None, tables: Optional[Sequence[str]] = None,
          where: Optional[str] = None, partitions: Optional[str] = None, message: str = "",
          tags: Iterable[str] = ()) -> PublishResult:
    """Publish ``src`` (a reference) or a filtered part of it as a version of ``new``, sharing its objects.

    ``tables``: names or globs (default every table); ``partitions``: SQL over the partition
    columns (``"ds >= '2026-01-01'"``); ``where``: SQL over any columns, rows that do not match
    are left out through deletion vectors."""
    reg = open_registry(registry)
    validate_package_name(new)
    pkg = load(src, reg, kind=Package)
    pats = list(tables or [])
    sub = pkg.filter(pats or None)
    for p in pats:
        if not any(fnmatch.fnmatchcase(n, p) for n in pkg.tables):
            raise ConfigError(f"--table {p!r} matches no table of {pkg.ref}; tables: {', '.join(pkg.tables) or 'none'}")
    if not sub.table_names:
        raise ConfigError(f"{pkg.ref} has no tables to clone")
    derived = f"{pkg.name}@{pkg.top_hash}"
    msg = message or f"clone of {derived}"
    if where is None and partitions is None:
        return sub.publish(new, msg, tags=tuple(tags))
    from lakepkg.write.build import PackageBuilder

    b = PackageBuilder(reg, meta={**pkg.meta, "derived_from": pkg.top_hash})
    facts: dict[str, dict[str, Any]] = {}
    for n in sub.table_names:
        t = pkg.table(n)
        part = _partition_filter(partitions, t) if partitions else None
        if where is None:
            sorter = EntrySorter(f"table {n!r}")
            for d in t.iter_entries(part):
                sorter.add(Entry.from_json(d))
            h, node = build_table_node(t.store, n, t.schema, sorter, t.partition_columns, t.provenance, t.meta,
                                       t.node.writer)
            f: dict[str, Any] = {}
        else:
            h, node, f = _where_node(t, where, part)
        b.copy_table_from(h, node, facts=f)
    for fl in pkg.files:
        b.add_file_entry(fl.entry)
    return b.publish(new, msg, derived_from=derived, tags=tuple(tags))
