"""Delta re-snapshots of keyed query results: keep the previous fragments, record the rows they lost.

A re-snapshot of a keyed table (a primary key, or ``--key``) whose previous
version was cut by the same rule compares the source's rows with the
previous version's live rows instead of rewriting every fragment a scattered
update touched:

1. the previous version's fragments are read one at a time (or their row hashes come from the
   local cache, :mod:`lakepkg.write.row_hash_cache`) and each live row is known by the first 128
   bits of the SHA-256 of its canonical encoding (:mod:`lakepkg.format.row_identity`); the index
   (:mod:`lakepkg.write.row_index`) is four numpy arrays (24 bytes a row, e.g. 240 MB for 10M rows);
2. the source streams in key order; a row whose hash is in the index is
   unchanged (its previous copy stays where it is); every other row — new or
   changed — goes on to the content-defined cutter
   (:func:`lakepkg.write.chunking.cut`), so changed and new rows land in new
   fragments cut by the same key-hash boundaries as a full snapshot;
3. a previous fragment none of whose live rows changed keeps its entry byte
   for byte; one that lost some rows keeps its object and gets a new deletion
   vector (:mod:`lakepkg.format.deletion_vector`); one that lost all is dropped;
4. compaction (:func:`compact_entries`): fragments whose deleted share passes
   ``max_deleted_share``; once there are more than ``max_small_fragments`` of
   them, fragments with fewer than the chunking's ``min_rows`` live rows; and,
   when the table's deleted rows (which every read still decodes) pass
   ``max_table_deleted_share`` of its stored rows, its most-deleted fragments
   until it is back at ``table_target_share`` — are rewritten into clean
   fragments (their live rows sorted by key, cut by the same rule).
   Compaction's output triggers no threshold again, so a retry of the same
   snapshot changes nothing.

Everything is a function of the previous version and the source state: the
same two give the same top hash, and a retried snapshot mints nothing. The
rows digest (layout independent) goes to the version record as
``sources.<table>.volatile.rows_digest``.

Without a key (or when the previous version cannot be the base: another
schema, key or chunking rule, a union column, which has no row encoding) the
table is snapshotted whole, as before.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa

from lakepkg.errors import IntegrityError
from lakepkg.format.deletion_vector import live_mask
from lakepkg.format.manifest import Entry, EntrySorter
from lakepkg.format.schema_json import schema_to_json
from lakepkg.read.arrow_scan import read_stored
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.store.base import ObjectStore
from lakepkg.write.chunking import ChunkingParams, cut
from lakepkg.write.fragments import with_vector, write_fragment, writer_settings
from lakepkg.write.ingest import IngestedTable, IngestStats, ingest_batches
from lakepkg.write.previous import PreviousVersion
from lakepkg.format.row_identity import UnhashableColumn, hash_words, hashable, row_hash_matrix
from lakepkg.format.rows_digest import RowsDigest
from lakepkg.write.row_hash_cache import RowHashCache as _HashCache  # noqa: F401  (the cache, for tests)
from lakepkg.write.row_index import BaseTable, LiveRowIndex

log = logging.getLogger("lakepkg.deltas")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CompactionPolicy:
    """When a delta snapshot (or ``lakepkg compact``) rewrites fragments into clean ones."""

    max_deleted_share: float = 0.3     # a fragment that lost at least this share of its rows
    max_small_fragments: int = 16      # more small fragments (live rows < chunking min_rows) than this
    group_rows: int = 0                # rows sorted and cut together (0: 2 x chunking max_rows)
    max_table_deleted_share: float = 0.2   # the table's deleted rows past this share of its stored rows...
    table_target_share: float = 0.1        # ...are brought back to this share, most-deleted fragments first

    def to_json(self) -> dict[str, Any]:
        return {"max_deleted_share": self.max_deleted_share, "max_small_fragments": self.max_small_fragments,
                "max_table_deleted_share": self.max_table_deleted_share,
                "table_target_share": self.table_target_share}


DEFAULT_POLICY = CompactionPolicy()


def deltas_enabled() -> bool:
    """``LAKEPKG_DELTAS=0`` turns delta re-snapshots off (every keyed snapshot is then whole)."""
    return os.environ.get("LAKEPKG_DELTAS", "1").strip().lower() not in ("0", "false", "no", "off")


def read_live(store: ObjectStore, entry: dict[str, Any], table: str) -> tuple[pa.Table, Optional[np.ndarray]]:
    """(all rows of the entry's fragment, live mask or None)."""
    t = read_stored(store, entry, table)  # the one reader: hashed before first use
    return t, live_mask(store, entry, t.num_rows, table)


def _params_of(writer: Optional[dict[str, Any]]) -> Optional[ChunkingParams]:
    ch = (writer or {}).get("chunking") or {}
    if ch.get("method") != "key-cdc":
        return None
    try:
        return ChunkingParams(mask_bits=ch["mask_bits"], min_rows=ch["min_rows"], max_rows=ch["max_rows"])
    except (KeyError, ValueError, TypeError):
        return None


def base_table(previous: Any, snap: TableSnapshot, params: ChunkingParams) -> Optional[BaseTable]:
    """The previous version's table that a delta re-snapshot of ``snap`` may build on, or None.

    ``previous``: a :class:`lakepkg.write.previous.PreviousVersion` (or a loaded Package)."""
    if previous is None or not snap.key_columns or snap.partition_columns or not deltas_enabled():
        return None
    prev = PreviousVersion.of(previous)
    if snap.name not in prev.tables:
        return None
    node = prev.table_node(snap.name)
    w = node.writer or {}
    if node.partition_columns or w.get("key") != list(snap.key_columns) or _params_of(w) != params:
        return None
    if snap.schema is not None and schema_to_json(node.schema) != schema_to_json(snap.schema):
        return None
    if not hashable(node.schema):
        return None
    src = ((prev.record.sources or {}).get(snap.name) or {}) if prev.record is not None else {}
    return BaseTable(prev.store, node, snap.name, (src.get("volatile") or {}).get("rows_digest"))


def _writer(params: ChunkingParams, key: list[str]) -> dict[str, Any]:
    w = writer_settings()
    w["chunking"] = params.to_json()
    w["key"] = list(key)
    return w


def _with_digest(batches: Iterable[pa.RecordBatch], acc: RowsDigest, ok: list[bool]) -> Iterator[pa.RecordBatch]:
    for b in batches:
        if ok[0]:
            try:
                acc.add(row_hash_matrix(b))
            except UnhashableColumn:
                ok[0] = False
        yield b


def ingest_keyed_batches(store: ObjectStore, snap: TableSnapshot, previous: Any = None,
                         progress: Optional[Progress] = None,
                         policy: CompactionPolicy = DEFAULT_POLICY) -> IngestedTable:
    """Store a snapshot's record batches: a delta on ``previous`` where it can be, else whole.

    The one entry point for batch snapshots (``PackageBuilder.add_snapshot`` calls it); without a
    key it is :func:`lakepkg.write.ingest.ingest_batches`, unchanged."""
    assert snap.batches is not None
    if not snap.key_columns:
        return ingest_batches(store, snap, progress=progress)
    params = snap.chunking or ChunkingParams()
    base = base_table(previous, snap, params)
    batches = iter(snap.batches)
    first: list[pa.RecordBatch] = []
    schema = snap.schema
    if base is not None and schema is None:  # the generic SQL path learns its schema from the first batch
        for b in batches:
            first.append(b)
            schema = b.schema
            break
        if schema is None or schema_to_json(base.schema) != schema_to_json(schema):
            base = None

    def replay() -> Iterator[pa.RecordBatch]:
        yield from first
        yield from batches

    acc = RowsDigest()
    if base is not None:
        index = LiveRowIndex.build(base)
        if index is not None:
            ing = _ingest_delta(store, snap, schema or base.schema, base, index, replay(), params, acc, progress, policy)
            snap.volatile["rows_digest"] = acc.digest()
            return ing
        log.info("table %s: previous rows have colliding hashes; snapshotted whole", snap.name)
    ok = [True]
    snap.batches = _with_digest(replay(), acc, ok)
    ing = ingest_batches(store, snap, progress=progress)
    if ok[0]:
        snap.volatile["rows_digest"] = acc.digest()
    return ing


def _ingest_delta(store: ObjectStore, snap: TableSnapshot, schema: pa.Schema, base: BaseTable, index: LiveRowIndex,
                  batches: Iterator[pa.RecordBatch], params: ChunkingParams, acc: RowsDigest,
                  progress: Optional[Progress], policy: CompactionPolicy) -> IngestedTable:
    name = snap.name
    key = list(snap.key_columns or [])
    stats = IngestStats()
    matched = np.zeros(len(index.h1), dtype=bool)
    names = schema.names
    seen = [0]

    def changed_rows() -> Iterator[pa.RecordBatch]:
        for b in batches:
            if b.num_rows == 0:
                continue
            m = row_hash_matrix(b, names)
            acc.add(m)
            w = hash_words(m, 2)
            hit = index.match(w[:, 0], w[:, 1], matched)
            seen[0] += b.num_rows
            if not hit.any():
                yield b
            elif not hit.all():
                yield b.filter(pa.array(~hit))

    kept: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    delta_rows = 0
    for t in cut(changed_rows(), schema, key, params):
        e = write_fragment(store, t, key="pending")
        e.key = f"part-{e.object[:24]}.parquet"
        new.append(e.to_json())
        stats.objects_written += 1
        stats.bytes_written += e.size
        delta_rows += t.num_rows
        if progress:
            progress(seen[0], stats.bytes_written)
    # the previous fragments: unchanged, with a (new) vector, or gone
    still = np.zeros(len(matched), dtype=bool)
    still[index.order] = matched
    vectors = dropped = 0
    for i, prev in enumerate(index.entries):
        sl = slice(int(index.offsets[i]), int(index.offsets[i + 1]))
        alive = index.pos[sl][still[sl]].astype(np.int64)
        if len(alive) == (prev.get("rows") or 0) and len(alive) == sl.stop - sl.start:
            kept.append(prev)
            continue
        if len(alive) == 0:
            dropped += 1
            continue
        phys = int(index.physical[i])
        mask = np.ones(phys, dtype=bool)
        mask[alive] = False
        kept.append(with_vector(store, prev, np.flatnonzero(mask), phys))
        vectors += 1
    entries = kept + new
    entries, compacted = compact_entries(store, entries, schema, key, params, name, policy)
    sorter = EntrySorter(f"table {name!r}")
    used: set[str] = set()
    total = 0
    for d in entries:
        d = _unique_key(d, used)
        sorter.add(Entry.from_json(d))
        total += d.get("rows") or 0
    if total != acc.count:
        raise IntegrityError(f"table {name!r}: the delta snapshot holds {total} rows but the source has {acc.count}; "
                             "this is a bug, re-run with LAKEPKG_DELTAS=0 and report it")
    snap.volatile["delta"] = {"base_fragments": len(index.entries), "changed_rows": delta_rows,
                              "new_fragments": len(new), "vectors_written": vectors, "fragments_dropped": dropped,
                              "fragments_compacted": compacted,
                              **({"row_hash_cache_rejected": index.cache_rejected} if index.cache_rejected else {})}
    facts = getattr(snap, "facts", None)
    if isinstance(facts, dict):  # the publish result's per-table facts
        facts["delta"] = dict(snap.volatile["delta"])
    log.info("table %s: delta on %d fragments: %d changed/new rows in %d fragment(s), %d vector(s), %d dropped, "
             "%d compacted", name, len(index.entries), delta_rows, len(new), vectors, dropped, compacted)
    return IngestedTable(snap, base.schema if snap.schema is None else snap.schema, sorter, [],
                         _writer(params, key), stats)


def _unique_key(d: dict[str, Any], used: set[str]) -> dict[str, Any]:
    k = d["key"]
    n = 0
    while k in used:
        n += 1
        k = d["key"][: -len(".parquet")] + f"-{n}.parquet" if d["key"].endswith(".parquet") else f"{d['key']}-{n}"
    used.add(k)
    return d if k == d["key"] else {**d, "key": k}


def _needs_compaction(entries: list[dict[str, Any]], params: ChunkingParams,
                      policy: CompactionPolicy) -> list[int]:
    chosen: set[int] = set()
    for i, e in enumerate(entries):
        dv = e.get("deletes")
        if dv:
            total = (e.get("rows") or 0) + dv["count"]
            if total and dv["count"] / total >= policy.max_deleted_share:
                chosen.add(i)
    small = [i for i, e in enumerate(entries) if (e.get("rows") or 0) < params.min_rows]
    if len(small) > policy.max_small_fragments:
        chosen.update(small)
    # the whole table: deleted rows a read still decodes, as a share of the rows stored
    dead = [int(e["deletes"]["count"]) if e.get("deletes") else 0 for e in entries]
    stored = sum((e.get("rows") or 0) for e in entries) + sum(dead)
    left = sum(d for i, d in enumerate(dead) if i not in chosen)
    stored_left = stored - (sum(dead) - left)
    if stored and left / stored_left > policy.max_table_deleted_share:
        def share(i: int) -> float:
            return dead[i] / ((entries[i].get("rows") or 0) + dead[i])

        worst = sorted((i for i, d in enumerate(dead) if d and i not in chosen),
                       key=lambda i: (-share(i), entries[i]["key"]))
        for i in worst:  # deterministic: by share, then key
            if stored_left and left / stored_left <= policy.table_target_share:
                break
            chosen.add(i)
            left -= dead[i]
            stored_left -= dead[i]
    return sorted(chosen)


def compact_entries(store: ObjectStore, entries: list[dict[str, Any]], schema: pa.Schema, key: list[str],
                    params: ChunkingParams, table: str, policy: CompactionPolicy = DEFAULT_POLICY,
                    force: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Rewrite the entries that pass the policy's thresholds (all with a vector or small ones when
    ``force``) into clean fragments: live rows, sorted by ``key`` (file order without one), cut by
    ``params``. Returns (entries, number of entries rewritten); deterministic."""
    if force:
        pick = [i for i, e in enumerate(entries)
                if e.get("deletes") or (e.get("rows") or 0) < params.min_rows]
        if len(pick) == 1 and not entries[pick[0]].get("deletes"):
            pick = []  # a lone small fragment is already as compact as it gets
    else:
        pick = _needs_compaction(entries, params, policy)
    if not pick:
        return entries, 0
    chosen = sorted((entries[i] for i in pick), key=lambda d: d["key"].encode("utf-8"))
    rest = [e for i, e in enumerate(entries) if i not in set(pick)]
    group_rows = policy.group_rows or 2 * params.max_rows
    out: list[dict[str, Any]] = []
    group: list[pa.Table] = []
    rows = 0

    def flush() -> None:
        nonlocal group, rows
        if not group:
            return
        t = pa.concat_tables(group)
        if key:
            t = t.sort_by([(k, "ascending") for k in key])
        for frag in cut(t.to_batches(), schema, key or None, params, fixed_rows=params.max_rows):
            e = write_fragment(store, frag, key="pending")
            e.key = f"part-{e.object[:24]}.parquet"
            out.append(e.to_json())
        group, rows = [], 0

    for e in chosen:
        t, mask = read_live(store, e, table)
        if mask is not None:
            t = t.filter(pa.array(mask))
        t = t.select(schema.names)
        group.append(t)
        rows += t.num_rows
        if rows >= group_rows:
            flush()
    flush()
    return rest + out, len(chosen)
