"""Which objects versions own, and removing object bytes everywhere lakepkg keeps a copy.

``version_objects`` lists what one version names (through the one manifest walk);
``live_objects`` what a set of versions needs; ``purge`` deletes an object from a store and from
every local cache of it (the S3 read cache), so a redaction leaves no copy behind.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Iterable, Optional

from lakepkg.errors import LakepkgError, MissingObjectError
from lakepkg.maintain.verify import referenced_objects
from lakepkg.registry import Registry, VersionRecord
from lakepkg.store.base import ObjectStore


def version_objects(registry: Registry, rec: VersionRecord) -> dict[str, Optional[int]]:
    """digest → size (when the manifest says it; None for nodes and pages) of every object ``rec`` names."""
    from lakepkg.format.walk import walk

    out: dict[str, Optional[int]] = {}
    for item in walk(registry.store, rec.top_hash):
        if item.kind == "entry" and item.entry is not None:
            out[item.digest] = int(item.entry.get("size") or 0)
        else:
            out.setdefault(item.digest, None)
    for src in (rec.sources or {}).values():
        if isinstance(src, dict) and src.get("listing"):
            out.setdefault(src["listing"], None)
    return out


def live_objects(registry: Registry, records: Iterable[VersionRecord]) -> set[str]:
    """Every object the given versions name; a version that cannot be read stops the caller
    (deleting anything while a version is unreadable could take what it needs)."""
    live: set[str] = set()
    for rec in records:
        try:
            live.update(d for d, _ in referenced_objects(registry, rec.top_hash, rec.sources))
        except LakepkgError as exc:
            raise LakepkgError(f"version {rec.package}@{rec.short} cannot be read ({exc}); fix it with `lakepkg verify` first") from None
    return live


def sizes(store: ObjectStore, digests: dict[str, Optional[int]]) -> int:
    """Total bytes of ``digests`` (sizes the manifest lacks are asked of the store)."""
    total = 0
    for d, n in digests.items():
        if n is None:
            try:
                n = store.size(d)
            except MissingObjectError:
                n = 0
        total += n
    return total


def purge(store: ObjectStore, digest: str) -> None:
    """Delete ``digest`` from ``store`` and from the local read caches that may hold a copy."""
    store.delete(digest)
    caches: list[Any] = []
    own = getattr(store, "_cache", None)
    if own is not None:
        caches.append(own)
    try:
        from lakepkg.store.cache import default_cache

        caches.append(default_cache())
    except LakepkgError:
        pass
    args = getattr(store, "_cache_args", None)
    if args and any(args):
        from lakepkg.store.cache import default_cache

        caches.append(default_cache(*args))
    for c in caches:
        c.discard(digest)
    root = getattr(store, "root", None)
    if isinstance(root, str):  # a local registry's Spark views of a table node (symbolic links named by partition values)
        view = os.path.join(root, "views", digest)
        if os.path.isdir(view):
            shutil.rmtree(view, ignore_errors=True)
