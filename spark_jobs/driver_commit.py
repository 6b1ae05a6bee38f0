"""The driver's last step: table nodes → root → publish, after every object is stored.

Executors only store fragments; the driver writes pages and table nodes
(:func:`lakepkg.format.manifest.build_table_node`), the root
(:class:`lakepkg.write.build.PackageBuilder`, tables added with ``copy_table_from``)
and then publishes with :meth:`lakepkg.registry.Registry.publish`, which
creates the version record only when the root is stored. An error before that
leaves the registry as it was (stored objects are unreferenced until then).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from lakepkg.write.build import PackageBuilder
from lakepkg.config import author
from lakepkg.format.manifest import TableNodeData
from lakepkg.registry import Registry, VersionRecord
from lakepkg.write.run_context import collect
from lakepkg.write.snapshotting import SnapshotResult


SparkSnapshotResult = SnapshotResult  # what the distributed snapshot jobs return


def commit(registry: Registry, to: str, tables: Iterable[tuple[str, TableNodeData]], *,
           sources: Optional[dict[str, Any]] = None, message: str = "", tags: Iterable[str] = (),
           run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
           meta: Optional[dict[str, Any]] = None) -> tuple[VersionRecord, bool]:
    """Write the root over already stored table nodes and publish it as the newest version of ``to``.

    Returns (record, created); ``created`` is False when ``latest`` already has this top hash."""
    builder = PackageBuilder(registry, meta=meta)
    for node_hash, node in tables:
        builder.copy_table_from(node_hash, node)
    built = builder.build()
    return registry.publish(to, built.top_hash, message=message, author=author(), run=collect(run, inputs),
                            sources={**built.sources, **(sources or {})}, tags=tuple(tags))
