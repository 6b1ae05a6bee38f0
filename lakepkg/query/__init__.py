"""Reproduce a query: SQL written for the live tables, in their dialect, answered from a snapshot.

    from lakepkg.query import query
    query("SELECT ... FROM public.flights ...", package="air/flights@3fa2c1")   # -> pyarrow.Table

Modules, one job each: :mod:`.dialects` (which dialect), :mod:`.parse` (one SELECT, nothing that
writes), :mod:`.names` (which package table a name means), :mod:`.transpile` (names to snapshot
tables, types, engine SQL), :mod:`.source_types` (each column as the source declared it),
:mod:`.semantics` (the source's meaning where the engine's differs: :mod:`.strings`,
:mod:`.numbers`), :mod:`.formats` (date formats),
:mod:`.tables` (the pinned tables as the dialect sees them), :mod:`.duck` (DuckDB),
:mod:`.spark_engine` (Spark), :mod:`.api` (the entry point).
"""
from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["query", "plan"]


def query(sql: str, package: Any, **kwargs: Any) -> Any:
    """See :func:`lakepkg.query.api.query`."""
    from lakepkg.query.api import query as impl

    return impl(sql, package, **kwargs)


def plan(sql: str, package: Any, **kwargs: Any) -> Any:
    """See :func:`lakepkg.query.api.plan`."""
    from lakepkg.query.api import plan as impl

    return impl(sql, package, **kwargs)


class _CallableModule(types.ModuleType):
    """``lakepkg.query`` is this package and also the function: ``lakepkg.query(sql, package=...)``."""

    def __call__(self, sql: str, package: Any, **kwargs: Any) -> Any:
        return query(sql, package, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
