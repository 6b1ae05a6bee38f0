"""Bridge to the one publish path (``lakepkg.write.publish``) while it is landing on main.

Delete the fallbacks once ``lakepkg.write.publish`` and ``describe_sources`` are on main: the
provider then uses them directly. The fallbacks do exactly what they will do (describe every
source, then publish through ``Registry.publish`` with the run context), so behaviour and top
hashes do not change when they go.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from lakepkg.registry import Registry

try:  # the publish helper's interface (brief: "Publish")
    from lakepkg.write.publish import publish as _publish
    from lakepkg.write.snapshotting import describe_sources as _describe
    from lakepkg.source.connectors import Source
except ImportError:  # pragma: no cover - removed when the publish path is on main
    _publish = None
    _describe = None
    from dataclasses import dataclass, field

    @dataclass
    class Source:  # type: ignore[no-redef]
        connector: Any
        options: dict[str, Any] = field(default_factory=dict)

        @property
        def name(self) -> str:
            return self.connector if isinstance(self.connector, str) else self.connector.name

        def resolve(self) -> Any:
            from lakepkg.source.connectors import get_connector

            return get_connector(self.connector) if isinstance(self.connector, str) else self.connector

__all__ = ["Source", "describe_sources", "publish"]


def describe_sources(sources: Sequence[Any]) -> list[tuple[Any, Any]]:
    """(source, TableSnapshot) for every table of every source; table names must differ."""
    if _describe is not None:
        return _describe(list(sources))
    from lakepkg.errors import ConfigError

    out: list[tuple[Any, Any]] = []
    seen: set[str] = set()
    for src in sources:
        for snap in src.resolve().snapshot_tables(**src.options):
            if snap.name in seen:
                raise ConfigError(f"table {snap.name!r} comes from two sources; give one of them another name")
            seen.add(snap.name)
            out.append((src, snap))
    return out


class _Result:
    """The fields of ``PublishResult`` the provider reads."""

    def __init__(self, record: Any, created: bool) -> None:
        self.record, self.created = record, created
        self.package, self.top_hash = record.package, record.top_hash
        self.ref = f"{record.package}@{record.top_hash[:10]}"


def publish(registry: Registry, name: str, built: Any, *, message: str = "", author: Optional[str] = None,
            run: Optional[dict[str, Any]] = None, inputs: Optional[list[str]] = None,
            tags: Iterable[str] = ()) -> Any:
    """The one publish (``lakepkg.write.publish.publish``)."""
    if _publish is not None:
        return _publish(registry, name, built, message=message, author=author, run=run, inputs=inputs,
                        tags=tuple(tags))
    from lakepkg.config import author as default_author
    from lakepkg.write.run_context import collect

    rec, created = registry.publish(name, built.top_hash, message=message, author=author or default_author(),
                                    run=collect(run, inputs), sources=built.sources, tags=tuple(tags))
    return _Result(rec, created)
