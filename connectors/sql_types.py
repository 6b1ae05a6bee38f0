"""SQL column types -> Arrow types, for PostgreSQL and MySQL/MariaDB (docs/sql.md lists the table).

Each result column gets a :class:`ColumnPlan`: its Arrow type, the SQL type it
came from (kept in the Arrow field's metadata as ``sql_type``), an optional
SQL expression that replaces the column in the projection (types read as
text, intervals split into parts), and a converter for Python values read
through a DB-API cursor. A type with no faithful Arrow mapping is read as its
SQL text form (``::text``) — never dropped or silently rounded.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pyarrow as pa
import pyarrow.compute  # noqa: F401

#: v3: each field also records ``source_type`` and ``collation`` (:mod:`.sql_declared`); the server
#: version and the user moved from the provenance to the version record
TYPE_MAPPING_VERSION = "lakepkg-sql-types-v3"
UTC = "UTC"


@dataclass
class ColumnPlan:
    name: str
    sql_type: str
    arrow: pa.DataType
    select_dbapi: Optional[str] = None     # projection expression for the DB-API path ({c} = quoted column)
    select_adbc: Optional[str] = None      # projection expression for the ADBC path
    convert: Optional[Callable[[list], list]] = None  # DB-API Python values -> values pa.array accepts
    extra: dict[str, str] = field(default_factory=dict)
    #: a SQL boolean expression ({c} = quoted column), read as a hidden extra column: FALSE marks a
    #: value the Arrow type cannot hold, which fails the snapshot with ``check_problem``
    check_sql: Optional[str] = None
    check_problem: str = ""

    def arrow_field(self) -> pa.Field:
        return pa.field(self.name, self.arrow, nullable=True, metadata={"sql_type": self.sql_type, **self.extra})


# -- PostgreSQL ---------------------------------------------------------------

_PG_SIMPLE: dict[str, pa.DataType] = {
    "int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(), "oid": pa.uint32(),
    "float4": pa.float32(), "float8": pa.float64(), "bool": pa.bool_(),
    "text": pa.string(), "varchar": pa.string(), "bpchar": pa.string(), "name": pa.string(), "citext": pa.string(),
    "bytea": pa.binary(), "date": pa.date32(), "time": pa.time64("us"), "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz=UTC),
}
#: PostgreSQL interval: Parquet cannot store Arrow's month_day_nano_interval, so its three exact
#: components are kept as a struct (months, days, nanoseconds) — no lossy conversion to a duration.
INTERVAL = pa.struct([pa.field("months", pa.int32()), pa.field("days", pa.int32()),
                      pa.field("nanoseconds", pa.int64())])
#: element types whose arrays map to Arrow lists natively; other arrays are read as text[]
_PG_ARRAY_NATIVE = {"int2", "int4", "int8", "float4", "float8", "bool", "text", "varchar", "bpchar", "name",
                    "date", "timestamp", "timestamptz", "bytea"}
#: read as their canonical SQL text (documented choices)
_PG_AS_TEXT = {"uuid", "json", "jsonb", "timetz", "xml", "inet", "cidr", "macaddr", "macaddr8", "money", "bit",
               "varbit", "tsvector", "tsquery", "point", "line", "lseg", "box", "path", "polygon", "circle",
               "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange", "pg_lsn", "jsonpath"}

_INTERVAL_PARTS = ("CASE WHEN {c} IS NULL THEN NULL ELSE ARRAY[(extract(year from {c})*12 + extract(month from {c}))::int8, extract(day from {c})::int8, "
                   "((extract(hour from {c})*3600 + extract(minute from {c})*60)*1000000 "
                   "+ extract(microseconds from {c}))::int8 * 1000] END")


#: PostgreSQL arrays may have several dimensions and any lower bound; an Arrow list has one dimension
#: starting at 1, so anything else fails the snapshot instead of being flattened (ADBC) or reshaped
_ARRAY_CHECK = "(coalesce(array_ndims({c}), 1) = 1 AND coalesce(array_lower({c}, 1), 1) = 1)"
_ARRAY_PROBLEM = ("holds a multi-dimensional array or one whose lower bound is not 1, which has no faithful "
                  "Arrow list form; select array_to_json({name}) or {name}::text in the query")

#: the PostgreSQL range (Julian day 0, i.e. 4714-11-24 BC, to 5874897-12-31) in days since 1970-01-01
PG_MIN_DATE, PG_MAX_DATE = -2_440_588, 2_145_042_905
#: PostgreSQL's earliest timestamp (4714-11-24 BC) in microseconds since 1970; a smaller value read
#: by a binary reader is 'infinity', '-infinity' or a year past 292277 wrapped around int64
PG_MIN_TIMESTAMP_US = -212_760_172_800_000_000
DAY_US = 86_400_000_000


def _interval_parts(values: list) -> list:
    return [None if v is None else {"months": v[0], "days": v[1], "nanoseconds": v[2]} for v in values]


def _as_bytes(values: list) -> list:
    return [None if v is None else bytes(v) for v in values]


def pg_column(name: str, typname: str, typtype: str, elem: Optional[str], precision: Optional[int],
              scale: Optional[int]) -> ColumnPlan:
    """Plan for one PostgreSQL result column (``typname`` from pg_type; ``elem`` for arrays)."""
    if elem is not None:  # an array type
        problem = _ARRAY_PROBLEM.format(name=name)
        if elem in _PG_ARRAY_NATIVE:
            item = _PG_SIMPLE[elem]
            return ColumnPlan(name, f"{elem}[]", pa.list_(item),
                              convert=(lambda vs: [None if v is None else [None if x is None else bytes(x) for x in v] for v in vs])
                              if elem == "bytea" else None, check_sql=_ARRAY_CHECK, check_problem=problem)
        return ColumnPlan(name, f"{elem}[]", pa.list_(pa.string()), select_dbapi="{c}::text[]", select_adbc="{c}::text[]",
                          check_sql=_ARRAY_CHECK, check_problem=problem)
    if typname == "numeric":
        if precision is None or precision <= 0:
            return ColumnPlan(name, "numeric", pa.string(), select_dbapi="{c}::text", select_adbc="{c}::text",
                              extra={"lakepkg_note": "unconstrained numeric read as exact text"})
        t = pa.decimal128(precision, scale or 0) if precision <= 38 else pa.decimal256(precision, scale or 0)
        return ColumnPlan(name, f"numeric({precision},{scale or 0})", t)
    if typname == "interval":
        return ColumnPlan(name, "interval", INTERVAL, select_dbapi=_INTERVAL_PARTS, convert=_interval_parts,
                          extra={"lakepkg_note": "struct of exact interval components (months, days, nanoseconds)"})
    if typname == "bytea":
        return ColumnPlan(name, "bytea", pa.binary(), convert=_as_bytes)
    if typname in _PG_SIMPLE:
        extra = {"tz": UTC} if typname == "timestamptz" else {}
        return ColumnPlan(name, typname, _PG_SIMPLE[typname], extra=extra)
    if typtype == "e":
        return ColumnPlan(name, f"enum {typname}", pa.string(), select_dbapi="{c}::text", select_adbc="{c}::text")
    note = {} if typname in _PG_AS_TEXT else {"lakepkg_note": "no Arrow mapping; read as SQL text"}
    return ColumnPlan(name, typname, pa.string(), select_dbapi="{c}::text", select_adbc="{c}::text", extra=note)


# -- MySQL / MariaDB ----------------------------------------------------------

class _FT:  # pymysql.constants.FIELD_TYPE
    DECIMAL, TINY, SHORT, LONG, FLOAT, DOUBLE, NULL, TIMESTAMP, LONGLONG, INT24 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
    DATE, TIME, DATETIME, YEAR, NEWDATE, VARCHAR, BIT = 10, 11, 12, 13, 14, 15, 16
    JSON, NEWDECIMAL, ENUM, SET, TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB, VAR_STRING, STRING, GEOMETRY = (
        245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255)


_UNSIGNED, _ENUM_FLAG, _SET_FLAG = 32, 256, 2048
_BINARY_CHARSET = 63
_MY_INTS = {_FT.TINY: ("tinyint", pa.int8(), pa.uint8()), _FT.SHORT: ("smallint", pa.int16(), pa.uint16()),
            _FT.INT24: ("mediumint", pa.int32(), pa.uint32()), _FT.LONG: ("int", pa.int32(), pa.uint32()),
            _FT.LONGLONG: ("bigint", pa.int64(), pa.uint64())}
_MY_TEXT = {_FT.VARCHAR, _FT.VAR_STRING, _FT.STRING, _FT.TINY_BLOB, _FT.MEDIUM_BLOB, _FT.LONG_BLOB, _FT.BLOB,
            _FT.ENUM, _FT.SET}


def _to_bool(values: list) -> list:
    """tinyint(1) -> bool; any value other than 0/1 (tinyint(1) stores -128..127) fails: no silent loss."""
    out = []
    for v in values:
        if v is None or v == 0 or v == 1:
            out.append(None if v is None else bool(v))
        else:
            raise ValueError(f"tinyint(1) value {v} is not a boolean (0 or 1); cast the column with CAST(col AS SIGNED)")
    return out


def _my_temporal(kind: str) -> Callable[[list], list]:
    def conv(values: list) -> list:
        out = []
        for v in values:
            if v is not None and isinstance(v, (str, bytes)):
                raise ValueError(f"invalid {kind} value {v!r}")
            out.append(v)
        return out
    return conv


def _bits(values: list) -> list:
    return [None if v is None else int.from_bytes(v, "big") for v in values]


def mysql_column(name: str, type_code: int, flags: int, length: int, scale: int, charsetnr: int) -> ColumnPlan:
    """Plan for one MySQL/MariaDB result column, from the protocol's field descriptor."""
    unsigned = bool(flags & _UNSIGNED)
    if type_code == _FT.TINY and length == 1 and not unsigned:
        return ColumnPlan(name, "tinyint(1)", pa.bool_(), convert=_to_bool)
    if type_code in _MY_INTS:
        sql, signed_t, unsigned_t = _MY_INTS[type_code]
        return ColumnPlan(name, sql + (" unsigned" if unsigned else ""), unsigned_t if unsigned else signed_t)
    if type_code in (_FT.NEWDECIMAL, _FT.DECIMAL):
        precision = length - (1 if scale > 0 else 0) - (0 if unsigned else 1)
        precision = max(precision, 1)
        t = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
        return ColumnPlan(name, f"decimal({precision},{scale})" + (" unsigned" if unsigned else ""), t)
    if type_code == _FT.FLOAT:
        # the text protocol prints FLOAT with 6 significant digits (0.1234567 -> "0.123457"); read it
        # widened to DOUBLE, which prints every digit, and narrow back to float32 exactly
        return ColumnPlan(name, "float" + (" unsigned" if unsigned else ""), pa.float32(), select_dbapi="({c} + 0e0)")
    if type_code == _FT.DOUBLE:
        return ColumnPlan(name, "double", pa.float64())
    if type_code == _FT.YEAR:
        return ColumnPlan(name, "year", pa.int16())
    if type_code in (_FT.DATE, _FT.NEWDATE):
        return ColumnPlan(name, "date", pa.date32(), convert=_my_temporal("date"))
    if type_code == _FT.TIME:
        return ColumnPlan(name, "time", pa.duration("us"),
                          extra={"lakepkg_note": "MySQL TIME is a signed duration (-838:59:59..838:59:59)"})
    if type_code == _FT.DATETIME:
        return ColumnPlan(name, "datetime", pa.timestamp("us"), convert=_my_temporal("datetime"))
    if type_code == _FT.TIMESTAMP:
        return ColumnPlan(name, "timestamp", pa.timestamp("us", tz=UTC), convert=_my_temporal("timestamp"),
                          extra={"tz": UTC})
    if type_code == _FT.JSON:
        return ColumnPlan(name, "json", pa.string())
    if type_code == _FT.BIT:
        return ColumnPlan(name, f"bit({length})", pa.uint64(), convert=_bits)
    if type_code == _FT.GEOMETRY:
        return ColumnPlan(name, "geometry", pa.binary(), extra={"lakepkg_note": "internal WKB-with-SRID bytes"})
    if type_code in _MY_TEXT:
        if flags & _ENUM_FLAG or type_code == _FT.ENUM:
            return ColumnPlan(name, "enum", pa.string())
        if flags & _SET_FLAG or type_code == _FT.SET:
            return ColumnPlan(name, "set", pa.string())
        blob = type_code in (_FT.TINY_BLOB, _FT.MEDIUM_BLOB, _FT.LONG_BLOB, _FT.BLOB)
        if charsetnr == _BINARY_CHARSET:
            return ColumnPlan(name, "blob" if blob else ("binary" if type_code == _FT.STRING else "varbinary"),
                              pa.binary(), convert=_as_bytes)
        return ColumnPlan(name, "text" if blob else ("char" if type_code == _FT.STRING else "varchar"), pa.string())
    if type_code == _FT.NULL:
        return ColumnPlan(name, "null", pa.string())
    return ColumnPlan(name, f"type {type_code}", pa.string(), extra={"lakepkg_note": "unknown MySQL type read as text"},
                      convert=lambda vs: [None if v is None else (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for v in vs])


class UnfaithfulValue(ValueError):
    """A value of a named column that its Arrow type cannot hold: the message names the column, the
    value and the remedy (the connector prefixes the table)."""


_INT_RANGE = {pa.int8(): 2 ** 7, pa.int16(): 2 ** 15, pa.int32(): 2 ** 31, pa.int64(): 2 ** 63}


def _shown(v: Any) -> str:
    text = repr(v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else v)
    return text if len(text) <= 60 else text[:57] + "..."


def remedy(name: str, sql_type: str, value: Any) -> str:
    """What to write in the query instead of the bare column (MySQL and PostgreSQL spellings)."""
    q = name
    if isinstance(value, (str, bytes)) and str(value if isinstance(value, str) else value.decode("latin-1")).startswith("0000-00-00"):
        return (f"it is MySQL's zero date, which is no date: select NULLIF({q}, '0000-00-00') (NULL for it) or "
                f"CAST({q} AS CHAR) (its text) in the query")
    if isinstance(value, int) and not isinstance(value, bool):
        return (f"select CAST({q} AS DECIMAL(20,0)) (exact) or CAST({q} AS CHAR) in the query, or {q}::numeric "
                "on PostgreSQL")
    if isinstance(value, dt.timedelta) or "interval" in sql_type:
        return (f"select {q}::text (its exact text) in the query, or read with method auto/dbapi, which keep "
                "months, days and microseconds apart")
    return f"cast it in the query (CAST({q} AS CHAR) on MySQL, {q}::text on PostgreSQL; docs/sql.md, type mapping)"


def refuse_value(name: str, sql_type: str, arrow: Optional[pa.DataType], values: list, exc: BaseException) -> UnfaithfulValue:
    """The refusal for a column whose values failed to become an Arrow array: finds the first value
    that fails alone and names it, the column and the remedy."""
    bad: Any = None
    found = False
    for v in values:
        if v is None:
            continue
        try:
            pa.array([v], type=arrow) if arrow is not None else pa.array([v])
            if arrow is not None and arrow in _INT_RANGE and isinstance(v, int) and not -_INT_RANGE[arrow] <= v < _INT_RANGE[arrow]:
                raise OverflowError
        except Exception:  # noqa: BLE001 - any failure names this value
            bad, found = v, True
            break
    if not found:  # the array failed as a whole (mixed kinds of values): the first value of another kind
        kinds = [type(v) for v in values if v is not None]
        for v in values:
            if v is not None and kinds and type(v) is not kinds[0]:
                bad, found = v, True
                break
    target = f"Arrow {arrow}" if arrow is not None else "one Arrow type with the column's other values"
    what = f"holds {_shown(bad)}, which has no faithful Arrow form ({target} cannot hold it)" if found else \
        f"has a value with no faithful Arrow form ({target} cannot hold it: {str(exc)[:120]})"
    return UnfaithfulValue(f"column {name!r} ({sql_type}) {what}; {remedy(name, sql_type, bad)}")


def to_array(plan: ColumnPlan, values: list) -> pa.Array:
    """Python values from a DB-API cursor -> an Arrow array of the plan's type; a value the type
    cannot hold raises :class:`UnfaithfulValue` naming the column, the value and the remedy."""
    raw = values
    if plan.convert is not None:
        try:
            values = plan.convert(values)
        except (ValueError, TypeError, OverflowError) as exc:  # the converter's own words, the column, a remedy
            bad = next((v for v in raw if v is not None and _fails(plan.convert, v)), None)
            text = str(exc)
            if "cast" not in text.lower():
                text += "; " + remedy(plan.name, plan.sql_type, bad)
            raise UnfaithfulValue(f"column {plan.name!r} ({plan.sql_type}) has a value with no faithful Arrow form: "
                                  f"{text}") from None
    try:
        return pa.array(values, type=plan.arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError,
            OverflowError) as exc:
        raise refuse_value(plan.name, plan.sql_type, plan.arrow, values, exc) from None


def _fails(convert: Callable[[list], list], v: Any) -> bool:
    try:
        convert([v])
        return False
    except Exception:  # noqa: BLE001
        return True


def coerce_array(plan: ColumnPlan, arr: "pa.Array | pa.ChunkedArray") -> pa.Array:
    """An Arrow column from a native reader (ADBC) -> the plan's type (extension types unwrapped)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    if arr.type == pa.month_day_nano_interval() and plan.arrow == INTERVAL:
        return _mdn_to_struct(arr)
    if arr.type != plan.arrow:
        arr = arr.cast(plan.arrow)
    check_pg_range(plan.name, arr)
    return arr


def check_pg_range(name: str, arr: pa.Array) -> None:
    """Fail on dates, timestamps and times a binary reader produced outside PostgreSQL's range.

    PostgreSQL's binary form stores ``infinity`` as the largest integer; converting it to the 1970
    epoch wraps it around, so without this check it would become a wrong but valid-looking value."""
    values = arr
    while pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        values = values.flatten()
    t = values.type
    if pa.types.is_date32(t):
        lo, hi, what = PG_MIN_DATE, PG_MAX_DATE, "date 'infinity' or '-infinity'"
        ints = values.view(pa.int32())
    elif pa.types.is_timestamp(t) and t.unit == "us":
        lo, hi, what = PG_MIN_TIMESTAMP_US, None, "timestamp 'infinity', '-infinity' or beyond year 292277"
        ints = values.view(pa.int64())
    elif pa.types.is_time64(t) and t.unit == "us":
        lo, hi, what = 0, DAY_US - 1, "time of 24:00:00"
        ints = values.view(pa.int64())
    else:
        return
    if len(ints) == 0 or ints.null_count == len(ints):
        return
    mm = pa.compute.min_max(ints)
    low, high = mm["min"].as_py(), mm["max"].as_py()
    if low < lo or (hi is not None and high > hi):
        raise ValueError(f"column {name!r} holds a {what}, which Arrow cannot store")


def _mdn_to_struct(arr: pa.Array) -> pa.Array:
    import numpy as np

    rec = np.frombuffer(arr.buffers()[1], dtype=[("m", "<i4"), ("d", "<i4"), ("n", "<i8")])[arr.offset: arr.offset + len(arr)]
    mask = None if arr.null_count == 0 else pa.compute.invert(arr.is_valid())
    return pa.StructArray.from_arrays([pa.array(rec["m"]), pa.array(rec["d"]), pa.array(rec["n"])],
                                      fields=list(INTERVAL), mask=mask)


def json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    return str(v)
