"""Compaction on demand: rewrite a version's fragments with deletion vectors into clean ones.

    from lakepkg.write.compaction import compact
    res = compact(registry, "air/flights")          # lakepkg compact air/flights

Every table of the latest version whose fragments carry deletion vectors (or
that has more than one small fragment) gets those fragments rewritten: their
live rows, sorted by the table's key, cut by the table's own chunking rule
(:func:`lakepkg.write.deletion_vectors.compact_entries`). Other fragments and
tables keep their entries and node hashes. The new version holds the same
rows (its rows digest is the previous one's, carried in the record) in a
different layout; compacting a compact version publishes nothing.
Delta snapshots compact by themselves past the thresholds of
:class:`~lakepkg.write.deletion_vectors.CompactionPolicy`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from lakepkg.errors import ConfigError
from lakepkg.format.manifest import Entry, EntrySorter, build_table_node, load_root, load_table_node, read_page_raw
from lakepkg.format.names import parse_ref
from lakepkg.registry import Registry, VersionRecord, open_registry
from lakepkg.write.build import PackageBuilder
from lakepkg.write.chunking import ChunkingParams
from lakepkg.write.deletion_vectors import _params_of, compact_entries
from lakepkg.write.publish import publish


@dataclass
class CompactResult:
    """What ``compact`` did: the version record, whether it is new, and per-table counts."""

    record: VersionRecord
    created: bool
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.record.to_json(), "created": self.created, "tables": self.tables}

    def headline(self) -> str:
        rec = self.record
        verb = "published (compacted)" if self.created else "unchanged (nothing to compact)"
        return f"{rec.package}@{rec.top_hash[:10]} {verb}  top hash {rec.top_hash}"


def compact(registry: "Registry | str | None", name: str, tables: Optional[Iterable[str]] = None,
            message: str = "") -> CompactResult:
    """Compact the latest version of ``name`` (or the version ``name@hash`` names) and publish it."""
    reg = open_registry(registry)
    r = parse_ref(name, allow_path=False)
    rec = reg.resolve(r)
    store = reg.store
    root = load_root(store, rec.top_hash)
    wanted = set(tables) if tables else None
    if wanted:
        unknown = wanted - set(root.tables)
        if unknown:
            raise ConfigError(f"{rec.package} has no table(s) {', '.join(sorted(unknown))}; "
                              f"tables: {', '.join(sorted(root.tables))}")
    b = PackageBuilder(reg, meta=root.meta)
    info: dict[str, dict[str, Any]] = {}
    for tname, h in sorted(root.tables.items()):
        node = load_table_node(store, h)
        src = (rec.sources or {}).get(tname)  # listings and the rows digest: the same rows
        if (wanted is not None and tname not in wanted) or node.partition_columns:
            b.copy_table_from(h, node, source=src)
            continue
        entries = [d for p in node.pages for d in read_page_raw(store, p)]
        params = _params_of(node.writer) or ChunkingParams()
        key = list((node.writer or {}).get("key") or [])
        out, n = compact_entries(store, entries, node.schema, key, params, tname, force=True)
        info[tname] = {"fragments_before": len(entries), "fragments_rewritten": n, "fragments_after": len(out)}
        if not n:
            b.copy_table_from(h, node, source=src)
            continue
        sorter = EntrySorter(f"table {tname!r}")
        for d in out:
            sorter.add(Entry.from_json(d))
        nh, nnode = build_table_node(store, tname, node.schema, sorter, node.partition_columns, node.provenance,
                                     node.meta, node.writer)
        b.copy_table_from(nh, nnode, facts=info[tname], source=src)
    for p in root.files:
        for d in read_page_raw(store, p):
            e = Entry.from_json(d)
            b._files.add(e)
            b._file_keys.add(e.key)
    built = b.build()
    if built.top_hash == rec.top_hash:
        return CompactResult(rec, False, info)
    res = publish(reg, rec.package, built, message=message or f"compact {rec.package}@{rec.top_hash[:10]}")
    return CompactResult(res.record, res.created, info)
