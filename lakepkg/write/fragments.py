"""Parquet fragments: writing Arrow data with fixed settings, and describing a Parquet file.

A fragment's statistics (per column min/max/null count) come from the
Parquet footer, so a copied source file and a freshly written one are
described the same way. Values are stored as JSON scalars: numbers as
numbers, dates and times as ISO strings, decimals as strings.

Statistics are bounds (docs/format.md, "Statistics are bounds"): a stored min
is <= every value and a stored max >= every value. Where the stored form is
coarser than the column (nanosecond timestamps and times are stored to the
microsecond) the min is rounded down and the max up; a value with no faithful
bound (NaN, ±inf, strings over 64 characters, bytes, nested) gets no min/max.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from lakepkg.errors import IntegrityError, SchemaMismatchError
from lakepkg.format.manifest import Entry
from lakepkg.format.schema_json import logical_schema
from lakepkg.store.base import ObjectStore

#: the writer settings every fragment lakepkg writes uses; recorded in the table node
WRITER_SETTINGS: dict[str, Any] = {
    "format": "parquet",
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 1_048_576,
    "data_page_size": 1_048_576,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}
MAX_STAT_LEN = 64


def writer_settings() -> dict[str, Any]:
    """Settings plus the pyarrow version that applied them."""
    return {**WRITER_SETTINGS, "library": f"pyarrow {pa.__version__}"}


def stat_value(v: Any, upper: bool = False) -> Any:
    """A footer statistic as a JSON scalar (None when it cannot be represented faithfully).

    ``upper``: the value is a max, rounded up where the stored form is coarser (a nanosecond
    timestamp's sub-microsecond digits); a min is rounded down (truncated)."""
    nanos: int = getattr(v, "nanosecond", 0) if isinstance(v, _dt.datetime) else 0
    if upper and nanos:
        v = v + _dt.timedelta(microseconds=1)  # a pandas Timestamp: its nanoseconds are cut below
    if v is None or isinstance(v, bool) or isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, str):
        return v if len(v) <= MAX_STAT_LEN else None
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return v.isoformat(timespec="microseconds")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return None  # bytes and nested types: no stats


def _time_ceil(ns: int) -> Optional[str]:
    """A time of day given in nanoseconds, rounded up to the microsecond (None past the last one)."""
    us = -(-ns // 1000)
    if us >= 86_400_000_000:
        return None
    return _dt.time(us // 3_600_000_000, us // 60_000_000 % 60, us // 1_000_000 % 60, us % 1_000_000).isoformat()


@dataclass
class ParquetDescription:
    schema: pa.Schema
    rows: int
    stats: dict[str, dict[str, Any]]


def describe_parquet(path_or_file: Any, what: str = "file") -> ParquetDescription:
    """Schema, row count and per-column min/max/nulls of a Parquet file, from its footer."""
    try:
        pf = pq.ParquetFile(path_or_file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IntegrityError(f"{what} is not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    md = pf.metadata
    schema = pf.schema_arrow
    stats: dict[str, dict[str, Any]] = {}
    top = {i: md.schema.column(i).path.split(".")[0] for i in range(md.num_columns)}
    leaf_count: dict[str, int] = {}
    for name in top.values():
        leaf_count[name] = leaf_count.get(name, 0) + 1
    for ci in range(md.num_columns):
        name = top[ci]
        if leaf_count[name] != 1 or "." in md.schema.column(ci).path:
            continue  # nested columns: no stats
        lt = str(md.schema.column(ci).logical_type)
        time_ns = lt.startswith("Time(") and "nanoseconds" in lt  # read back as datetime.time, cut to microseconds
        mx_raw: Optional[int] = None
        mn = mx = None
        nulls = 0
        ok = True
        for rg in range(md.num_row_groups):
            c = md.row_group(rg).column(ci)
            s = c.statistics
            if s is None or not s.has_min_max:
                if md.row_group(rg).num_rows and (s is None or s.null_count != md.row_group(rg).num_rows):
                    ok = False
                if s is not None and s.has_null_count:
                    nulls += s.null_count
                else:
                    nulls = None  # type: ignore[assignment]
                continue
            try:
                lo, hi = s.min, s.max
            except Exception:
                ok = False
                continue
            mn = lo if mn is None or lo < mn else mn
            mx = hi if mx is None or hi > mx else mx
            if time_ns:
                mx_raw = int(s.max_raw) if mx_raw is None else max(mx_raw, int(s.max_raw))
            if nulls is not None and s.has_null_count:
                nulls += s.null_count
            else:
                nulls = None  # type: ignore[assignment]
        entry: dict[str, Any] = {}
        if ok and mn is not None:
            jmn, jmx = stat_value(mn), stat_value(mx, upper=True)
            if time_ns and mx_raw is not None and mx_raw % 1000:
                jmx = _time_ceil(mx_raw)
            if jmn is not None and jmx is not None:
                entry["min"], entry["max"] = jmn, jmx
        if nulls is not None:
            entry["nulls"] = nulls
        if entry:
            stats[name] = entry
    return ParquetDescription(schema=schema, rows=md.num_rows, stats=stats)


def write_fragment(
    store: ObjectStore,
    table: pa.Table,
    key: str,
    partition: Optional[dict[str, Any]] = None,
    tmp_dir: Optional[str] = None,
) -> Entry:
    """Write ``table`` as one Parquet fragment with :data:`WRITER_SETTINGS`, store it, return its entry."""
    s = WRITER_SETTINGS
    fd, tmp = tempfile.mkstemp(prefix="lakepkg-frag-", suffix=".parquet", dir=tmp_dir)
    os.close(fd)
    try:
        pq.write_table(
            table, tmp, compression=s["compression"], compression_level=s["compression_level"],
            row_group_size=s["row_group_size"], data_page_size=s["data_page_size"],
            use_dictionary=s["use_dictionary"], write_statistics=s["write_statistics"],
            version=s["version"], data_page_version=s["data_page_version"],
        )
        desc = describe_parquet(tmp)
        digest, size, _written = _adopt(store, tmp)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return Entry(key=key, object=digest, size=size, kind="fragment", rows=desc.rows,
                 partition=partition or None, stats=desc.stats or None)


def _adopt(store: ObjectStore, tmp: str) -> tuple[str, int, bool]:
    return store.adopt_file(tmp)


def check_schema(table_name: str, expected: Optional[pa.Schema], got: pa.Schema, where: str) -> pa.Schema:
    """The logical schema of a fragment must equal its table's; returns the table schema."""
    got_l = logical_schema(got)
    if expected is None:
        return got_l
    if [(f.name, f.type) for f in got_l] != [(f.name, f.type) for f in expected]:
        diff = []
        exp_f = {f.name: f for f in expected}
        got_f = {f.name: f for f in got_l}
        for n in sorted(set(exp_f) | set(got_f)):
            a, b = exp_f.get(n), got_f.get(n)
            if a is None or b is None or a.type != b.type:
                diff.append(f"{n}: {a.type if a else 'absent'} vs {b.type if b else 'absent'}")
        raise SchemaMismatchError(
            f"table {table_name!r}: {where} has a different schema ({'; '.join(diff[:3]) or 'nullability/metadata'}); make all fragments share one schema"
        )
    return expected


def with_vector(store: ObjectStore, entry: dict[str, Any], deleted: Any, physical: int) -> dict[str, Any]:
    """``entry`` (JSON) with a deletion vector of the ``deleted`` row positions of its
    ``physical``-row file; the vector object is stored (docs/format.md, "Deletion vectors")."""
    import numpy as np

    from lakepkg.format.deletion_vector import encode

    data = encode(np.asarray(deleted, dtype=np.int64), physical)
    digest = store.put_bytes(data)
    out = {k: v for k, v in entry.items() if k != "deletes"}
    out["rows"] = physical - len(deleted)
    out["deletes"] = {"object": digest, "count": int(len(deleted)), "size": len(data)}
    return out
