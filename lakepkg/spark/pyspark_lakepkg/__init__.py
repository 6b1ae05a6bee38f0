"""Registers lakepkg's ``pkg`` data source with Spark.

Spark (4.1+) imports, when a session first needs a Python data source, every
installed top-level module whose name starts with ``pyspark_`` and registers
its ``DefaultSource`` (``pyspark/sql/worker/lookup_data_sources.py``). This
module is installed as the top-level ``pyspark_lakepkg``, so
``spark.read.format("pkg")`` works with no set-up once lakepkg is installed.
"""
from lakepkg.spark.reader import PkgDataSource as DefaultSource

__all__ = ["DefaultSource"]
