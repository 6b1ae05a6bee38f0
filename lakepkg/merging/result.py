"""The merged table nodes: the layout side's fragments kept, removed rows as deletion vectors,
added and changed rows in new fragments — so a merge stores about the rows that changed.

A kept fragment that loses rows keeps its object and gets a vector (its old deleted positions
plus the new ones); one that loses all its rows is left out; new rows are written with the
recorded writer settings: sorted by key and cut by the table's content-defined chunking when it
has one (as a delta snapshot cuts them, docs/deltas.md), split by partition values when the
table is partitioned. Compaction is left to ``lakepkg compact``.
"""
from __future__ import annotations

import json
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from lakepkg.format.deletion_vector import deleted_positions
from lakepkg.format.manifest import Entry, EntrySorter, TableNodeData, build_table_node
from lakepkg.merging.located import physical_rows
from lakepkg.merging.outcome import TableOutcome
from lakepkg.store.base import ObjectStore
from lakepkg.write.chunking import ChunkingParams, cut
from lakepkg.write.fragments import with_vector, write_fragment, writer_settings
from lakepkg.write.ingest import ingest_arrow

FIXED_ROWS = 1_048_576


def _params(writer: Optional[dict[str, Any]]) -> Optional[ChunkingParams]:
    ch = (writer or {}).get("chunking") or {}
    if ch.get("method") != "key-cdc":
        return None
    try:
        return ChunkingParams(mask_bits=int(ch["mask_bits"]), min_rows=int(ch["min_rows"]), max_rows=int(ch["max_rows"]))
    except (KeyError, TypeError, ValueError):
        return None


def new_fragments(store: ObjectStore, name: str, rows: pa.Table, schema: pa.Schema, partition_columns: list[str],
                  key: Optional[list[str]], writer: Optional[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write ``rows`` (``schema``'s columns) as new fragments; their entries, keyed by object."""
    if rows.num_rows == 0:
        return []
    rows = rows.select(schema.names)
    if key:
        rows = rows.sort_by([(k, "ascending") for k in key])
    out: list[dict[str, Any]] = []
    if partition_columns:
        ing = ingest_arrow(store, name, rows, partition_columns, FIXED_ROWS)
        for _k, line, _r, _s in ing.sorter.sorted_entries():
            d = json.loads(line)
            prefix = d["key"].rpartition("/")[0]
            d["key"] = f"{prefix}/merge-{d['object'][:24]}.parquet" if prefix else f"merge-{d['object'][:24]}.parquet"
            out.append(d)
        return out
    params = _params(writer)
    if key and params is not None:
        parts = cut(rows.to_batches(), rows.schema, key, params)
    else:
        parts = (rows.slice(o, FIXED_ROWS) for o in range(0, rows.num_rows, FIXED_ROWS))
    for t in parts:
        e = write_fragment(store, t, key="pending")
        e.key = f"merge-{e.object[:24]}.parquet"
        out.append(e.to_json())
    return out


def _unique(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    used: set[str] = set()
    out = []
    for d in entries:
        k, n = d["key"], 0
        while k in used:
            n += 1
            stem = d["key"][: -len(".parquet")] if d["key"].endswith(".parquet") else d["key"]
            k = f"{stem}-{n}.parquet"
        used.add(k)
        out.append(d if k == d["key"] else {**d, "key": k})
    return out


def merged_table_node(store: ObjectStore, outcome: TableOutcome, layout: Any,
                      entries: list[dict[str, Any]]) -> tuple[str, TableNodeData, dict[str, Any]]:
    """The table node of ``outcome`` built on ``layout`` (the side's loaded table) and its
    ``entries``; returns (node hash, node, facts for the publish result)."""
    kept: list[dict[str, Any]] = []
    vectors = dropped = 0
    if not outcome.rewrite:
        for j, e in enumerate(entries):
            more = outcome.deletes.get(j)
            if more is None or len(more) == 0:
                kept.append(e)
                continue
            old = deleted_positions(store, e, outcome.name)
            dead = more if old is None else np.union1d(old, more)
            phys = physical_rows(e)
            if len(dead) >= phys:
                dropped += 1
                continue
            kept.append(with_vector(store, e, dead, phys))
            vectors += 1
    writer = layout.node.writer if not outcome.rewrite else {**writer_settings(), **{
        k: v for k, v in (layout.node.writer or {}).items() if k in ("chunking", "key")}}
    added = outcome.added if outcome.added is not None else outcome.schema.empty_table()
    new = new_fragments(store, outcome.name, added, outcome.schema, layout.partition_columns, outcome.key, writer)
    sorter = EntrySorter(f"table {outcome.name!r}")
    for d in _unique(kept + new):
        sorter.add(Entry.from_json(d))
    h, node = build_table_node(store, outcome.name, outcome.schema, sorter, layout.partition_columns,
                               layout.provenance, layout.meta, writer)
    facts = {**outcome.facts, "layout": outcome.layout, "rewritten": outcome.rewrite, "vectors_written": vectors,
             "fragments_dropped": dropped, "new_fragments": len(new), "new_rows": int(added.num_rows)}
    return h, node, facts
