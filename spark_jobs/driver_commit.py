"""The driver's last step: table nodes → root → publish, after every object is stored.

Executors only store fragments; the driver writes pages and table nodes
(:func:`lakepkg.format.manifest.build_table_node`), the root
(:class:`lakepkg.write.build.PackageBuilder`, tables added with ``copy_table_from``)
and then publishes through :func:`lakepkg.write.publish.publish` (the one
publish), which creates the version record only when the root is stored. An
error before that leaves the registry as it was (stored objects are
unreferenced until then).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from lakepkg.format.manifest import TableNodeData
from lakepkg.registry import Registry
from lakepkg.write.build import PackageBuilder
from lakepkg.write.publish import PublishResult


@dataclass
class CommittedTable:
    """One table the executors stored: its node, what the version record keeps, per-table facts."""

    node_hash: str
    node: TableNodeData
    source: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def commit(registry: Registry, to: str, tables: Iterable[CommittedTable], *, message: str = "",
           tags: Iterable[str] = (), run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
           meta: Optional[dict[str, Any]] = None) -> PublishResult:
    """Write the root over already stored table nodes and publish it as the newest version of ``to``.

    ``created`` is False when ``latest`` already has this top hash."""
    builder = PackageBuilder(registry, meta=meta)
    for t in tables:
        builder.copy_table_from(t.node_hash, t.node, facts=t.facts, source=t.source)
    return builder.publish(to, message, run=run, inputs=inputs, tags=tags)
