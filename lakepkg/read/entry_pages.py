"""Pages of a table's (or the files') entries without reading the whole manifest.

A manifest lists its pages with their entry and row counts and first/last keys
(:class:`~lakepkg.format.manifest.PageRef`), so a screen of entries — entries 5,000
to 5,050, the entry with key K, the entries from key K on — costs one or two page
reads, whatever the table's size. The catalog (``lakepkg catalog``) reads big
packages through these::

    entry_slice(store, node.pages, offset=5000, limit=50)   # entries 5,000..5,049
    find_entry(store, node.pages, "ds=2026-11-01/part-0.parquet")
    entries_from(store, node, "ds=2026-11-01/part-0.parquet", filters)  # pruned, key order
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Optional, Sequence

from lakepkg.format.manifest import PageRef, TableNodeData, read_page_raw
from lakepkg.read.filters import Filter
from lakepkg.read.scan import pruned_entries
from lakepkg.store.base import ObjectStore


def _bkey(key: str) -> bytes:
    return key.encode("utf-8")  # entries are sorted by the UTF-8 bytes of their keys


def entry_slice(store: ObjectStore, pages: Sequence[PageRef], offset: int, limit: int) -> list[dict[str, Any]]:
    """Entries ``offset`` to ``offset + limit - 1`` (key order), reading only the pages that hold them."""
    out: list[dict[str, Any]] = []
    if limit <= 0 or offset < 0:
        return out
    start = 0
    for page in pages:
        end = start + page.entries
        if end > offset:
            entries = read_page_raw(store, page)
            lo = max(0, offset - start)
            out.extend(entries[lo:lo + (limit - len(out))])
            if len(out) >= limit:
                break
        start = end
    return out


def page_index(pages: Sequence[PageRef], key: str) -> int:
    """The index of the page that holds ``key`` or would hold it (``len(pages)`` past the end)."""
    k = _bkey(key)
    lo, hi = 0, len(pages)
    while lo < hi:  # first page whose last key is >= key
        mid = (lo + hi) // 2
        if _bkey(pages[mid].last) < k:
            lo = mid + 1
        else:
            hi = mid
    return lo


def find_entry(store: ObjectStore, pages: Sequence[PageRef], key: str) -> Optional[dict[str, Any]]:
    """The entry with ``key`` (one page read), or None."""
    i = page_index(pages, key)
    if i >= len(pages) or _bkey(pages[i].first) > _bkey(key):
        return None
    for d in read_page_raw(store, pages[i]):
        if d.get("key") == key:
            return d
    return None


def entries_from(store: ObjectStore, node: TableNodeData, key: Optional[str] = None,
                 filters: Optional[Filter] = None) -> Iterator[dict[str, Any]]:
    """The entries of ``node`` with a key at or after ``key`` (all when None) that partition values and
    statistics do not rule out for ``filters`` (the read plan's pruning), read one page at a time
    from the page that holds ``key``."""
    start = 0 if key is None else page_index(node.pages, key)
    sub = dataclasses.replace(node, pages=list(node.pages[start:]))
    k = None if key is None else _bkey(key)
    for d in pruned_entries(store, sub, filters):
        if k is None or _bkey(d["key"]) >= k:
            yield d


def entry_count(pages: Sequence[PageRef]) -> int:
    """How many entries the pages list (from the page references alone)."""
    return sum(p.entries for p in pages)
