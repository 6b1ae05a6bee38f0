"""A package table of a *local* registry as a folder Spark's own Parquet reader can scan.

The Python data source (:mod:`lakepkg.spark.reader`) works everywhere, but
Spark gives Python sources no column pruning and moves every row through a
Python worker. When the registry is a local folder that Spark's executors can
see (``local[*]`` masters), ``Table.to_spark`` instead scans a *view*: a
folder of symbolic links, one per fragment, laid out as Hive-style
``column=value`` partition folders::

    <registry>/views/<table node hash>/ds=2026-11-01/f0000007-<object>.parquet -> ../../objects/ab/ab…

A table node never changes, so neither does its view: it is built once
(under a temporary name, then renamed) and reused. Each link's target comes
from the one reader (:meth:`lakepkg.read.arrow_scan.ArrowScan.paths`), so every
fragment behind a view is hashed in this process before Spark's JVM reads it,
whether the view is built now or was built before. Spark then prunes
partitions and columns and skips row groups natively. The view holds no data
of its own; ``lakepkg gc`` may delete ``views/`` at any time.
"""
from __future__ import annotations

import os
import shutil
import uuid
from typing import Any, Optional

import pyarrow as pa

from lakepkg.read.scan import ScanPlan

VIEW_MARKER = "_LAKEPKG_VIEW_COMPLETE"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # what Spark reads back as NULL


def _escape(value: str) -> str:
    """Percent-escape a partition value for a folder name (Spark unescapes ``%XX``)."""
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in value)


def partition_folder(partition_columns: list[str], values: dict[str, Any]) -> str:
    """``ds=2026-11-01/region=eu`` for a fragment's partition values."""
    parts = []
    for c in partition_columns:
        v = values.get(c)
        parts.append(f"{_escape(c)}={NULL_PARTITION if v is None else _escape(_text(v))}")
    return "/".join(parts)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def supports(schema: pa.Schema, partition_columns: list[str]) -> bool:
    """Whether Spark's Parquet reader gives exactly what the package holds: partition values that
    round-trip through folder names, and no column type Spark's reader refuses or reads otherwise
    (nanosecond timestamps, intervals, half floats, times)."""
    for c in partition_columns:
        t = schema.field(c).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_date32(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)):
            return False
    return all(_native_type(f.type) for f in schema if f.name not in partition_columns)


def _native_type(t: pa.DataType) -> bool:
    if pa.types.is_timestamp(t):
        return t.unit in ("ms", "us")
    if (pa.types.is_duration(t) or pa.types.is_interval(t) or pa.types.is_float16(t) or pa.types.is_time(t)
            or pa.types.is_date64(t) or pa.types.is_null(t)):
        return False
    if pa.types.is_decimal(t):
        return t.precision <= 38
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _native_type(t.value_type)
    if pa.types.is_map(t):
        return _native_type(t.key_type) and _native_type(t.item_type)
    if pa.types.is_struct(t):
        return all(_native_type(t.field(i).type) for i in range(t.num_fields))
    return True


def table_view(store: Any, table: Any) -> Optional[str]:
    """The view folder of a table (a :class:`~lakepkg.read.scan.ScanPlan`, or a loaded
    :class:`~lakepkg.read.package.Table`), built if needed: every task of its pinned table node
    unfiltered (a plan's filters are applied by the reader of the view, not here), each fragment
    hashed before Spark may read it. None when the store is not a local folder or the partition
    types cannot round-trip."""
    plan = table if isinstance(table, ScanPlan) else table.scan()
    root = store.local_root()
    if root is None:
        return None
    if not supports(plan.schema, plan.partition_columns):
        return None
    whole = plan.unfiltered()
    tasks = whole.tasks
    if any(t.deletes for t in tasks):  # Spark's Parquet scan cannot apply deletion vectors
        return None
    targets = whole.reader().paths(tasks)  # verified: hashed on first use in this process
    final = os.path.join(root, "views", plan.table_hash)
    if os.path.exists(os.path.join(final, VIEW_MARKER)):
        return final
    tmp = f"{final}.tmp-{uuid.uuid4().hex[:12]}"
    try:
        made: set[str] = set()
        for i, (task, target) in enumerate(zip(tasks, targets)):
            folder = os.path.join(tmp, partition_folder(plan.partition_columns, task.partition))
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            # fragment number first: the same bytes may be two fragments of one table
            os.symlink(target, os.path.join(folder, f"f{i:08d}-{task.object[:16]}.parquet"))
        os.makedirs(tmp, exist_ok=True)
        open(os.path.join(tmp, VIEW_MARKER), "w").close()
        try:
            os.rename(tmp, final)
        except OSError:  # another process built it first: theirs is identical
            if not os.path.exists(os.path.join(final, VIEW_MARKER)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def prune_views(store: Any, live: set[str], cutoff: float, dry_run: bool = False) -> int:
    """Remove views of table nodes no version references (and abandoned temporary views), older than
    ``cutoff`` (seconds since the epoch), so ``gc`` never leaves links to deleted objects. Returns how many."""
    root = store.local_root()
    folder = os.path.join(root, "views") if root else None
    if not folder or not os.path.isdir(folder):
        return 0
    removed = 0
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        node = name.split(".tmp-", 1)[0]
        if (node in live and ".tmp-" not in name) or os.lstat(path).st_mtime > cutoff:
            continue
        removed += 1
        if not dry_run:
            shutil.rmtree(path, ignore_errors=True)
    return removed


def read_view(spark: Any, path: str, spark_schema: Any, columns: Optional[list[str]]) -> Any:
    """Spark's Parquet reader over a view, with the package's schema and column order."""
    df = (spark.read.schema(spark_schema)
          .option("recursiveFileLookup", "false")
          .option("pathGlobFilter", "*.parquet")
          .parquet(path))
    return df.select(*(columns or [f.name for f in spark_schema.fields]))
