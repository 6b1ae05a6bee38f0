"""What the catalog's pages read, through the public Python API and the read plan only.

One :class:`CatalogData` per app wraps a registry. Everything a version holds is immutable, so
packages, diffs and query results are kept in LRU caches by top hash; listings (package names,
tags, histories) are kept for ``cache_seconds`` (an S3 registry's listing is not asked per
request). Big tables are read a page of manifest entries at a time
(:mod:`lakepkg.read.entry_pages`): no screen reads a whole million-fragment manifest.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

import pyarrow as pa

from lakepkg.catalog.cache import LRU, BackgroundValue
from lakepkg.errors import ConfigError, LakepkgError, NotFoundError, StoreUnavailableError
from lakepkg.format.manifest import Entry
from lakepkg.read.entry_pages import entries_from, entry_count, entry_slice, find_entry
from lakepkg.read.package import File, Fragment, Package, Table, load
from lakepkg.read.scan import FragmentTask
from lakepkg.registry import LATEST, Registry, VersionRecord
from lakepkg.registry.core import RedactedVersionWarning

README_NAMES = ("README.md", "readme.md", "Readme.md", "README.MD")
README_LIMIT = 512 * 1024           # bytes of a README rendered (a larger one is cut, and says so)
SEARCH_TEXT_LIMIT = 64 * 1024       # README characters indexed for search
STATS_FRAGMENT_LIMIT = 20_000       # column statistics over every fragment up to this many, else the first page
INDEX_WAIT = 2.0                    # seconds a search waits for the registry-wide text index being built
LINEAGE_WAIT = 0.05                 # seconds a version page waits for the reverse-lineage index
FIRST_LISTING_WAIT = 300.0          # seconds the first request waits for the first listing of the packages
ROW_DIFF_AUTO_FRAGMENTS = 200       # a compare page computes the row diff itself up to this many fragments touched
PREVIEW_FRAGMENT_BUDGET = 256       # fragments one filtered preview page reads at most before it offers "more"


@dataclass
class PackageSummary:
    """One row of the packages list."""

    name: str
    latest: Optional[str]           # top hash the ``latest`` tag names
    versions: int
    updated: Optional[datetime]
    tags: list[str]
    size: Optional[int]             # bytes of the latest version (tables and files)
    message: str = ""
    error: Optional[str] = None     # a package that cannot be read is listed with why


@dataclass
class Preview:
    """A page of a table's rows: ``rows``, and the cursor of the next page (None at the end)."""

    rows: pa.Table
    next_key: Optional[str] = None
    next_skip: int = 0
    fragments_read: int = 0
    budget_hit: bool = False


@dataclass
class ColumnStats:
    """Per-column min / max / nulls aggregated from the manifest's fragment statistics."""

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    fragments: int = 0
    complete: bool = True


def _stat_min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b < a else a
    except TypeError:
        return a


def _stat_max(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    try:
        return b if b > a else a
    except TypeError:
        return a


class CatalogData:
    """The catalog's data access over one registry (see the module docstring)."""

    def __init__(self, registry: Registry, *, cache_seconds: Optional[float] = None) -> None:
        self.registry = registry
        remote = registry.location.startswith("s3://")
        self.cache_seconds = cache_seconds if cache_seconds is not None else (30.0 if remote else 5.0)
        # the package names: listed once, then refreshed in the background after cache_seconds
        # (a request is served the previous listing meanwhile, never a listing per request)
        self._names: BackgroundValue[list[str]] = BackgroundValue(self.registry.list_packages, self.cache_seconds)
        self._summaries: LRU[PackageSummary] = LRU(2048, self.cache_seconds)
        self._histories: LRU[Any] = LRU(256, self.cache_seconds)
        # indexes over every package (search text, reverse lineage) are built in the background
        self._search: BackgroundValue[dict[str, str]] = BackgroundValue(self._search_index,
                                                                        max(60.0, self.cache_seconds * 6))
        self._lineage: BackgroundValue[dict[str, list[tuple[str, str, str]]]] = BackgroundValue(
            self._lineage_index, max(60.0, self.cache_seconds * 6))
        self._packages: LRU[Package] = LRU(64)
        self._diffs: LRU[Any] = LRU(32)
        self._row_diffs: LRU[Any] = LRU(16)
        self._queries: LRU[tuple[pa.Table, str]] = LRU(32)
        self._stats: LRU[ColumnStats] = LRU(64)

    @property
    def location(self) -> str:
        return self.registry.location

    def forget_listings(self) -> None:
        """Drop what may have changed (after a tag moved)."""
        self._names.clear()
        self._search.clear()
        self._lineage.clear()
        self._summaries.clear()
        self._histories.clear()

    # -- packages ------------------------------------------------------------------------------
    def start(self) -> None:
        """Begin the registry-wide listings and indexes in the background (when the app starts)."""
        self._closed = False
        self._names.get()
        self._lineage.get()
        self._search.get()

    def close(self) -> None:
        """Stop the background index builds (when the app shuts down)."""
        self._closed = True

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the listing and both indexes are built (benchmarks, tests); True when they are."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(v.get() is not None for v in (self._names, self._search, self._lineage)):
                return True
            time.sleep(0.05)
        return False

    def _check_open(self) -> None:
        if getattr(self, "_closed", False):
            raise StoreUnavailableError("the catalog was closed")

    def package_names(self) -> list[str]:
        names = self._names.get(wait=FIRST_LISTING_WAIT)
        if names is None and self._names.error is not None:
            err = self._names.error
            raise err if isinstance(err, LakepkgError) else StoreUnavailableError(
                f"cannot list the packages of {self.location}: {type(err).__name__}: {err}")
        if names is None:
            raise StoreUnavailableError(f"listing the packages of {self.location} took longer than "
                                        f"{FIRST_LISTING_WAIT:.0f} s; try again in a moment")
        return names

    def search(self, q: str, wait: float = INDEX_WAIT) -> tuple[list[str], bool]:
        """(names whose name, metadata, latest message or README text contain every word of ``q``,
        whether the text index was ready: until it is, names alone are searched)."""
        words = [w.lower() for w in q.split() if w]
        names = self.package_names()
        if not words:
            return names, True
        hits = {n for n in names if all(w in n for w in words)}
        index = self._search.get(wait)
        if index is not None:
            hits |= {n for n in names if all(w in index.get(n, "") for w in words)}
        return [n for n in names if n in hits], index is not None

    def _search_index(self) -> dict[str, str]:
        out = {}
        for n in self.package_names():
            self._check_open()
            try:
                pkg = self.version(n)
                rec = pkg.record
                readme = self.readme(pkg, SEARCH_TEXT_LIMIT)[0] or ""
                out[n] = " ".join([n, json.dumps(pkg.meta, default=str), rec.message if rec else "",
                                   " ".join(pkg.tables), readme]).lower()
            except LakepkgError:
                out[n] = n
        return out

    def summary(self, name: str) -> PackageSummary:
        return self._summaries.get(name, lambda: self._summary(name))

    def _summary(self, name: str) -> PackageSummary:
        reg = self.registry
        try:
            hist = reg.history(name)
            tags = reg.tags(name)
            latest = tags.get(LATEST)
            size = None
            message = ""
            if latest:
                pkg = self.version(name, latest)
                size = sum(pkg.table(t).bytes for t in pkg.tables) + sum(p.bytes for p in pkg.root.files)
                message = pkg.record.message if pkg.record else ""
            return PackageSummary(name, latest, len(hist), hist[-1].created if hist else None, sorted(tags),
                                  size, message)
        except LakepkgError as exc:
            return PackageSummary(name, None, 0, None, [], None, error=str(exc))

    def history(self, name: str) -> Any:
        """``lakepkg.log(name)``: records newest first with their tags (kept ``cache_seconds``)."""
        from lakepkg.api import log

        return self._histories.get(name, lambda: log(name, registry=self.registry))

    def version(self, name: str, selector: Optional[str] = None) -> Package:
        """The version of ``name`` a hash prefix (or ``:tag``) names; the latest without one."""
        if selector and selector.startswith(":"):
            ref = f"{name}{selector}"
        else:
            ref = f"{name}@{selector}" if selector else name
        if selector and not selector.startswith(":") and len(selector) == 64:
            return self._packages.get((name, selector), lambda: self._load(ref))
        return self._load(ref)

    def _load(self, ref: str) -> Package:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RedactedVersionWarning)
            pkg = load(ref, self.registry, kind=Package)
        return pkg

    def redirect_notice(self, name: str, top_hash: str) -> Optional[VersionRecord]:
        """The redacted successor of ``name@top_hash`` when that version was redacted."""
        return self.registry.redacted_successor(name, top_hash)

    # -- a version -----------------------------------------------------------------------------
    def readme(self, pkg: Package, limit: int = README_LIMIT) -> tuple[Optional[str], bool]:
        """(README text, cut) of a version: looked up by key, one files page read."""
        for key in README_NAMES:
            d = find_entry(pkg.store, pkg.root.files, key)
            if d is not None:
                f = File(pkg.store, Entry.from_json(d))
                data = f.read_bytes()
                return data[:limit].decode("utf-8", errors="replace"), len(data) > limit
        return None, False

    def files(self, pkg: Package, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the version's plain files, and how many there are."""
        return entry_slice(pkg.store, pkg.root.files, offset, limit), entry_count(pkg.root.files)

    def entries(self, table: Table, offset: int, limit: int) -> list[dict[str, Any]]:
        """A page of a table's fragment entries (key order)."""
        return entry_slice(table.store, table.node.pages, offset, limit)

    def partitions_sample(self, table: Table, limit: int = 20) -> list[dict[str, Any]]:
        """Distinct partition values among the first page of fragments."""
        seen: dict[tuple[Any, ...], dict[str, Any]] = {}
        for d in self.entries(table, 0, 256):
            p = d.get("partition") or {}
            seen.setdefault(tuple(str(p.get(c)) for c in table.partition_columns), p)
            if len(seen) >= limit:
                break
        return list(seen.values())

    def lineage(self, pkg: Package) -> dict[str, Any]:
        """``inputs`` (versions the run read), ``parents`` (previous / merged versions) and ``derived``
        (versions that name this one as input, parent or source) as (package, top hash, how)."""
        rec = pkg.record
        inputs: list[tuple[str, str, str]] = []
        parents: list[tuple[str, str, str]] = []
        if rec is not None:
            for ref in (rec.run or {}).get("inputs") or []:
                name, _, h = str(ref).partition("@")
                inputs.append((name, h, "input"))
            if rec.derived_from:
                name, _, h = rec.derived_from.partition("@")
                inputs.append((name, h, "derived from") if h else ("", name, "derived from"))
            merged = _merge_parents(rec)
            for p in merged:
                name, _, h = str(p).partition("@")
                parents.append((name, h, "merge parent") if h else (pkg.name or "", name, "merge parent"))
            if rec.parent and not merged:
                parents.append((pkg.name or "", rec.parent, "previous"))
        index = self._lineage.get(LINEAGE_WAIT)
        derived = [] if index is None else index.get(pkg.top_hash, [])
        return {"inputs": inputs, "parents": parents, "derived": derived, "indexed": index is not None}

    def _lineage_index(self) -> dict[str, list[tuple[str, str, str]]]:
        """top hash → versions that read it, derive from it or merge it (every record read once)."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for name in self.package_names():
            self._check_open()
            try:
                recs = self.registry.versions(name)
            except LakepkgError:
                continue
            for r in recs:
                refs = [(x, "input") for x in (r.run or {}).get("inputs") or []]
                if r.derived_from:
                    refs.append((r.derived_from, "derived"))
                for p in _merge_parents(r):
                    refs.append((p, "merge"))
                for ref, how in refs:
                    h = str(ref).rpartition("@")[2]
                    if len(h) == 64:
                        out.setdefault(h, []).append((name, r.top_hash, how))
        return out

    # -- a table -------------------------------------------------------------------------------
    def table(self, pkg: Package, name: str) -> Table:
        return pkg.table(name)

    def preview(self, table: Table, filters: Optional[list[Any]] = None, after: Optional[str] = None,
                skip: int = 0, n: int = 50) -> Preview:
        """``n`` rows from the fragment ``after`` (skipping ``skip`` of its rows) on, through the read
        plan (pruning, deletion vectors and the row filter applied), one fragment at a time."""
        plan = table.scan(filters)
        parts: list[pa.Table] = []
        got = read = 0
        for d in entries_from(table.store, table.node, after, filters):
            t = plan.with_tasks([FragmentTask.of(d)]).to_arrow()
            read += 1
            start = skip if d["key"] == after else 0
            part = t.slice(min(start, t.num_rows), n - got)
            if part.num_rows:
                parts.append(part)
            got += part.num_rows
            if got >= n:
                return Preview(_concat(parts, plan), d["key"], start + part.num_rows, read)
            if filters and read >= PREVIEW_FRAGMENT_BUDGET:
                return Preview(_concat(parts, plan), d["key"], t.num_rows, read, budget_hit=True)
        return Preview(_concat(parts, plan), None, 0, read)

    def column_stats(self, table: Table) -> ColumnStats:
        """Min / max / nulls per column from the manifest's statistics: every fragment of a table of
        up to ``STATS_FRAGMENT_LIMIT`` fragments, else the first page of them (said on the page)."""
        def make() -> ColumnStats:
            complete = table.node.fragments <= STATS_FRAGMENT_LIMIT
            entries = table.iter_entries() if complete else iter(self.entries(table, 0, 256))
            out = ColumnStats(complete=complete)
            for d in entries:
                out.fragments += 1
                for col, s in (d.get("stats") or {}).items():
                    agg = out.columns.setdefault(col, {"min": None, "max": None, "nulls": 0})
                    agg["min"] = _stat_min(agg["min"], s.get("min"))
                    agg["max"] = _stat_max(agg["max"], s.get("max"))
                    agg["nulls"] += int(s.get("nulls") or 0)
            return out

        return self._stats.get(table.hash, make)

    def fragment(self, table: Table, key: str) -> Fragment:
        """The fragment ``key`` of ``table`` (one page read)."""
        d = find_entry(table.store, table.node.pages, key)
        if d is None:
            raise NotFoundError(f"table {table.name!r} of {table.package.ref} has no fragment {key!r}")
        return Fragment(table.store, Entry.from_json(d), table)

    # -- compare -------------------------------------------------------------------------------
    def diff(self, a: Package, b: Package) -> Any:
        """``lakepkg.diff``: tables, partitions, fragments and files changed."""
        return self._diffs.get((a.top_hash, b.top_hash), lambda: a.diff(b))

    def row_diff(self, a: Package, b: Package, table: str) -> Any:
        """The row diff of one table by its key (``lakepkg.diff(..., rows=True)``, one table)."""
        def make() -> Any:
            from lakepkg.read.row_diff import diff_tables_rows

            if table not in a.tables or table not in b.tables:
                raise NotFoundError(f"table {table!r} is not in both versions; a row diff needs it in both")
            return diff_tables_rows(a.table(table), b.table(table))

        return self._row_diffs.get((a.top_hash, b.top_hash, table), make)

    # -- SQL -----------------------------------------------------------------------------------
    def query(self, pkg: Package, sql: str) -> tuple[pa.Table, str]:
        """(result, dialect) of ``sql`` on this version: ``lakepkg.query``'s engine, the source's dialect."""
        def make() -> tuple[pa.Table, str]:
            import lakepkg.query as q

            ref = f"{pkg.name}@{pkg.top_hash}"
            transpiled, _ = q.plan(sql, ref, registry=self.registry)
            return q.query(sql, ref, registry=self.registry), str(transpiled.dialect)

        if len(sql) > 100_000:
            raise ConfigError("the query is longer than 100,000 characters")
        return self._queries.get((pkg.top_hash, sql), make)

    # -- lifecycle -----------------------------------------------------------------------------
    def where_used(self, *, digest: Optional[str] = None, source: Optional[str] = None,
                   table: Optional[str] = None, where: Optional[str] = None) -> Any:
        from lakepkg.governance import where_used

        return where_used(digest=digest, source=source, table=table, where=where, registry=self.registry)

    def audit(self) -> Any:
        from lakepkg.governance import check_log

        return check_log(self.registry)

    def verify(self, ref: Optional[str], deep: bool) -> Any:
        from lakepkg.api import verify

        return verify(ref, registry=self.registry, deep=deep)

    def move_tag(self, name: str, tag: str, target: str, expect: str) -> Any:
        """Point ``tag`` at ``target`` only if it now names ``expect`` (``none``: absent) — a compare-and-swap."""
        from lakepkg.api import tag as set_tag

        try:
            return set_tag(name, tag, target, expect=expect, registry=self.registry)
        finally:
            self.forget_listings()


def _merge_parents(rec: VersionRecord) -> list[str]:
    """A merge's parents (``name@tophash``), none for a version that is not a merge."""
    return list(rec.parents) if getattr(rec, "merge", None) else []


def _concat(parts: list[pa.Table], plan: Any) -> pa.Table:
    if not parts:
        return plan.schema.empty_table().select(plan.output_columns)
    return pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
