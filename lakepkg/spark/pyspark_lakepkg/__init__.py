"""Registers the lakepkg `pkg` data source with Spark (top-level pyspark_* module)."""
