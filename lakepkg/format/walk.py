"""The one walk over a package manifest: root → tables → pages → entries.

Every module that needs the objects or entries of a version (verify, transfer,
gc, diff, the builder's incremental reuse, the read plan) walks through here
instead of reading nodes and pages by hand::

    for item in walk(store, top_hash):
        item.kind      # "root" | "table" | "page" | "entry" | "vector" (an entry's deletion vector)
        item.digest    # the object this item is stored under
        item.table     # the table name (None for the root and the package's files)
        item.entry     # the entry as a dict (kind "entry" only)

``walk`` reads one page at a time (bounded memory) and every node and page it
reads is hash-checked by :mod:`lakepkg.format.manifest`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from lakepkg.format.manifest import PageRef, TableNodeData, load_root, load_table_node, read_page_raw
from lakepkg.store.base import ObjectStore


@dataclass(frozen=True)
class WalkItem:
    """One step of a walk: a node, a page, or an entry (fragment or plain file)."""

    kind: str                                  # "root", "table", "page", "entry" or "vector"
    digest: str                                # object hash of the node / page / entry's data
    table: Optional[str] = None                # table name; None for the root and the package's files
    entry: Optional[dict[str, Any]] = None     # kind "entry": the entry as stored in its page
    node: Optional[TableNodeData] = None       # kind "table": the decoded table node


def iter_page_entries(store: ObjectStore, pages: Iterable[PageRef]) -> Iterator[dict[str, Any]]:
    """The entries of ``pages``, in key order, one page in memory at a time."""
    for page in pages:
        yield from read_page_raw(store, page)


def walk(store: ObjectStore, top_hash: str, *, tables: Optional[Iterable[str]] = None,
         files: bool = True, entries: bool = True) -> Iterator[WalkItem]:
    """Walk the version ``top_hash``: the root, the package's files, then each table (name order).

    ``tables``: only these tables; ``files``: include the package's plain files; ``entries``: False
    stops at pages (nodes and pages only, no entry reads beyond what a page read gives)."""
    yield WalkItem("root", top_hash)
    root = load_root(store, top_hash)
    if files:
        for page in root.files:
            yield WalkItem("page", page.hash)
            if entries:
                for d in read_page_raw(store, page):
                    yield WalkItem("entry", d["object"], None, d)
    wanted = None if tables is None else set(tables)
    for name in sorted(root.tables):
        if wanted is not None and name not in wanted:
            continue
        h = root.tables[name]
        node = load_table_node(store, h)
        yield WalkItem("table", h, name, node=node)
        for page in node.pages:
            yield WalkItem("page", page.hash, name)
            if entries:
                for d in read_page_raw(store, page):
                    yield WalkItem("entry", d["object"], name, d)
                    if d.get("deletes"):  # the fragment's deletion vector (docs/format.md)
                        yield WalkItem("vector", d["deletes"]["object"], name, d)


def table_entries(store: ObjectStore, node: TableNodeData) -> Iterator[dict[str, Any]]:
    """Every entry of one table node, in key order."""
    return iter_page_entries(store, node.pages)
