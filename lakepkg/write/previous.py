"""The previous version of a package as the base of an incremental re-snapshot.

An unchanged source file (same path, size, mtime or ETag as in the previous
version's listing) is not read again: its entry is reused. Nothing is reused
from a table whose schema changed. Every path that ingests files (the
builder, the Spark job) asks :func:`reusable_entries`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa

from lakepkg.errors import NotFoundError
from lakepkg.format.manifest import RootNodeData, TableNodeData, load_root, load_table_node
from lakepkg.format.schema_json import schema_to_json
from lakepkg.format.walk import table_entries
from lakepkg.registry import Registry, VersionRecord
from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.store.base import ObjectStore

Reusable = dict[str, tuple[dict[str, Any], dict[str, Any]]]  # source path -> (listing, entry JSON)
LISTING_FIELDS = ("source", "size", "mtime", "etag", "converted")


@dataclass
class PreviousVersion:
    """A published version, read only as far as a re-snapshot needs (its root, table nodes, listings)."""

    store: ObjectStore
    top_hash: str
    record: Optional[VersionRecord] = None

    def __post_init__(self) -> None:
        self._root: Optional[RootNodeData] = None

    @property
    def tables(self) -> list[str]:
        """The table names of the version."""
        if self._root is None:
            self._root = load_root(self.store, self.top_hash)
        return sorted(self._root.tables)

    def table_node(self, name: str) -> TableNodeData:
        """The node of table ``name``."""
        self.tables  # loads the root
        assert self._root is not None
        return load_table_node(self.store, self._root.tables[name])

    @classmethod
    def of(cls, previous: Any) -> "PreviousVersion":
        """A PreviousVersion from itself or from a loaded Package (anything with store, top_hash, record)."""
        if isinstance(previous, cls):
            return previous
        return cls(previous.store, previous.top_hash, getattr(previous, "record", None))


def previous_version(registry: Registry, name: str) -> Optional[PreviousVersion]:
    """The latest version of ``name``, or None when it has none."""
    try:
        rec = registry.resolve(name)
    except NotFoundError:
        return None
    return PreviousVersion(registry.store, rec.top_hash, rec)


def reusable_entries(previous: Any, snap: TableSnapshot) -> tuple[Optional[Reusable], Optional[pa.Schema]]:
    """What an incremental re-snapshot of ``snap`` may reuse from ``previous`` (a PreviousVersion, a
    loaded Package or None): (source path -> (listing, entry JSON), the previous table's schema), or
    (None, None). Nothing is reused when the table changed shape: entries stored under the old schema
    must not enter a version of the new one."""
    if previous is None:
        return None, None
    prev = PreviousVersion.of(previous)
    if snap.name not in prev.tables:
        return None, None
    src = (prev.record.sources or {}).get(snap.name, {}) if prev.record else {}
    lid = src.get("listing")
    if not lid:
        return None, None
    node = prev.table_node(snap.name)
    if snap.schema is not None and schema_to_json(node.schema) != schema_to_json(snap.schema):
        return None, None
    listing = [json.loads(line) for line in prev.store.get_bytes(lid).splitlines()]
    entries = {d["key"]: d for d in table_entries(prev.store, node)}
    out: Reusable = {}
    for item in listing:
        e = entries.get(item.get("key"))
        if e is not None:
            out[item["source"]] = ({k: item.get(k) for k in LISTING_FIELDS}, e)
    return out, node.schema
