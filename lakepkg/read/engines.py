"""Engines that consume a :class:`~lakepkg.read.scan.ScanPlan` from a higher layer (Spark).

The read layer never imports the layers above it: ``plan.to_spark(spark)`` looks the
``spark`` engine up by name in the ``lakepkg.engines`` entry-point group (lakepkg
declares ``spark = lakepkg.spark.engine:plan_to_spark``), the way connectors are
found. A third party may add an engine the same way, or call :func:`register_engine`.
An engine is ``fn(engine_session, plan, **options)``.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Callable

from lakepkg.errors import ConfigError

GROUP = "lakepkg.engines"
Engine = Callable[..., Any]
_ENGINES: dict[str, Engine] = {}


def register_engine(name: str, fn: Engine) -> None:
    """Make ``fn`` the engine called ``name`` in this process."""
    _ENGINES[name] = fn


def engine(name: str) -> Engine:
    """The engine called ``name``: registered in this process, else from the entry-point group."""
    if name not in _ENGINES:
        for ep in entry_points(group=GROUP):
            if ep.name == name:
                try:
                    _ENGINES[name] = ep.load()
                except ImportError as exc:
                    raise ConfigError(f"the {name!r} read engine cannot be imported ({exc}); install lakepkg with "
                                      f"the {name!r} extra, e.g. pip install 'lakepkg[{name}]'") from None
                break
        else:
            raise ConfigError(f"no {name!r} read engine is installed (entry-point group {GROUP!r}); "
                              f"install lakepkg with the {name!r} extra, e.g. pip install 'lakepkg[{name}]'")
    return _ENGINES[name]
