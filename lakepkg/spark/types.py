"""How a package table's Arrow schema becomes a Spark schema.

Most Arrow types have a Spark twin (pyspark's own ``from_arrow_type``). The
rest get an explicit, lossless choice, applied on read by casting each batch
to :func:`spark_arrow_schema`:

=========================  =========================================
Arrow                      Spark
=========================  =========================================
uint8 / uint16 / uint32    short / int / long (widened)
uint64                     decimal(20, 0)
float16                    float
date64                     date
string_view, binary_view   string, binary
month_day_nano_interval    struct<months: int, days: int, nanoseconds: long>
=========================  =========================================

A type Spark cannot hold at all (a decimal wider than 38 digits, a map with a
nested key Spark refuses, ...) raises :class:`~lakepkg.errors.SchemaMismatchError`
naming the column, before any job runs.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakepkg.errors import SchemaMismatchError, one_line

SPARK_MAX_DECIMAL_DIGITS = 38
INTERVAL_STRUCT = pa.struct([("months", pa.int32()), ("days", pa.int32()), ("nanoseconds", pa.int64())])


def spark_arrow_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type a column is cast to so that Spark can hold it (``t`` itself when it can)."""
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_uint64(t):
        return pa.decimal128(20, 0)
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_date64(t):
        return pa.date32()
    if t == pa.string_view():
        return pa.string()
    if t == pa.binary_view():
        return pa.binary()
    if t == pa.month_day_nano_interval():
        return INTERVAL_STRUCT
    if pa.types.is_dictionary(t):
        return spark_arrow_type(t.value_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(_field(t.value_field))
    if pa.types.is_map(t):
        return pa.map_(_field(t.key_field), _field(t.item_field))
    if pa.types.is_struct(t):
        return pa.struct([_field(t.field(i)) for i in range(t.num_fields)])
    return t


def _field(f: pa.Field) -> pa.Field:
    return pa.field(f.name, spark_arrow_type(f.type), f.nullable)


def spark_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every column cast to a type Spark can hold (metadata dropped)."""
    return pa.schema([_field(f) for f in schema])


def to_spark_schema(schema: pa.Schema, table: str = "table") -> Any:
    """The Spark ``StructType`` of a package table's Arrow schema."""
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StructField, StructType

    fields = []
    for f in spark_arrow_schema(schema):
        try:
            dtype = from_arrow_type(f.type)
        except Exception as exc:  # pyspark raises its own error classes for unsupported types
            raise SchemaMismatchError(
                f"column {f.name!r} of table {table!r} has type {f.type}, which Spark cannot hold "
                f"({one_line(exc, 120)}); read it with to_arrow(), or pass .schema(...) without that column") from None
        for sub in _decimals(dtype):
            if sub.precision > SPARK_MAX_DECIMAL_DIGITS:
                raise SchemaMismatchError(
                    f"column {f.name!r} of table {table!r} is {f.type}: Spark decimals hold at most 38 digits; "
                    f"read it with to_arrow(), or pass .schema(...) without that column")
        fields.append(StructField(f.name, dtype, f.nullable))
    return StructType(fields)


def _decimals(dtype: Any) -> list[Any]:
    """Every DecimalType inside a Spark type."""
    from pyspark.sql.types import ArrayType, DecimalType, MapType, StructType

    if isinstance(dtype, DecimalType):
        return [dtype]
    if isinstance(dtype, ArrayType):
        return _decimals(dtype.elementType)
    if isinstance(dtype, MapType):
        return _decimals(dtype.keyType) + _decimals(dtype.valueType)
    if isinstance(dtype, StructType):
        return [d for f in dtype.fields for d in _decimals(f.dataType)]
    return []


def cast_for_spark(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """Cast ``batch`` column by column to ``target``, the Arrow schema Spark expects
    (``to_arrow_schema`` of the Spark schema): the table above, plus large → regular
    strings/lists, time zones → UTC."""
    cols = []
    for name, field in zip(target.names, target):
        col = batch.column(batch.schema.get_field_index(name))
        if col.type != field.type:
            col = _cast(col, field.type)
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=target)


def _cast(col: pa.Array, to: pa.DataType) -> pa.Array:
    if col.type == pa.month_day_nano_interval():
        vals = col.to_pylist()
        col = pa.array([None if v is None else {"months": v.months, "days": v.days, "nanoseconds": v.nanoseconds}
                        for v in vals], INTERVAL_STRUCT)
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_timestamp(col.type) and col.type.unit == "ns":
        # Spark holds microseconds: nanoseconds are truncated here (documented in docs/spark.md)
        return col.cast(to, safe=False)
    return col.cast(to)
