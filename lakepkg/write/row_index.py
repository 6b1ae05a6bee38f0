"""The index of a previous table's live rows that a delta re-snapshot matches the source against.

Each live row of the previous version is known by the first 128 bits of its SHA-256
(:mod:`lakepkg.format.row_identity`; two uint64 words, 24 bytes a row with its position and sort
order). Fragments are read one at a time, or their hashes come from the local cache
(:mod:`lakepkg.write.row_hash_cache`). While it is built, the full 256-bit hashes of the live rows
are summed into a ``rows-v2`` digest: when the previous version's record holds a ``rows-v2`` digest
and the cached hashes do not add up to it, the cache is not trusted and the index is built again
from the fragments alone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pyarrow as pa

from lakepkg.format.deletion_vector import live_mask
from lakepkg.format.manifest import TableNodeData
from lakepkg.format.row_identity import hash_words, row_hash_matrix
from lakepkg.format.rows_digest import DIGEST_VERSION, RowsDigest
from lakepkg.format.walk import table_entries
from lakepkg.read.arrow_scan import read_stored
from lakepkg.store.base import ObjectStore
from lakepkg.write.row_hash_cache import RowHashCache, cache_identity

log = logging.getLogger("lakepkg.deltas")


@dataclass
class BaseTable:
    """The previous version's table a delta builds on: its store, node, name and recorded digest."""

    store: ObjectStore
    node: TableNodeData
    name: str
    rows_digest: Optional[str] = None

    @property
    def schema(self) -> pa.Schema:
        return self.node.schema


@dataclass
class LiveRowIndex:
    """128-bit hashes of a previous table's live rows, sorted by their first word."""

    entries: list[dict[str, Any]]
    physical: np.ndarray        # rows in each entry's Parquet file
    offsets: np.ndarray         # start of each entry's live rows in the unsorted arrays
    pos: np.ndarray             # position of each live row in its file (unsorted order)
    order: np.ndarray           # argsort of h1
    h1: np.ndarray              # sorted
    h2: np.ndarray              # in the same (sorted) order
    cache_rejected: int = 0     # cache files found and not trusted

    @classmethod
    def build(cls, table: BaseTable) -> "Optional[LiveRowIndex]":
        """The index, or None when two live rows share a 128-bit hash (equal rows: no key can be unique)."""
        cache = RowHashCache()
        got = cls._build(table, cache if cache.root is not None else None)
        if got is None:
            return None
        index, digest = got
        want = table.rows_digest
        if (cache.root is not None and want is not None and want.startswith(DIGEST_VERSION + ":")
                and digest != want):
            log.warning("table %s: the cached row hashes do not add up to the previous version's rows digest; "
                        "rebuilding the index from the fragments", table.name)
            got = cls._build(table, None)
            if got is None:
                return None
            index, digest = got
            index.cache_rejected = max(cache.rejected, 1)
        return index

    @classmethod
    def _build(cls, table: BaseTable, cache: Optional[RowHashCache]) -> "Optional[tuple[LiveRowIndex, str]]":
        store = table.store
        entries = list(table_entries(store, table.node))
        h1s, h2s, poss, phys = [], [], [], []
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        schema = table.schema
        names = schema.names
        acc = RowsDigest()
        for i, e in enumerate(entries):
            n_phys = int(e.get("rows") or 0) + int((e.get("deletes") or {}).get("count", 0))
            ident = cache_identity(e["object"], schema, names) if cache is not None else ""
            hashes = cache.get(ident, e["object"], n_phys) if cache is not None else None
            if hashes is None:
                t = read_stored(store, e, table.name)  # the one reader: hashed before first use
                hashes = row_hash_matrix(t, names)
                n_phys = t.num_rows
                del t
                if cache is not None:
                    cache.put(ident, e["object"], hashes)
            mask = live_mask(store, e, n_phys, table.name)
            p = np.arange(n_phys, dtype=np.int64) if mask is None else np.flatnonzero(mask)
            live = hashes if mask is None else hashes[p]
            acc.add(live)
            w = hash_words(live, 2)
            h1s.append(w[:, 0].copy())
            h2s.append(w[:, 1].copy())
            poss.append(p.astype(np.uint32))
            phys.append(n_phys)
            offsets[i + 1] = offsets[i] + len(p)
            del hashes, live, w
        h1 = np.concatenate(h1s) if h1s else np.zeros(0, np.uint64)
        h2 = np.concatenate(h2s) if h2s else np.zeros(0, np.uint64)
        pos = np.concatenate(poss) if poss else np.zeros(0, np.uint32)
        del h1s, h2s, poss
        order = np.lexsort((h2, h1))
        h1 = h1[order]
        h2 = h2[order]
        if len(h1) > 1 and bool(((h1[1:] == h1[:-1]) & (h2[1:] == h2[:-1])).any()):
            return None
        index = cls(entries, np.asarray(phys, dtype=np.int64), offsets, pos, order, h1, h2,
                    cache.rejected if cache is not None else 0)
        return index, acc.digest()

    def match(self, a: np.ndarray, b: np.ndarray, matched: np.ndarray) -> np.ndarray:
        """Mark the live rows whose 128-bit hash is ``(a, b)``; returns the mask of rows that matched."""
        n = len(self.h1)
        if n == 0 or len(a) == 0:
            return np.zeros(len(a), dtype=bool)
        hit = np.zeros(len(a), dtype=bool)
        idx = np.searchsorted(self.h1, a)
        # rows sharing a first word are adjacent and sorted by the second: walk them
        for _ in range(64):
            j = np.minimum(idx, n - 1)
            live = ~hit & (idx < n) & (self.h1[j] == a)
            if not live.any():
                break
            ok = live & (self.h2[j] == b) & ~matched[j]
            matched[j[ok]] = True
            hit |= ok
            idx = idx + 1
        return hit
