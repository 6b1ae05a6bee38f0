"""Differences between two package versions, skipping identical subtrees by hash.

Tables with equal node hashes are skipped whole; inside a changed table, pages
with equal hashes are skipped and only the differing pages are read, so the
cost follows the change, not the package.

This module works on the manifest (nodes, pages, entries) of two loaded
versions and imports nothing of the reading API above it: ``Package.diff``
and ``lakepkg.diff(old, new)`` (in :mod:`lakepkg.read.package`) call it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Protocol

import pyarrow as pa

from lakepkg.errors import IntegrityError
from lakepkg.format.manifest import PageRef, RootNodeData, TableNodeData, parse_json
from lakepkg.format.walk import iter_page_entries, page_bytes
from lakepkg.read.html import card, facts, grid
from lakepkg.store.base import ObjectStore

_loads = parse_json


class TableLike(Protocol):
    """What a diff needs of a table (a loaded :class:`lakepkg.read.package.Table`)."""

    name: str
    hash: str
    store: ObjectStore
    node: TableNodeData

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def partition_columns(self) -> list[str]: ...


class PackageLike(Protocol):
    """What a diff needs of a version (a loaded :class:`lakepkg.read.package.Package`)."""

    top_hash: str
    store: ObjectStore
    root: RootNodeData

    @property
    def meta(self) -> dict[str, Any]: ...

    @property
    def tables(self) -> list[str]: ...

    def table(self, name: str) -> Any: ...


@dataclass
class TableDiff:
    name: str
    status: str                                    # added | removed | changed
    fragments_added: list[str] = field(default_factory=list)
    fragments_removed: list[str] = field(default_factory=list)
    fragments_changed: list[str] = field(default_factory=list)
    partitions_added: list[str] = field(default_factory=list)
    partitions_removed: list[str] = field(default_factory=list)
    partitions_changed: list[str] = field(default_factory=list)
    schema_changed: bool = False
    metadata_changed: bool = False
    pages_compared: int = 0
    pages_skipped: int = 0
    same_rows: Optional[bool] = None              # rows digests equal: same rows, different layout
    same_rows_legacy: bool = False                # ...by rows-v1 digests (a checksum, not collision resistant)
    #: what changed besides fragments, one line each: ``schema: +col x``, ``meta.owner: 'a' → 'b'``,
    #: ``provenance.query: …``, ``totals: rows 3 → 4``, ``writer settings``, ``page layout (same entries)``
    changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def summary(self) -> str:
        """``orders: changed, +2 -1 ~3 fragments``."""
        if self.status != "changed":
            return f"{self.name}: {self.status}"
        bits = [f"+{len(self.fragments_added)} -{len(self.fragments_removed)} ~{len(self.fragments_changed)} fragments"]
        bits += self.changes
        return f"{self.name}: changed, {', '.join(bits)}"

    def __repr__(self) -> str:
        return f"<TableDiff {self.summary}>"


@dataclass
class PackageDiff:
    old: str
    new: str
    tables: list[TableDiff] = field(default_factory=list)
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    metadata_changed: bool = False
    merge: Optional[dict[str, Any]] = None  # the new version's merge field when it is a merge
    #: what changed besides tables and files, one line each: ``message: 'a' → 'b'``,
    #: ``meta.owner: 'a' → 'b'``, ``sources of orders``, ``tags: prod moves to the new version``
    changes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tables or self.files_added or self.files_removed or self.files_changed or self.metadata_changed)

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "identical": self.empty,
                "tables": [t.to_json() for t in self.tables], "files_added": self.files_added,
                "files_removed": self.files_removed, "files_changed": self.files_changed,
                "metadata_changed": self.metadata_changed, "changes": self.changes,
                **({"merge": self.merge} if self.merge else {})}

    @property
    def summary(self) -> str:
        """One line: ``identical`` or what changed, table by table."""
        if self.empty:
            return "identical" + (f" content ({'; '.join(self.changes)})" if self.changes else "")
        parts = [t.summary for t in self.tables]
        if self.files_added or self.files_removed or self.files_changed:
            parts.append(f"files: +{len(self.files_added)} -{len(self.files_removed)} ~{len(self.files_changed)}")
        parts += self.changes
        return "; ".join(parts)

    def __repr__(self) -> str:
        return f"<PackageDiff {self.old[:10]}..{self.new[:10]}: {self.summary}>"

    def _repr_html_(self) -> str:
        head = facts([("old", self.old), ("new", self.new), ("identical", "yes" if self.empty else "no"),
                      ("package metadata changed", "yes" if self.metadata_changed else "")])
        rows = [(t.name, t.status, len(t.fragments_added), len(t.fragments_removed), len(t.fragments_changed),
                 ", ".join(t.partitions_added), ", ".join(t.partitions_removed), ", ".join(t.partitions_changed),
                 "yes" if t.schema_changed else "", "yes" if t.metadata_changed else "",
                 f"{t.pages_compared} read / {t.pages_skipped} skipped") for t in self.tables]
        tables = grid(["table", "status", "+frag", "-frag", "~frag", "+partitions", "-partitions", "~partitions",
                       "schema", "metadata", "pages"], rows) if rows else ""
        files = grid(["file", "change"], [(k, "added") for k in self.files_added]
                     + [(k, "removed") for k in self.files_removed]
                     + [(k, "changed") for k in self.files_changed]) if not self.empty else ""
        return card(f"Diff {self.old[:10]} → {self.new[:10]}: {self.summary}", head, tables, files)


Diff = PackageDiff  # the name the Python API documents (``pkg.diff(other)`` returns one)


def _part_label(d: dict[str, Any], cols: list[str]) -> str:
    p = d.get("partition") or {}
    return "/".join(f"{c}={p.get(c)}" for c in cols) if cols else ""


Pair = tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]
_KEY = b'{"key":"'


def _page_lines(store: ObjectStore, pages: list[PageRef], skip: set[str]) -> Iterator[tuple[bytes, bytes]]:
    """(UTF-8 key, line) of every entry of ``pages`` not in ``skip``, without decoding the lines:
    a canonical line without a deletion vector starts with its key (``{"key":"…"``); any other
    line (an escaped key, a vector) is decoded for its key."""
    for page, data in page_bytes(store, (p for p in pages if p.hash not in skip)):
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        for line in lines:
            if line.startswith(_KEY):
                end = line.find(b'"', 8)
                kb = line[8:end]
                if end > 0 and b"\\" not in kb:
                    yield kb, line
                    continue
            yield _decoded_key(line, page), line


def _decoded_key(line: bytes, page: PageRef) -> bytes:
    d = _decode(line, page)
    try:
        return str(d["key"]).encode("utf-8")
    except (KeyError, TypeError):
        raise IntegrityError(f"page {page.hash[:12]} holds an entry without a key; the manifest is corrupt") from None


def _decode(line: bytes, page: Optional[PageRef] = None) -> dict[str, Any]:
    try:
        d = _loads(line)
    except ValueError:
        d = None
    if not isinstance(d, dict):
        where = f"page {page.hash[:12]}" if page is not None else "a page"
        raise IntegrityError(f"{where} holds a line that is not an entry; the manifest is corrupt")
    return d


def _merge_pages(store_a: ObjectStore, pages_a: list[PageRef], store_b: ObjectStore, pages_b: list[PageRef],
                 on_equal: Optional[Callable[[bytes], None]] = None) -> tuple[Iterator[Pair], int, int]:
    """Merge-join, by key, the entries of pages present on one side only.

    Pages are key-ordered and a key lives in exactly one page per version, so
    entries of shared pages are equal on both sides and are never read. Lines are
    compared as bytes (canonical JSON: equal entries have equal lines) and only the
    differing ones are decoded. Memory is one page per side. Yields (entry in a or None,
    entry in b or None) for each key whose entry differs; ``on_equal`` gets each line
    that is the same on both sides."""
    shared = {p.hash for p in pages_a} & {p.hash for p in pages_b}
    compared = sum(1 for p in pages_a if p.hash not in shared) + sum(1 for p in pages_b if p.hash not in shared)
    skipped = sum(1 for p in pages_a if p.hash in shared)

    def gen() -> Iterator[Pair]:
        ia, ib = _page_lines(store_a, pages_a, shared), _page_lines(store_b, pages_b, shared)
        a, b = next(ia, None), next(ib, None)
        while a is not None or b is not None:
            if b is None or (a is not None and a[0] < b[0]):
                yield _decode(a[1]), None  # type: ignore[index]
                a = next(ia, None)
            elif a is None or b[0] < a[0]:
                yield None, _decode(b[1])
                b = next(ib, None)
            else:
                if a[1] != b[1]:
                    yield _decode(a[1]), _decode(b[1])
                elif on_equal is not None:
                    on_equal(a[1])
                a, b = next(ia, None), next(ib, None)

    return gen(), compared, skipped


_PARTITION = b',"partition":{'
_META = b',"meta":'


class _EqualPartitions:
    """The partition labels of entries equal on both sides, from their lines: each distinct
    ``"partition":{…}`` text is decoded once. A line whose text cannot be cut out safely (a ``meta``
    object, which sorts before ``partition`` and may hold that name; a value holding ``}``) is
    decoded whole."""

    def __init__(self, cols: list[str]) -> None:
        self.cols = cols
        self._cache: dict[bytes, Optional[str]] = {}
        self._labels: set[str] = set()

    def __call__(self, line: bytes) -> None:
        i = line.find(_PARTITION)
        if i >= 0 and _META not in line:
            text = line[i + len(_PARTITION) - 1:line.find(b"}", i) + 1]
            if text in self._cache:
                lab = self._cache[text]
            else:
                lab = self._cache[text] = self._label(text)
            if lab is not None:
                return
        self._labels.add(_part_label(_decode(line), self.cols))

    def _label(self, text: bytes) -> Optional[str]:
        try:
            p = _loads(text)
        except ValueError:  # a '}' inside a value: the cut was short
            return None
        return _part_label({"partition": p}, self.cols) if isinstance(p, dict) else None

    def labels(self) -> set[str]:
        return self._labels | {lab for lab in self._cache.values() if lab is not None}


def _shared_partition_labels(store: ObjectStore, pages: list[PageRef], skip: set[str], cols: list[str],
                             wanted: set[str]) -> set[str]:
    """Partition labels among ``wanted`` that occur in the shared pages (read only pages whose key range may hold them)."""
    if not wanted or not cols:
        return set()
    found = set()
    prefixes = {w: w + "/" for w in wanted}
    candidates = (p for p in pages if p.hash not in skip and any(
        p.first[: len(px)] <= px <= p.last or p.first.startswith(px) or p.last.startswith(px)
        for px in prefixes.values()))
    for d in iter_page_entries(store, candidates):
        lab = _part_label(d, cols)
        if lab in wanted:
            found.add(lab)
    return found


def _short(v: Any, limit: int = 60) -> str:
    import json

    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…") if isinstance(v, str) else (
        text if len(text) <= limit else text[: limit - 1] + "…")


def dict_changes(prefix: str, old: Any, new: Any) -> list[str]:
    """``prefix.key: old → new`` for each key that differs (added: ``+``, removed: ``-``)."""
    old, new = old or {}, new or {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else [f"{prefix}: {_short(old)} → {_short(new)}"]
    out = []
    for k in sorted(set(old) | set(new), key=str):
        if k not in old:
            out.append(f"{prefix}.{k}: + {_short(new[k])}")
        elif k not in new:
            out.append(f"{prefix}.{k}: - {_short(old[k])}")
        elif old[k] != new[k]:
            out.append(f"{prefix}.{k}: {_short(old[k])} → {_short(new[k])}")
    return out


def _schema_changes(a: pa.Schema, b: pa.Schema) -> list[str]:
    if a.equals(b):
        return []
    fa, fb = {f.name: f for f in a}, {f.name: f for f in b}
    bits = [f"+column {n}" for n in fb if n not in fa] + [f"-column {n}" for n in fa if n not in fb]
    bits += [f"column {n}: {fa[n].type} → {fb[n].type}" for n in fa if n in fb and not fa[n].type.equals(fb[n].type)]
    bits += [f"column {n}: nullable {fa[n].nullable} → {fb[n].nullable}" for n in fa
             if n in fb and fa[n].type.equals(fb[n].type) and fa[n].nullable != fb[n].nullable]
    if not bits:
        bits = ["column order" if [f.name for f in a] != [f.name for f in b] else "field or schema metadata"]
    return ["schema: " + ", ".join(bits)]


def diff_tables(a: TableLike, b: TableLike) -> Optional[TableDiff]:
    """Diff two Table objects (None when identical)."""
    if a.hash == b.hash:
        return None
    td = TableDiff(a.name, "changed")
    td.schema_changed = not a.schema.equals(b.schema)
    td.metadata_changed = (a.node.meta != b.node.meta or a.node.provenance != b.node.provenance)
    td.changes += _schema_changes(a.schema, b.schema)
    if a.node.partition_columns != b.node.partition_columns:
        td.changes.append(f"partition columns: {a.node.partition_columns} → {b.node.partition_columns}")
    td.changes += dict_changes("meta", a.node.meta, b.node.meta)
    td.changes += dict_changes("provenance", a.node.provenance, b.node.provenance)
    if (a.node.writer or {}) != (b.node.writer or {}):
        td.changes.append("writer settings: " + ", ".join(dict_changes("writer", a.node.writer, b.node.writer)))
    totals = [f"{k} {getattr(a.node, k):,} → {getattr(b.node, k):,}" for k in ("rows", "bytes", "fragments")
              if getattr(a.node, k) != getattr(b.node, k)]
    cols = b.partition_columns or a.partition_columns
    pairs, td.pages_compared, td.pages_skipped = _merge_pages(a.store, a.node.pages, b.store, b.node.pages)
    parts_a: set[str] = set()
    parts_b: set[str] = set()
    touched: set[str] = set()
    for ea, eb in pairs:
        if ea is not None and cols:
            parts_a.add(_part_label(ea, cols))
        if eb is not None and cols:
            parts_b.add(_part_label(eb, cols))
        if ea is not None and eb is None:
            td.fragments_removed.append(ea["key"])
            touched.add(_part_label(ea, cols))
        elif ea is None and eb is not None:
            td.fragments_added.append(eb["key"])
            touched.add(_part_label(eb, cols))
        elif ea is not None and eb is not None and ea != eb:
            td.fragments_changed.append(eb["key"])
            touched.add(_part_label(eb, cols))
    if cols:
        shared = {p.hash for p in a.node.pages} & {p.hash for p in b.node.pages}
        shared_pages = [p for p in b.node.pages if p.hash in shared]
        # a label with an entry on both sides is in both versions; only the others (partitions that
        # may have been added or removed) need the equal entries' labels: a second pass, rarely taken
        unsure = touched - (parts_a & parts_b)
        in_equal: set[str] = set()
        if unsure:
            equal = _EqualPartitions(cols)
            again, _c, _s = _merge_pages(a.store, a.node.pages, b.store, b.node.pages, equal)
            for _pair in again:
                pass
            in_equal = equal.labels()
            unsure -= in_equal
        in_shared = _shared_partition_labels(b.store, shared_pages, set(), cols, unsure)
        for lab in sorted(touched):
            in_a = lab in parts_a or lab in in_shared or lab in in_equal
            in_b = lab in parts_b or lab in in_shared or lab in in_equal
            # a partition whose every entry on one side is gone is added/removed
            if in_b and not in_a:
                td.partitions_added.append(lab)
            elif in_a and not in_b:
                td.partitions_removed.append(lab)
            else:
                td.partitions_changed.append(lab)
    for lst in (td.fragments_added, td.fragments_removed, td.fragments_changed):
        lst.sort()
    if totals:
        td.changes.append("totals: " + ", ".join(totals))
    if td.fragments_changed and not (td.fragments_added or td.fragments_removed):
        td.changes.append("fragment entries (statistics, deletion vectors or listing facts)")
    if not td.changes and not (td.fragments_added or td.fragments_removed or td.fragments_changed):
        td.changes.append("page layout (the same entries, paged differently)")
    return td


def diff_packages(a: PackageLike, b: PackageLike) -> PackageDiff:
    """Changes from package version ``a`` to ``b``."""
    out = PackageDiff(a.top_hash, b.top_hash)
    rec = getattr(b, "record", None)
    out.merge = getattr(rec, "merge", None) if a.top_hash != b.top_hash else None
    if a.top_hash == b.top_hash:
        out.changes = record_changes(a, b)
        return out
    out.metadata_changed = a.meta != b.meta
    out.changes += dict_changes("meta", a.meta, b.meta)
    names = sorted(set(a.tables) | set(b.tables))
    for n in names:
        if n not in b.root.tables:
            out.tables.append(TableDiff(n, "removed"))
        elif n not in a.root.tables:
            td = TableDiff(n, "added")
            out.tables.append(td)
        else:
            td2 = diff_tables(a.table(n), b.table(n))
            if td2 is not None:
                from lakepkg.format.rows_digest import compare_digests
                from lakepkg.read.rows_digest import recorded_rows_digest

                td2.same_rows, td2.same_rows_legacy = compare_digests(recorded_rows_digest(a.table(n)),
                                                                      recorded_rows_digest(b.table(n)))
                out.tables.append(td2)
    out.changes += record_changes(a, b)
    pairs, _c, _s = _merge_pages(a.store, a.root.files, b.store, b.root.files)
    for fa, fb in pairs:
        if fb is None and fa is not None:
            out.files_removed.append(fa["key"])
        elif fa is None and fb is not None:
            out.files_added.append(fb["key"])
        elif fa != fb and fb is not None:
            out.files_changed.append(fb["key"])
    return out


def record_changes(a: Any, b: Any) -> list[str]:
    """What the two versions' records say differently: message, sources (provenance a record keeps)
    and the tags pointing at each (when the packages are loaded from a registry)."""
    ra, rb = getattr(a, "record", None), getattr(b, "record", None)
    if ra is None or rb is None:
        return []
    out = []
    if (ra.message or "") != (rb.message or ""):
        out.append(f"message: {_short(ra.message or '')} → {_short(rb.message or '')}")
    sa, sb = ra.sources or {}, rb.sources or {}
    for t in sorted(set(sa) | set(sb)):
        if sa.get(t) != sb.get(t):
            lines = dict_changes(f"sources.{t}", sa.get(t), sb.get(t))
            out += lines[:4] + ([f"sources.{t}: {len(lines) - 4} more"] if len(lines) > 4 else [])
    reg = getattr(b, "registry", None)
    if reg is not None and getattr(ra, "package", None) == getattr(rb, "package", None) and ra.key != rb.key:
        try:
            tags = reg.tag_versions(rb.package)
        except Exception:  # noqa: BLE001 - tags are context for people, never a reason a diff fails
            tags = {}
        on_a = sorted(t for t, k in tags.items() if k == ra.key)
        on_b = sorted(t for t, k in tags.items() if k == rb.key)
        if on_a or on_b:
            out.append(f"tags: {', '.join(on_a) or '(none)'} on the old version, {', '.join(on_b) or '(none)'} on the new")
    return out
