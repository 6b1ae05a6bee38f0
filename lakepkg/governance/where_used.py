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
from typing import Any, Iterator, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError, NotFoundError
from lakepkg.format.canonical import canonical_json
from lakepkg.format.manifest import TableNodeData, load_root, load_table_node
from lakepkg.format.walk import iter_page_entries, walk
from lakepkg.governance.predicate import Predicate, check_columns, matching_mask, parse_predicate
from lakepkg.read.scan import FragmentTask, ScanPlan, plan_table, pruned_entries
from lakepkg.registry import Registry, VersionRecord
from lakepkg.registry.refs import RedactedVersionWarning

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
    redacted: list[dict[str, Any]] = field(default_factory=list)  # old top hashes the object hash names

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "versions": [v.to_json() for v in self.versions], "redacted": self.redacted,
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


def fragment_plan(reg: Registry, rec: VersionRecord, table_hash: str, node: TableNodeData) -> ScanPlan:
    """The read plan of one version's table (hash-checked reads), through which fragments are read."""
    return plan_table(reg.store, registry_location=reg.location, top_hash=rec.top_hash, table=node.name,
                      table_hash=table_hash, node=node, package=rec.package)


def read_fragment(plan: ScanPlan, entry: dict[str, Any], live: bool = True) -> tuple[pa.Table, pa.Table]:
    """(the fragment's rows with the columns its file holds, the same rows with partition columns),
    read through the one reader (:meth:`lakepkg.read.arrow_scan.ArrowScan.read_task`); ``live=False``:
    every row the stored file holds, also those its deletion vector hides."""
    reader = plan.reader()
    task = FragmentTask.of(entry)
    full = reader.read_task(task) if live else reader.with_partitions(task, reader.read_stored(task))
    in_file = reader.file_schema(task).names
    return full.select(in_file), full


class RowSearch:
    """Rows of one table matching a predicate, across versions; each distinct fragment read once."""

    def __init__(self, reg: Registry, pred: Predicate) -> None:
        self.reg = reg
        self.pred = pred
        self.considered = 0
        self.read = 0
        self._counts: dict[str, int] = {}
        self._nodes: dict[str, list[tuple[dict[str, Any], int]]] = {}  # table node hash -> its matches

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

    def cache_key(self, entry: dict[str, Any], conjs: list[Any], vector: bool = False) -> str:
        """What a fragment's answer depends on: its object, partition values and the predicate; with
        ``vector``, its deletion vector too (two versions sharing an object with different vectors
        hold different live rows: a rewrite of one is not the rewrite of the other)."""
        return entry["object"] + canonical_json([entry.get("partition"), entry.get("deletes") if vector else None,
                                                 json.loads(json.dumps(conjs, default=str))]).decode()

    def matches(self, rec: VersionRecord, table_hash: str, node: TableNodeData) -> Iterator[tuple[dict[str, Any], int]]:
        """(entry, matching rows) for every fragment of ``node`` holding matching rows; only the
        fragments partition values and min/max statistics do not rule out are read."""
        if table_hash in self._nodes:  # versions that share the table node share its answer
            yield from self._nodes[table_hash]
            return
        found = list(self._matches(rec, table_hash, node))
        self._nodes[table_hash] = found
        yield from found

    def _matches(self, rec: VersionRecord, table_hash: str, node: TableNodeData) -> Iterator[tuple[dict[str, Any], int]]:
        conjs = self.pred.for_schema(node.schema)
        if conjs is None:
            return
        self.considered += node.fragments
        plan = fragment_plan(self.reg, rec, table_hash, node)
        for e in pruned_entries(self.reg.store, node, conjs):
            k = self.cache_key(e, conjs)
            if k not in self._counts:
                self.read += 1
                _, full = read_fragment(plan, e, live=False)  # the bytes: rows a vector hides are held too
                self._counts[k] = int(matching_mask(full, conjs).true_count) if full.num_rows else 0
            if self._counts[k]:
                yield e, self._counts[k]


def where_used(*, digest: Optional[str] = None, source: Optional[str] = None, table: Optional[str] = None,
               where: Optional[str] = None, packages: Optional[list[str]] = None,
               registry: "Registry | str | None" = None) -> UsageReport:
    """Every package version and tag holding an object, a source file, or rows (see the module docstring)."""
    from lakepkg.governance.remove import open_reg

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
    for name in names:  # a redacted version's old top hash: say where it went (its objects are gone)
        for old, doc in sorted(reg.redirects(name).items()):
            if old.startswith(prefix):
                rep.redacted.append({"package": name, "top_hash": old, "successor": doc.get("top_hash"),
                                     "redacted_at": doc.get("redacted_at"), "reason": doc.get("reason")})
    return rep


def _by_source(reg: Registry, names: list[str], path: str) -> UsageReport:
    want = path.rstrip("/")
    rep = UsageReport({"source": path})

    def hit(s: str) -> bool:  # the file itself, or any file under the folder
        return bool(s) and (s == want or s.startswith(want + "/"))

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


def _by_rows(reg: Registry, names: list[str], pred: Predicate) -> UsageReport:
    rep = UsageReport({"table": pred.table, "where_hash": pred.digest})
    recs, tags_by = [], {}
    for rec, tags in _versions(reg, names):
        recs.append(rec)
        tags_by[rec.key] = tags
    search = RowSearch(reg, pred)
    rep.versions_searched = len(recs)
    for rec, h, node in search.tables(recs):
        use = _use(rec, tags_by[rec.key])
        for e, n in search.matches(rec, h, node):
            use.hits.append({"role": "fragment", "table": pred.table, "key": e["key"], "object": e["object"], "rows": n})
        if use.hits:
            rep.versions.append(use)
    rep.fragments_considered, rep.fragments_read = search.considered, search.read
    return rep
