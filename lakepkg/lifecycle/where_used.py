"""Where is this used: the package versions and tags that hold an object, a source file, or rows.

* ``where_used(digest=...)``: every version naming the object (as root, table node, page,
  fragment, plain file or source listing); a prefix of 6+ hex digits is enough.
* ``where_used(source=...)``: every version whose table read that source file (or a file under
  that folder), from the source listings snapshots record.
* ``where_used(table=..., where="customer_id = 42")``: every version whose table holds matching
  rows. Fragments are pruned by partition values and min/max statistics
  (:func:`lakepkg.read.filters.entry_may_match`); only those that may match are read, and each
  distinct fragment is read once however many versions share it.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError, IntegrityError, NotFoundError
from lakepkg.format.canonical import canonical_json
from lakepkg.format.manifest import TableNodeData, load_root, load_table_node
from lakepkg.format.walk import iter_page_entries, walk
from lakepkg.lifecycle.predicate import Predicate, check_columns, matching_mask, parse_predicate
from lakepkg.read.filters import entry_may_match, partition_array
from lakepkg.registry import Registry, VersionRecord
from lakepkg.registry.core import RedactedVersionWarning
from lakepkg.store.base import ObjectStore, hash_file

PREFIX_RE = re.compile(r"^[0-9a-f]{6,64}$")


@dataclass
class VersionUse:
    """One version that holds what was asked for."""

    package: str
    top_hash: str
    version: str
    created_at: str
    tags: list[str]
    hits: list[dict[str, Any]] = field(default_factory=list)   # role, table, key, object, rows

    @property
    def rows(self) -> int:
        return sum(int(h.get("rows") or 0) for h in self.hits)

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "top_hash": self.top_hash, "version": self.version,
                "created_at": self.created_at, "tags": self.tags, "rows": self.rows, "hits": self.hits}


@dataclass
class UsageReport:
    """The answer of :func:`where_used`."""

    query: dict[str, Any]
    versions: list[VersionUse] = field(default_factory=list)
    versions_searched: int = 0
    fragments_considered: int = 0
    fragments_read: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "versions": [v.to_json() for v in self.versions],
                "versions_searched": self.versions_searched, "fragments_considered": self.fragments_considered,
                "fragments_read": self.fragments_read}

    @property
    def packages(self) -> list[str]:
        return sorted({v.package for v in self.versions})


def package_scope(reg: Registry, packages: Optional[list[str]]) -> list[str]:
    """The packages to search: the ones named (each must exist) or every package."""
    if not packages:
        return reg.list_packages()
    known = set(reg.list_packages())
    for p in packages:
        if p not in known:
            raise NotFoundError(f"package {p} not found in {reg.location}; `lakepkg ls` lists packages")
    return sorted(set(packages))


def _versions(reg: Registry, names: list[str]) -> Iterator[tuple[VersionRecord, dict[str, list[str]]]]:
    for name in names:
        by_key: dict[str, list[str]] = {}
        for t, k in reg.tag_versions(name).items():
            by_key.setdefault(k, []).append(t)
        for rec in reg.versions(name):
            yield rec, by_key


def _use(rec: VersionRecord, tags: dict[str, list[str]]) -> VersionUse:
    return VersionUse(rec.package, rec.top_hash, rec.key, rec.created_at, sorted(tags.get(rec.key, [])))


def verified_local(store: ObjectStore, digest: str) -> str:
    """A local file holding ``digest`` whose bytes are checked against it."""
    vp = getattr(store, "verified_path", None)
    if vp is not None:
        return str(vp(digest))
    p = store.local_path(digest)
    if p is None:
        raise NotFoundError(f"object {digest[:12]} has no local copy in {store.location}")
    if not hasattr(store, "cache") and hash_file(p)[0] != digest:  # the S3 cache verifies on download
        raise IntegrityError(f"object {digest[:12]} in {store.location} is corrupt; run `lakepkg verify`")
    return p


def read_fragment(store: ObjectStore, entry: dict[str, Any], node: TableNodeData) -> tuple[pa.Table, pa.Table]:
    """(the fragment's rows as stored, the same rows with partition columns appended)."""
    import pyarrow.parquet as pq

    stored = pq.read_table(verified_local(store, entry["object"]))
    full = stored
    part = entry.get("partition") or {}
    for c in node.partition_columns:
        if c not in full.column_names:
            f = node.schema.field(c)
            full = full.append_column(f, partition_array(f.type, part.get(c), full.num_rows))
    return stored, full


class RowSearch:
    """Rows of one table matching a predicate, across versions; each distinct fragment read once."""

    def __init__(self, reg: Registry, pred: Predicate) -> None:
        self.reg = reg
        self.pred = pred
        self.considered = 0
        self.read = 0
        self._counts: dict[str, int] = {}

    def tables(self, recs: list[VersionRecord]) -> list[tuple[VersionRecord, str, TableNodeData]]:
        """(record, table node hash, node) of every version that has the table; checks the columns."""
        out = []
        for rec in recs:
            root = load_root(self.reg.store, rec.top_hash)
            h = root.tables.get(self.pred.table)
            if h is not None:
                out.append((rec, h, load_table_node(self.reg.store, h)))
        if not out:
            raise NotFoundError(f"no version searched has a table {self.pred.table!r}; check --table")
        check_columns(self.pred, [n.schema for _, _, n in out])
        return out

    def cache_key(self, entry: dict[str, Any], conjs: list[Any]) -> str:
        return entry["object"] + canonical_json([entry.get("partition"), json.loads(json.dumps(conjs, default=str))]).decode()

    def matches(self, node: TableNodeData) -> Iterator[tuple[dict[str, Any], int]]:
        """(entry, matching rows) for every fragment of ``node`` holding matching rows."""
        conjs = self.pred.for_schema(node.schema)
        if conjs is None:
            return
        for e in iter_page_entries(self.reg.store, node.pages):
            self.considered += 1
            if not entry_may_match(e, conjs, node.schema):
                continue
            k = self.cache_key(e, conjs)
            if k not in self._counts:
                self.read += 1
                _, full = read_fragment(self.reg.store, e, node)
                self._counts[k] = int(matching_mask(full, conjs).true_count) if full.num_rows else 0
            if self._counts[k]:
                yield e, self._counts[k]


def where_used(*, digest: Optional[str] = None, source: Optional[str] = None, table: Optional[str] = None,
               where: Optional[str] = None, packages: Optional[list[str]] = None,
               registry: "Registry | str | None" = None) -> UsageReport:
    """Every package version and tag holding an object, a source file, or rows (see the module docstring)."""
    from lakepkg.lifecycle.remove import open_reg

    given = [x for x in (digest, source, table) if x]
    if len(given) != 1:
        raise ConfigError("where-used needs exactly one of: an object HASH, --source PATH, or --table T --where PRED")
    if table and not where:
        raise ConfigError("--table needs --where PREDICATE, e.g. --where \"customer_id = 42\"")
    if where and not table:
        raise ConfigError("--where needs --table T: the table whose rows to look for")
    reg = open_reg(registry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactedVersionWarning)
        names = package_scope(reg, packages)
        if digest:
            d = digest.strip().lower()
            if not PREFIX_RE.match(d):
                raise ConfigError(f"{digest!r} is not an object hash: give 6 to 64 lowercase hex digits")
            return _by_digest(reg, names, d)
        if source:
            return _by_source(reg, names, source)
        return _by_rows(reg, names, parse_predicate(str(where), str(table)))


def _by_digest(reg: Registry, names: list[str], prefix: str) -> UsageReport:
    rep = UsageReport({"object": prefix})
    for rec, tags in _versions(reg, names):
        rep.versions_searched += 1
        use = _use(rec, tags)
        for item in walk(reg.store, rec.top_hash):
            if item.digest.startswith(prefix):
                role = item.kind if item.kind != "entry" else (item.entry or {}).get("kind", "fragment")
                use.hits.append({"role": role, "table": item.table, "object": item.digest,
                                 "key": (item.entry or {}).get("key")})
        for tname, src in (rec.sources or {}).items():
            if isinstance(src, dict) and str(src.get("listing", "")).startswith(prefix):
                use.hits.append({"role": "listing", "table": tname, "object": src["listing"], "key": None})
        if use.hits:
            rep.versions.append(use)
    return rep


def _by_source(reg: Registry, names: list[str], path: str) -> UsageReport:
    want = path.rstrip("/")
    rep = UsageReport({"source": path})

    def hit(s: str) -> bool:
        return s == want or s.startswith(want + "/") or s.rstrip("/").endswith("/" + want.lstrip("/")) if s else False

    for rec, tags in _versions(reg, names):
        rep.versions_searched += 1
        use = _use(rec, tags)
        root = None
        for tname, src in sorted((rec.sources or {}).items()):
            if not isinstance(src, dict) or not src.get("listing"):
                continue
            lines = [json.loads(l) for l in reg.store.get_bytes(src["listing"]).splitlines() if l.strip()]
            keys = {l.get("key"): l.get("source") for l in lines if hit(str(l.get("source") or ""))}
            if not keys:
                continue
            root = root or load_root(reg.store, rec.top_hash)
            if tname not in root.tables:
                continue
            node = load_table_node(reg.store, root.tables[tname])
            for e in iter_page_entries(reg.store, node.pages):
                if e["key"] in keys:
                    use.hits.append({"role": "fragment", "table": tname, "key": e["key"], "object": e["object"],
                                     "source": keys[e["key"]], "rows": e.get("rows")})
        if use.hits:
            rep.versions.append(use)
    return rep


def _by_rows(reg: Registry, names: list[str], pred: Predicate,
             on_version: Optional[Callable[[VersionUse], None]] = None) -> UsageReport:
    rep = UsageReport({"table": pred.table, "where_hash": pred.digest})
    recs, tags_by = [], {}
    for rec, tags in _versions(reg, names):
        recs.append(rec)
        tags_by[rec.key] = tags
    search = RowSearch(reg, pred)
    rep.versions_searched = len(recs)
    for rec, _h, node in search.tables(recs):
        use = _use(rec, tags_by[rec.key])
        for e, n in search.matches(node):
            use.hits.append({"role": "fragment", "table": pred.table, "key": e["key"], "object": e["object"], "rows": n})
        if use.hits:
            rep.versions.append(use)
    rep.fragments_considered, rep.fragments_read = search.considered, search.read
    return rep
