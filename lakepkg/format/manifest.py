"""The package format: leaves (entries), pages, table nodes and the root node.

Every node is an object in the store whose name is the SHA-256 of its bytes,
so a node's hash covers its metadata and, through the hashes it lists, its
children (a Merkle tree, as in git). docs/format.md is the normative text.

* Entry (leaf): one line of canonical JSON — a Parquet fragment or a file.
* Page: entries sorted by key, one per line. Pages are cut where
  ``sha256(key)`` ends in ``PAGE_MASK`` zero bits (content-defined), so an
  edit moves only nearby page boundaries and unchanged pages keep their hash.
* Table node: schema, partition columns, totals, provenance, metadata and the
  ordered page list.
* Root node: format version, metadata, tables (name → node hash) and the
  page list of the package's plain files. Its hash is the *top hash*.

Nothing here is read whole: a million-fragment table is ~4,000 pages, loaded
one at a time.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import marshal
import os
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.format.entry_json import canonical_line
from lakepkg.errors import IntegrityError, SchemaMismatchError
from lakepkg.format.names import checked_stored_key, checked_table_name, safe_key, validate_table_name
from lakepkg.format.objects import Objects

if TYPE_CHECKING:  # pyarrow is imported where a schema is (de)serialised: `lakepkg ls` starts without it
    import pyarrow as pa

FORMAT = "lakepkg/1"
PAGE_MASK = 0xFF        # average 256 entries per page
PAGE_MIN = 32
PAGE_MAX = 4096
SORT_BUFFER = 200_000   # entries held in memory before spilling a sorted run

PAGE_WRITERS = 8        # pages stored concurrently (a local store's fsyncs and S3's PUTs overlap)
PAGE_WRITES_AHEAD = 32  # pages handed to the writers and not yet stored (bounds the memory they hold)
RUN_CHUNK = 4096        # entries per record of a spilled run (what a merge holds per run)

_loads: Callable[[Any], Any]
try:  # orjson parses the same JSON faster
    import orjson as _orjson

    _loads = _orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

#: JSON bytes -> value, orjson's parser when installed (what page reads use)
parse_json: Callable[[Any], Any] = _loads

@dataclass
class Entry:
    """A leaf: a Parquet fragment of a table, or a plain file."""

    key: str
    object: str
    size: int
    kind: str = "fragment"            # "fragment" | "file"
    rows: Optional[int] = None
    partition: Optional[dict[str, Any]] = None
    stats: Optional[dict[str, dict[str, Any]]] = None  # column -> {"min","max","nulls"}
    meta: Optional[dict[str, Any]] = None
    deletes: Optional[dict[str, Any]] = None  # deletion vector {"object", "count", "size"} (docs/format.md)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "kind": self.kind, "object": self.object, "size": self.size}
        if self.deletes:
            d["deletes"] = self.deletes
        if self.rows is not None:
            d["rows"] = self.rows
        if self.partition:
            d["partition"] = self.partition
        if self.stats:
            d["stats"] = self.stats
        if self.meta:
            d["meta"] = self.meta
        return d

    def line(self) -> bytes:
        """The entry's page line: its canonical JSON and a newline (:mod:`lakepkg.format.entry_json`)."""
        return canonical_line(self.to_json())

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Entry":
        try:
            return cls(key=checked_stored_key(d["key"], "a manifest entry"), object=d["object"], size=d["size"],
                       kind=d.get("kind", "fragment"),
                       rows=d.get("rows"), partition=d.get("partition"), stats=d.get("stats"), meta=d.get("meta"),
                       deletes=d.get("deletes"))
        except (KeyError, TypeError) as exc:
            raise IntegrityError(f"malformed manifest entry (missing {exc}); the manifest is corrupt, run `lakepkg verify`") from None


@dataclass(frozen=True)
class PageRef:
    """A page as its parent lists it."""

    hash: str
    first: str
    last: str
    entries: int
    rows: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"hash": self.hash, "first": self.first, "last": self.last,
                "entries": self.entries, "rows": self.rows, "bytes": self.bytes}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "PageRef":
        try:
            return cls(d["hash"], d["first"], d["last"], d["entries"], d["rows"], d["bytes"])
        except (KeyError, TypeError) as exc:
            raise IntegrityError(f"malformed page reference in manifest ({exc})") from None


def is_boundary(key: str) -> bool:
    """True when a page may end after ``key`` (content-defined cut)."""
    return (hashlib.sha256(key.encode("utf-8")).digest()[-1] & PAGE_MASK) == 0


class EntrySorter:
    """Collects entries in any order and yields them sorted by key, with bounded memory.

    Entries are kept as (UTF-8 key, line, rows, size) tuples; past ``SORT_BUFFER`` of them a
    sorted run is spilled to a temporary file (records of ``RUN_CHUNK`` tuples, :mod:`marshal`:
    read back without parsing the lines again) and the runs are merged at the end.
    Duplicate keys are an error (two leaves cannot share a logical key).
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._buf: list[tuple[bytes, bytes, int, int]] = []  # UTF-8 key, line, rows, size
        self._runs: list[str] = []
        self.count = 0

    def add(self, entry: Entry) -> None:
        self._buf.append((entry.key.encode("utf-8"), entry.line(), entry.rows or 0, entry.size))
        self.count += 1
        if len(self._buf) >= SORT_BUFFER:
            self._spill()

    def add_line(self, key: str, line: bytes) -> None:
        d = _loads(line)
        self._buf.append((key.encode("utf-8"), line, d.get("rows") or 0, d["size"]))
        self.count += 1
        if len(self._buf) >= SORT_BUFFER:
            self._spill()

    def _sort(self) -> None:
        self._buf.sort(key=itemgetter(0))

    def _spill(self) -> None:
        self._sort()
        fd, path = tempfile.mkstemp(prefix="lakepkg-run-", suffix=".bin")
        try:
            with os.fdopen(fd, "wb") as f:
                for i in range(0, len(self._buf), RUN_CHUNK):
                    marshal.dump(self._buf[i:i + RUN_CHUNK], f)
        except BaseException:
            os.unlink(path)
            raise
        self._runs.append(path)
        self._buf = []

    @staticmethod
    def _read_run(path: str) -> Iterator[tuple[bytes, bytes, int, int]]:
        try:
            with open(path, "rb") as f:
                while True:
                    try:
                        chunk = marshal.load(f)
                    except EOFError:
                        break
                    yield from chunk
        finally:
            os.unlink(path)

    def sorted_raw(self) -> Iterator[tuple[bytes, bytes, int, int]]:
        """(UTF-8 key, line, rows, size) in key order; duplicate keys are an error."""
        self._sort()
        items: Iterable[tuple[bytes, bytes, int, int]]
        if not self._runs:
            items = self._buf
        else:  # tuples order by their unique first item, the key
            items = heapq.merge(self._buf, *[self._read_run(p) for p in self._runs])
        prev: Optional[bytes] = None
        for item in items:
            kb = item[0]
            if kb == prev:
                raise IntegrityError(f"two leaves of {self.what} share the key {kb.decode()!r}; keys must be unique")
            prev = kb
            yield item
        self._buf = []
        self._runs = []

    def sorted_entries(self) -> Iterator[tuple[str, bytes, int, int]]:
        """(key, line, rows, size) in key order; duplicate keys are an error."""
        for kb, line, rows, size in self.sorted_raw():
            yield kb.decode("utf-8"), line, rows, size


class _PageWriter:
    """Stores pages in order of submission, up to ``PAGE_WRITERS`` at a time (threads: a local
    store's write + fsync and an S3 PUT release the GIL), at most ``PAGE_WRITES_AHEAD`` pending.
    The first page is stored in the calling thread: a one-page table starts no thread."""

    def __init__(self, store: Objects) -> None:
        self.store = store
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: deque[tuple[Future[str], tuple[str, str, int, int, int]]] = deque()
        self.pages: list[PageRef] = []

    def put(self, data: bytes, first: str, last: str, entries: int, rows: int, nbytes: int) -> None:
        if self._pool is None and not self.pages:
            self.pages.append(PageRef(self.store.put_bytes(data), first, last, entries, rows, nbytes))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(PAGE_WRITERS, thread_name_prefix="lakepkg-pages")
        self._pending.append((self._pool.submit(self.store.put_bytes, data), (first, last, entries, rows, nbytes)))
        while len(self._pending) > PAGE_WRITES_AHEAD:
            self._settle_one()

    def _settle_one(self) -> None:
        fut, (first, last, entries, rows, nbytes) = self._pending.popleft()
        self.pages.append(PageRef(fut.result(), first, last, entries, rows, nbytes))

    def finish(self) -> list[PageRef]:
        try:
            while self._pending:
                self._settle_one()
        finally:
            self.close()
        return self.pages

    def close(self) -> None:
        if self._pool is not None:
            for fut, _ in self._pending:
                fut.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None


def write_pages(store: Objects, lines: Iterable[tuple[str, bytes, int, int]]) -> tuple[list[PageRef], int, int]:
    """Cut sorted (key, line, rows, size) entries into pages, store them; return (pages, rows, bytes)."""
    return _write_pages_raw(store, ((k.encode("utf-8"), line, r, z) for k, line, r, z in lines))


def _write_pages_raw(store: Objects, lines: Iterable[tuple[bytes, bytes, int, int]]) -> tuple[list[PageRef], int, int]:
    """:func:`write_pages` over UTF-8 keys (what :meth:`EntrySorter.sorted_raw` yields)."""
    writer = _PageWriter(store)
    buf: list[bytes] = []
    first = b""
    rows = nbytes = total_rows = total_bytes = 0
    sha256 = hashlib.sha256
    try:
        for kb, line, r, size in lines:
            if not buf:
                first = kb
            buf.append(line)
            rows += r
            nbytes += size
            n = len(buf)
            if n >= PAGE_MAX or (n >= PAGE_MIN and (sha256(kb).digest()[-1] & PAGE_MASK) == 0):
                writer.put(b"".join(buf), first.decode("utf-8"), kb.decode("utf-8"), n, rows, nbytes)
                total_rows += rows
                total_bytes += nbytes
                buf, rows, nbytes = [], 0, 0
        if buf:
            writer.put(b"".join(buf), first.decode("utf-8"), kb.decode("utf-8"), len(buf), rows, nbytes)
            total_rows += rows
            total_bytes += nbytes
        return writer.finish(), total_rows, total_bytes
    finally:
        writer.close()


def page_entries(data: bytes, page: PageRef) -> list[Any]:
    """Parse a page's lines in one call (a JSON array of them): lines never hold a raw newline."""
    if not data:
        return []
    n = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    body = data[:-1] if data.endswith(b"\n") else data
    try:
        out = _loads(b"[" + body.replace(b"\n", b",") + b"]")
    except (ValueError, TypeError):
        out = None
    if not isinstance(out, list) or len(out) != n:
        raise IntegrityError(f"page {page.hash[:12]} holds a line that is not JSON; the manifest is corrupt")
    return out


def read_page(store: Objects, page: PageRef, verify: bool = True) -> list[Entry]:
    """Load one page's entries (hash-checked by default)."""
    out = []
    for d in page_entries(store.get_bytes(page.hash, verify=verify), page):
        if not isinstance(d, dict):
            raise IntegrityError(f"page {page.hash[:12]} holds a line that is not an entry; the manifest is corrupt")
        out.append(Entry.from_json(d))
    return out


def read_page_raw(store: Objects, page: PageRef, verify: bool = True) -> list[dict[str, Any]]:
    """Load one page as plain dicts (faster than :func:`read_page` for scans)."""
    return page_entries(store.get_bytes(page.hash, verify=verify), page)


@dataclass
class TableNodeData:
    """A table node as stored (the hashed content)."""

    name: str
    schema: pa.Schema
    partition_columns: list[str]
    pages: list[PageRef]
    rows: int
    bytes: int
    fragments: int
    provenance: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    writer: Optional[dict[str, Any]] = None

    def to_json(self) -> dict[str, Any]:
        from lakepkg.format.schema_json import schema_to_json

        d: dict[str, Any] = {
            "kind": "table", "name": self.name, "schema": schema_to_json(self.schema),
            "partition_columns": self.partition_columns, "rows": self.rows, "bytes": self.bytes,
            "fragments": self.fragments, "provenance": self.provenance, "meta": self.meta,
            "pages": [p.to_json() for p in self.pages],
        }
        if self.writer:
            d["writer"] = self.writer
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TableNodeData":
        if d.get("kind") != "table":
            raise IntegrityError(f"object is not a table node (kind={d.get('kind')!r})")
        from lakepkg.format.schema_json import schema_from_json

        try:
            return cls(
                name=checked_table_name(d["name"]), schema=schema_from_json(d["schema"]), partition_columns=list(d["partition_columns"]),
                pages=[PageRef.from_json(p) for p in d["pages"]], rows=d["rows"], bytes=d["bytes"],
                fragments=d["fragments"], provenance=d.get("provenance") or {}, meta=d.get("meta") or {},
                writer=d.get("writer"),
            )
        except KeyError as exc:
            raise IntegrityError(f"table node is missing {exc}; the manifest is corrupt") from None


@dataclass
class RootNodeData:
    """The root node (its hash is the top hash)."""

    tables: dict[str, str]                 # table name -> table node hash
    files: list[PageRef]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": "package", "meta": self.meta,
                "tables": [{"name": n, "hash": h} for n, h in sorted(self.tables.items())],
                "files": [p.to_json() for p in self.files]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "RootNodeData":
        if d.get("kind") != "package":
            raise IntegrityError(f"object is not a package root (kind={d.get('kind')!r}); check the top hash")
        if d.get("format") != FORMAT:
            raise IntegrityError(f"package format {d.get('format')!r} is not supported by this lakepkg ({FORMAT}); upgrade lakepkg")
        try:
            return cls(tables={checked_table_name(t["name"]): t["hash"] for t in d["tables"]},
                       files=[PageRef.from_json(p) for p in d["files"]], meta=d.get("meta") or {})
        except (KeyError, TypeError) as exc:
            raise IntegrityError(f"package root is malformed ({exc}); the manifest is corrupt") from None


def store_node(store: Objects, node: "TableNodeData | RootNodeData") -> str:
    """Store a node as canonical JSON; its hash is the object's name."""
    return store.put_bytes(canonical_json(node.to_json()))


def load_table_node(store: Objects, digest: str) -> TableNodeData:
    return TableNodeData.from_json(load_json(store.get_bytes(digest, verify=True), f"table node {digest[:12]}"))


def load_root(store: Objects, top_hash: str) -> RootNodeData:
    return RootNodeData.from_json(load_json(store.get_bytes(top_hash, verify=True), f"package root {top_hash[:12]}"))


def build_table_node(
    store: Objects,
    name: str,
    schema: pa.Schema,
    sorter: EntrySorter,
    partition_columns: Optional[list[str]] = None,
    provenance: Optional[dict[str, Any]] = None,
    meta: Optional[dict[str, Any]] = None,
    writer: Optional[dict[str, Any]] = None,
) -> tuple[str, TableNodeData]:
    """Write the pages and node of one table; return (node hash, node)."""
    validate_table_name(name)
    pcols = list(partition_columns or [])
    for c in pcols:
        if c not in schema.names:
            raise SchemaMismatchError(f"partition column {c!r} of table {name!r} is not in its schema")
    pages, rows, nbytes = _write_pages_raw(store, sorter.sorted_raw())
    node = TableNodeData(name=name, schema=schema, partition_columns=pcols, pages=pages, rows=rows,
                         bytes=nbytes, fragments=sorter.count, provenance=provenance or {}, meta=meta or {},
                         writer=writer)
    return store_node(store, node), node


def checked_key(key: str) -> str:
    """Logical keys are normalised POSIX paths that stay inside their node."""
    return safe_key(key)
