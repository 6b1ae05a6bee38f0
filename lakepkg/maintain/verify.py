"""Integrity checks: every object every version names is present and hashes to its name.

``verify_registry`` walks versions (root → table nodes → pages → fragments and
files), re-hashes each distinct object once, and names every missing or
corrupt object with the versions that reference it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from lakepkg.errors import IntegrityError, LakepkgError, MissingObjectError
from lakepkg.format.manifest import load_root, load_table_node, read_page_raw
from lakepkg.registry import Registry, VersionRecord


@dataclass
class VerifyReport:
    versions: int = 0
    objects_checked: int = 0
    bytes_checked: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)   # digest -> refs
    corrupt: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.errors)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "versions": self.versions, "objects_checked": self.objects_checked,
                "bytes_checked": self.bytes_checked, "missing": self.missing, "corrupt": self.corrupt,
                "errors": self.errors}


def referenced_objects(registry: Registry, top_hash: str, sources: Optional[dict[str, Any]] = None) -> Iterator[tuple[str, str]]:
    """Every (digest, role) a version names: root, table nodes, pages, fragments, files, listings.

    Raises IntegrityError/MissingObjectError when a node cannot be read."""
    store = registry.store
    yield top_hash, "root"
    root = load_root(store, top_hash)
    for p in root.files:
        yield p.hash, "page"
        for d in read_page_raw(store, p):
            yield d["object"], "file"
    for name, h in root.tables.items():
        yield h, f"table {name}"
        node = load_table_node(store, h)
        for p in node.pages:
            yield p.hash, "page"
            for d in read_page_raw(store, p):
                yield d["object"], "fragment"
                if d.get("deletes"):
                    yield d["deletes"]["object"], f"deletion vector of fragment {name}/{d['key']}"
    for src in (sources or {}).values():
        if isinstance(src, dict) and src.get("listing"):
            yield src["listing"], "listing"


def verify_registry(registry: Registry, refs: Optional[list[VersionRecord]] = None, deep: bool = True,
                    progress: Optional[Callable[[int, int], None]] = None, workers: int = 4) -> VerifyReport:
    """Check the versions ``refs`` (default: every version of every package)."""
    rep = VerifyReport()
    users: dict[str, list[str]] = {}
    if refs is not None:
        records = refs
    else:
        records = []
        for name in registry.list_packages():
            for stub in registry.history(name):
                try:
                    records.append(registry.record(stub.key))
                except (IntegrityError, MissingObjectError) as exc:  # a damaged record: name it, check the rest
                    rep.errors.append(f"{name}@{stub.top_hash[:10]}: {exc}")
    for rec in records:
        rep.versions += 1
        label = f"{rec.package}@{rec.top_hash[:10]}"
        try:
            for digest, role in referenced_objects(registry, rec.top_hash, rec.sources):
                users.setdefault(digest, [])
                who = f"{label} ({role})" if role.startswith("deletion vector") else label
                if who not in users[digest]:
                    users[digest].append(who)
        except MissingObjectError as exc:
            rep.errors.append(f"{label}: {exc}")
        except IntegrityError as exc:
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
        except LakepkgError:
            return digest, "corrupt", 0

    done = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for digest, status, size in pool.map(check, list(users)):
            done += 1
            rep.objects_checked += 1
            rep.bytes_checked += size
            if status == "missing":
                rep.missing[digest] = users[digest]
            elif status == "corrupt":
                rep.corrupt[digest] = users[digest]
            if progress:
                progress(done, rep.bytes_checked)
    return rep
