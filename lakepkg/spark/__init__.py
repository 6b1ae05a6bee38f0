"""Spark integration: the ``pkg`` data source, ``to_spark`` and query reproduction.

    df = spark.read.format("pkg").load("sales/orders@3fa2c1/orders")
    df = lakepkg.spark.read(spark, "sales/orders:prod/orders")
    df = lakepkg.load("sales/orders@3fa2c1")["orders"].to_spark(spark)

The entry functions, each defined once and re-exported here on first use: ``register``
(:mod:`lakepkg.spark.reader`), ``read``, ``to_spark``, ``table_to_spark``, ``plan_to_spark``
(:mod:`lakepkg.spark.engine`) and ``use_snapshot`` (:mod:`lakepkg.spark.reproduce`). Importing this
package does not import pyspark; its functions do.
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {"register": "reader", "read": "engine", "to_spark": "engine", "table_to_spark": "engine",
            "plan_to_spark": "engine", "use_snapshot": "reproduce"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'lakepkg.spark' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"lakepkg.spark.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
