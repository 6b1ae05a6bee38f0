"""What every part of the registry stands on: an object store (bytes) and a metadata backend
(records, tags, documents) at one location."""
from __future__ import annotations

from lakepkg.registry.backend import MetaBackend
from lakepkg.store.base import ObjectStore


class RegistryBase:
    """An object store and a metadata backend; the registry's parts (history, tags, publish, gc
    coordination, lifecycle documents, audit log) are built on this."""

    def __init__(self, store: ObjectStore, meta: MetaBackend, location: str) -> None:
        self.store = store
        self.meta = meta
        self.location = location
