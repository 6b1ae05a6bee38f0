"""Owners of files derived from a store, which gc asks to prune what no version needs any more.

gc knows nothing of the layers above it. A layer that keeps derived files
beside a store (Spark's views of table nodes, say) registers a *keeper*: a
callable ``keeper(store, live, cutoff, dry_run) -> int`` that removes what it
holds for objects not in ``live`` and older than ``cutoff`` (epoch seconds),
returning how many it removed. Keepers are registered in-process with
:func:`register_keeper` (a layer does it when imported) or declared as entry
points in the group ``lakepkg.gc_keepers``, so gc finds them even in a process
that never imported that layer.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Protocol

from lakepkg.store.base import ObjectStore

ENTRY_POINT_GROUP = "lakepkg.gc_keepers"


class Keeper(Protocol):
    def __call__(self, store: ObjectStore, live: set[str], cutoff: float, dry_run: bool) -> int: ...


_registered: dict[str, Keeper] = {}


def register_keeper(name: str, keeper: Keeper) -> None:
    """Register (or replace) the keeper called ``name``."""
    _registered[name] = keeper


def keepers() -> dict[str, Keeper]:
    """Every keeper: those registered in this process and those declared as entry points."""
    found: dict[str, Keeper] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _registered:
            fn: Callable[..., int] = ep.load()
            found[ep.name] = fn
    return {**found, **_registered}


__all__ = ["Keeper", "register_keeper", "keepers", "ENTRY_POINT_GROUP"]
