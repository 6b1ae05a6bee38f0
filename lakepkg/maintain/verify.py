"""Integrity checks: the registry's metadata and every object every version names.

``verify_registry`` checks each package's metadata through the registry
(records match their key and seal, tags parse and name a record of their own
package, no key escapes the registry), walks each version with
:func:`lakepkg.format.walk.walk` (logical keys and table names must be safe),
re-hashes each distinct object once, and names every missing or corrupt object
with the versions that reference it. A store that cannot be reached is
reported as unreachable, never as corrupt.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from lakepkg.errors import IntegrityError, LakepkgError, MissingObjectError, NotFoundError, StoreUnavailableError
from lakepkg.format.names import safe_key, validate_table_name
from lakepkg.format.walk import walk
from lakepkg.registry import Registry, VersionRecord


@dataclass
class VerifyReport:
    versions: int = 0
    objects_checked: int = 0
    bytes_checked: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)   # digest -> refs
    corrupt: dict[str, list[str]] = field(default_factory=dict)
    unreachable: dict[str, list[str]] = field(default_factory=dict)  # could not be checked: store unreachable
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    caches_checked: Optional[int] = None          # ``caches=True``: row-hash cache files rehashed
    cache_problems: dict[str, str] = field(default_factory=dict)  # cache file -> what was wrong (removed)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.unreachable or self.errors or self.cache_problems)

    def to_json(self) -> dict[str, Any]:
        out = {"ok": self.ok, "versions": self.versions, "objects_checked": self.objects_checked,
               "bytes_checked": self.bytes_checked, "missing": self.missing, "corrupt": self.corrupt,
               "unreachable": self.unreachable, "errors": self.errors, "warnings": self.warnings}
        if self.caches_checked is not None:
            out.update(caches_checked=self.caches_checked, cache_problems=self.cache_problems)
        return out


def check_entry_key(table: Optional[str], key: Any) -> None:
    """Refuse a manifest entry whose logical key could escape its folder (``..``, absolute, control
    characters) or is not in normal form; UnsafePathError/IntegrityError say which."""
    where = f"table {table!r}" if table is not None else "the package's files"
    if not isinstance(key, str):
        raise IntegrityError(f"an entry of {where} has no text key; the manifest is corrupt")
    if safe_key(key) != key:
        raise IntegrityError(f"entry key {key!r} of {where} is not a normalised relative path; the manifest is unsafe")


def referenced_objects(registry: Registry, top_hash: str, sources: Optional[dict[str, Any]] = None,
                       check_keys: bool = False) -> Iterator[tuple[str, str]]:
    """Every (digest, role) a version names: root, table nodes, pages, fragments, files, listings.

    Raises IntegrityError/MissingObjectError when a node cannot be read; with ``check_keys`` also
    when a table name or an entry's logical key is unsafe (push and verify refuse such manifests)."""
    for item in walk(registry.store, top_hash):
        if item.kind == "entry":
            if check_keys:
                check_entry_key(item.table, (item.entry or {}).get("key"))
            yield item.digest, "fragment" if item.table is not None else "file"
        elif item.kind == "vector":  # a fragment's deletion vector (docs/format.md)
            yield item.digest, f"deletion vector of fragment {item.table}/{(item.entry or {}).get('key')}"
        elif item.kind == "table":
            if check_keys:
                validate_table_name(item.table or "")
            yield item.digest, f"table {item.table}"
        else:
            yield item.digest, item.kind
    for src in (sources or {}).values():
        if isinstance(src, dict) and isinstance(src.get("listing"), str):
            yield src["listing"], "listing"


def verify_registry(registry: Registry, refs: Optional[list[VersionRecord]] = None, deep: bool = True,
                    progress: Optional[Callable[[int, int], None]] = None, workers: int = 4,
                    caches: bool = False) -> VerifyReport:
    """Check the versions ``refs`` (default: every version of every package, and their metadata).

    ``caches``: also rehash, from its fragment, every local row-hash cache file of the fragments
    these versions hold (:func:`lakepkg.write.row_hash_cache.check_caches`); a file that does not
    match is reported and removed (the next delta snapshot recomputes it)."""
    rep = VerifyReport()
    users: dict[str, list[str]] = {}
    if refs is not None:
        records = refs
        for name in sorted({r.package for r in refs}):
            _audit(registry, name, rep)
    else:
        records = []
        for name in registry.tagged_packages():  # tags left with no record at all
            _audit(registry, name, rep)
        for name in registry.list_packages():
            _audit(registry, name, rep)
            try:
                stubs = registry.history(name)
            except StoreUnavailableError as exc:
                rep.unreachable.setdefault(f"metadata of {name}", []).append(str(exc))
                continue
            for stub in stubs:
                try:
                    records.append(registry.record(stub.key))
                except (IntegrityError, NotFoundError):
                    continue  # named by audit above
                except StoreUnavailableError as exc:
                    rep.unreachable.setdefault(f"metadata of {name}", []).append(str(exc))
        _parents(registry, records, rep)
    for rec in records:
        rep.versions += 1
        label = f"{rec.package}@{rec.top_hash[:10]}"
        try:
            for digest, role in referenced_objects(registry, rec.top_hash, rec.sources, check_keys=True):
                users.setdefault(digest, [])
                who = f"{label} ({role})" if role.startswith("deletion vector") else label
                if who not in users[digest]:
                    users[digest].append(who)
        except StoreUnavailableError as exc:
            rep.unreachable.setdefault(rec.top_hash, []).append(f"{label}: {exc}")
        except LakepkgError as exc:  # missing/corrupt node, unsafe key or name
            rep.errors.append(f"{label}: {exc}")
    store = registry.store

    def check(digest: str) -> tuple[str, str, int]:
        try:
            if not store.has(digest):
                return digest, "missing", 0
            if deep:
                return digest, "ok" if store.verify_object(digest) else "corrupt", store.size(digest)
            return digest, "ok", 0
        except MissingObjectError:
            return digest, "missing", 0
        except StoreUnavailableError:
            return digest, "unreachable", 0
        except LakepkgError:
            return digest, "corrupt", 0

    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for digest, status, size in pool.map(check, list(users)):
            done += 1
            rep.objects_checked += 1
            rep.bytes_checked += size
            if status in ("missing", "corrupt", "unreachable"):
                getattr(rep, status)[digest] = users[digest]
            if progress:
                progress(done, rep.bytes_checked)
    if caches:
        _check_caches(registry, records, rep)
    return rep


def _check_caches(registry: Registry, records: list[VersionRecord], rep: VerifyReport) -> None:
    from lakepkg.write.row_hash_cache import check_caches

    seen: dict[str, Any] = {}
    for rec in records:
        schema = None
        try:
            for item in walk(registry.store, rec.top_hash):
                if item.kind == "table" and item.node is not None:
                    schema = item.node.schema if not item.node.partition_columns else None
                elif item.kind == "entry" and item.table is not None and schema is not None:
                    seen.setdefault(item.digest, schema)
        except LakepkgError:
            continue  # reported by the object checks above
    found = check_caches(registry.store, seen.items())
    rep.caches_checked = found.checked
    rep.cache_problems.update({p: f"row-hash cache file {p} {what}; removed (it is recomputed when needed)"
                               for p, what in found.problems.items()})


def _audit(registry: Registry, name: str, rep: VerifyReport) -> None:
    try:
        rep.errors.extend(registry.check_metadata(name))
    except StoreUnavailableError as exc:
        rep.unreachable.setdefault(f"metadata of {name}", []).append(str(exc))


def _parents(registry: Registry, records: list[VersionRecord], rep: VerifyReport) -> None:
    """A version's parent that is not in this registry's history: deleted, or never copied here."""
    by_pkg: dict[str, set[str]] = {}
    for r in records:
        by_pkg.setdefault(r.package, set()).add(r.top_hash)
    for r in records:
        if r.parent and r.parent not in by_pkg.get(r.package, set()):
            rep.warnings.append(f"{r.package}@{r.top_hash[:10]}: its parent {str(r.parent)[:10]} is not in this registry "
                                "(a deleted record, or a version never pushed here)")
