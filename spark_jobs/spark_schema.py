"""What a Spark query result looks like to lakepkg: its Arrow schema and its key.

* :func:`arrow_schema_for` — the Arrow schema lakepkg stores for a Spark
  DataFrame (zoned timestamps labelled UTC whatever the session time zone,
  no large types, no writer metadata). A Spark type with no Arrow form
  (``interval``, ``variant``, user types) is a
  :class:`~lakepkg.errors.SchemaMismatchError` naming the column.
  (The other way round, package table → Spark, is :mod:`lakepkg.spark.types`.)
* :func:`key_columns_for` / :func:`orderable` — which columns can key the
  content-defined chunking and which can break ties in a sort.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError, SchemaMismatchError, one_line
from lakepkg.format.schema_json import logical_schema

UTC = "UTC"


def _spark_types() -> Any:
    from pyspark.sql import types as T

    return T


def _is_variant(dt: Any) -> bool:
    return type(dt).__name__ == "VariantType"


def _contains(dt: Any, pred: Any) -> bool:
    T = _spark_types()
    if pred(dt):
        return True
    if isinstance(dt, T.ArrayType):
        return _contains(dt.elementType, pred)
    if isinstance(dt, T.MapType):
        return _contains(dt.keyType, pred) or _contains(dt.valueType, pred)
    if isinstance(dt, T.StructType):
        return any(_contains(f.dataType, pred) for f in dt.fields)
    return False


def arrow_schema_for(schema: Any, what: str) -> pa.Schema:
    """The Arrow schema lakepkg stores for a Spark ``StructType`` (``what`` names the table in errors)."""
    from pyspark.sql.pandas.types import to_arrow_type

    names = [f.name for f in schema.fields]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ConfigError(f"{what}: several columns are named {', '.join(dups)}; give each column its own alias")
    fields = []
    for f in schema.fields:
        if _contains(f.dataType, _is_variant):
            raise SchemaMismatchError(f"{what}: column {f.name!r} is a Spark variant, which lakepkg cannot store; "
                                      f"cast it in the query, e.g. to_json({f.name})")
        try:
            t = to_arrow_type(f.dataType, timezone=UTC)
        except Exception as exc:  # PySparkTypeError and friends: no Arrow form
            raise SchemaMismatchError(
                f"{what}: column {f.name!r} has Spark type {f.dataType.simpleString()}, which lakepkg cannot store "
                f"({one_line(exc, 120)}); cast it in the query, e.g. CAST({f.name} AS STRING)") from None
        fields.append(pa.field(f.name, t, f.nullable))
    return logical_schema(pa.schema(fields))


_KEY_TYPES = ("ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType",
              "BooleanType", "StringType", "CharType", "VarcharType", "BinaryType", "DateType", "TimestampType",
              "TimestampNTZType", "DayTimeIntervalType", "TimeType")


def can_key(dt: Any) -> bool:
    """True when a column of Spark type ``dt`` can be part of the chunking key (a flat, ordered type)."""
    return type(dt).__name__ in _KEY_TYPES


def orderable(dt: Any) -> bool:
    """True when Spark can sort by a column of type ``dt`` (maps and variants cannot be sorted)."""
    T = _spark_types()
    if isinstance(dt, T.MapType) or _is_variant(dt):
        return False
    if isinstance(dt, T.ArrayType):
        return orderable(dt.elementType)
    if isinstance(dt, T.StructType):
        return all(orderable(f.dataType) for f in dt.fields)
    return True


def key_columns_for(schema: Any, key: Optional[Sequence[str]], what: str) -> tuple[list[str], str]:
    """(key columns, how they were chosen). Without ``key``: every column that can be a key."""
    by_name = {f.name: f for f in schema.fields}
    if key:
        missing = [k for k in key if k not in by_name]
        if missing:
            raise ConfigError(f"{what}: key column(s) {', '.join(missing)} are not in the result; columns are "
                              f"{', '.join(by_name)}")
        bad = [k for k in key if not can_key(by_name[k].dataType)]
        if bad:
            raise ConfigError(f"{what}: key column(s) {', '.join(bad)} have a nested or unordered type "
                              f"({', '.join(by_name[k].dataType.simpleString() for k in bad)}); key by flat columns")
        dups = sorted({k for k in key if list(key).count(k) > 1})
        if dups:
            raise ConfigError(f"{what}: key column(s) {', '.join(dups)} are given twice")
        return list(key), "given"
    cols = [f.name for f in schema.fields if can_key(f.dataType)]
    if not cols:
        raise ConfigError(f"{what}: no column can order the rows (all are nested); give --key columns")
    return cols, "all orderable columns (no key given)"


def tie_breakers(schema: Any, key: Sequence[str]) -> list[str]:
    """Columns after the key that make the sort total when the key is not unique: every other
    orderable column, and maps whose keys and values are orderable (sorted by their entries)."""
    T = _spark_types()
    out = []
    for f in schema.fields:
        if f.name in key:
            continue
        dt = f.dataType
        if orderable(dt) or (isinstance(dt, T.MapType) and orderable(dt.keyType) and orderable(dt.valueType)):
            out.append(f.name)
    return out
