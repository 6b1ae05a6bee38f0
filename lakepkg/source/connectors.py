"""Connector discovery: source systems plug in through the ``lakepkg.source.connectors`` entry-point group.

A connector is an object with a ``name`` and a ``snapshot_tables(**options)``
method returning :class:`lakepkg.source.table_snapshot.TableSnapshot` objects. It only
reads its source; :func:`lakepkg.write.snapshotting.snapshot` stores and publishes.
A third party registers one in its own pyproject::

    [project.entry-points."lakepkg.source.connectors"]
    mysource = "my_pkg.lakepkg_connector:connector"
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from lakepkg.errors import ConfigError, one_line
from lakepkg.source.table_snapshot import TableSnapshot

GROUP = "lakepkg.source.connectors"


@runtime_checkable
class Connector(Protocol):
    name: str

    def snapshot_tables(self, **options: Any) -> list[TableSnapshot]:
        """Read the source and describe the tables to snapshot (consistent with each other)."""
        ...


def available() -> list[str]:
    """Names of installed connectors."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def get_connector(name: str) -> Connector:
    """Load the connector registered under ``name``."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except ImportError as exc:
                raise ConfigError(f"connector {name!r} needs an optional dependency: {one_line(exc)}; "
                                  f"install it with `pip install 'lakepkg[{name}]'`") from None
    raise ConfigError(f"no connector named {name!r}; installed: {', '.join(available()) or 'none'}")
