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

import re
from typing import Any, Iterable, Iterator, NamedTuple, Optional

from lakepkg.format.manifest import PageRef, TableNodeData, load_root, load_table_node, page_entries, read_page_raw
from lakepkg.format.objects import Objects


class WalkItem(NamedTuple):
    """One step of a walk: a node, a page, or an entry (fragment or plain file). (A named tuple:
    a walk of a million entries makes a million of them.)"""

    kind: str                                  # "root", "table", "page", "entry" or "vector"
    digest: str                                # object hash of the node / page / entry's data
    table: Optional[str] = None                # table name; None for the root and the package's files
    entry: Optional[dict[str, Any]] = None     # kind "entry": the entry as stored in its page
    node: Optional[TableNodeData] = None       # kind "table": the decoded table node


_OBJECT = b'"object":"'
_HEX_QUOTED = re.compile(rb'(?:[0-9a-f]{64}")*')


def page_objects(store: Objects, page: PageRef) -> list[str]:
    """The object of every entry of one page, without decoding the entries: each canonical line
    holds its own ``"object":"<sha256>"`` once; when the pattern occurs any other number of times
    (a partition or meta value that looks the same, or a deletion vector's ``"object"``) the page
    is decoded in full instead."""
    return page_objects_and_vectors(store, page)[0]


def page_objects_and_vectors(store: Objects, page: PageRef) -> tuple[list[str], list[str]]:
    """(the object of every entry, the deletion-vector objects) of one page (see :func:`page_objects`;
    a page with a vector always takes the decoding path, since its line names two objects)."""
    data = store.get_bytes(page.hash, verify=True)
    parts = data.split(_OBJECT)
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    if len(parts) - 1 == lines:
        found = [p[:65] for p in parts[1:]]
        joined = b"".join(found)
        if len(joined) == 65 * len(found) and _HEX_QUOTED.fullmatch(joined):
            return [f[:64].decode("ascii") for f in found], []
    entries = read_page_raw(store, page)
    return [d["object"] for d in entries], [d["deletes"]["object"] for d in entries if d.get("deletes")]


PREFETCH = 16  # pages of a remote store fetched ahead of the reader (threads: each GET waits on the network)


def page_bytes(store: Objects, pages: Iterable[PageRef]) -> Iterator[tuple[PageRef, bytes]]:
    """Each page with its bytes (hash-checked), in order. From a store that is not a local folder
    (S3) up to ``PREFETCH`` pages are fetched ahead in threads, so a scan of 35,000 pages waits
    on the network about 35,000 / PREFETCH times, not 35,000."""
    local_root = getattr(store, "local_root", None)
    if local_root is None or local_root() is not None:
        for page in pages:
            yield page, store.get_bytes(page.hash, verify=True)
        return
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    it = iter(pages)
    ahead: deque[tuple[PageRef, Future[bytes]]] = deque()
    with ThreadPoolExecutor(PREFETCH, thread_name_prefix="lakepkg-prefetch") as pool:
        try:
            for page in it:
                ahead.append((page, pool.submit(store.get_bytes, page.hash, True)))
                if len(ahead) >= PREFETCH:
                    first, fut = ahead.popleft()
                    yield first, fut.result()
            while ahead:
                first, fut = ahead.popleft()
                yield first, fut.result()
        finally:
            for _page, fut in ahead:
                fut.cancel()


def iter_page_entries(store: Objects, pages: Iterable[PageRef]) -> Iterator[dict[str, Any]]:
    """The entries of ``pages``, in key order, a page (or, from S3, ``PREFETCH`` pages) in memory at a time."""
    for page, data in page_bytes(store, pages):
        yield from page_entries(data, page)


def walk(store: Objects, top_hash: str, *, tables: Optional[Iterable[str]] = None,
         files: bool = True, entries: bool = True, entry_dicts: bool = True) -> Iterator[WalkItem]:
    """Walk the version ``top_hash``: the root, the package's files, then each table (name order).

    ``tables``: only these tables; ``files``: include the package's plain files; ``entries``: False
    stops at pages (nodes and pages only, no entry reads beyond what a page read gives);
    ``entry_dicts``: False gives entry items with their object only (``entry`` None), read without
    decoding the entries' JSON (for walks that only need the objects: publish's confirmation)."""
    read = _entries if entry_dicts else _objects
    yield WalkItem("root", top_hash)
    root = load_root(store, top_hash)
    if files:
        for page in root.files:
            yield WalkItem("page", page.hash)
            if entries:
                yield from read(store, page, None)
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
                yield from read(store, page, name)


def _entries(store: Objects, page: PageRef, table: Optional[str]) -> Iterator[WalkItem]:
    for d in read_page_raw(store, page):
        yield WalkItem("entry", d["object"], table, d)
        if d.get("deletes"):  # the fragment's deletion vector (docs/format.md)
            yield WalkItem("vector", d["deletes"]["object"], table, d)


def _objects(store: Objects, page: PageRef, table: Optional[str]) -> Iterator[WalkItem]:
    objects, vectors = page_objects_and_vectors(store, page)
    for digest in objects:
        yield WalkItem("entry", digest, table)
    for digest in vectors:
        yield WalkItem("vector", digest, table)


def table_entries(store: Objects, node: TableNodeData) -> Iterator[dict[str, Any]]:
    """Every entry of one table node, in key order."""
    return iter_page_entries(store, node.pages)
