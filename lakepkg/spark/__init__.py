"""Spark integration: the ``pkg`` data source, ``to_spark`` and query reproduction."""
from __future__ import annotations

from typing import Any


def table_to_spark(spark: Any, table: Any) -> Any:
    """A Spark DataFrame of a package table (implemented in lakepkg.spark.reader)."""
    from .reader import table_to_spark as impl

    return impl(spark, table)
