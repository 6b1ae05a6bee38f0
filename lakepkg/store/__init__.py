"""Object stores. ``open_store(location)`` picks a backend by the location's scheme."""
from __future__ import annotations

from lakepkg.format.hashing import hash_file
from lakepkg.store.base import ObjectInfo, ObjectStore
from lakepkg.store.local import LocalObjectStore


def open_store(location: str, **options: object) -> ObjectStore:
    """Open the object store at ``location``: a local path, ``file://path`` or ``s3://bucket/prefix``."""
    if location.startswith("s3://"):
        from lakepkg.store.s3 import S3ObjectStore  # optional backend, imported on demand

        return S3ObjectStore.from_url(location, **options)  # type: ignore[arg-type]
    if location.startswith("file://"):
        location = location[len("file://"):]
    return LocalObjectStore(location)


__all__ = ["ObjectStore", "ObjectInfo", "LocalObjectStore", "open_store", "hash_file"]
