"""Hive column types <-> Arrow types, Spark schema JSON -> Arrow, and partition values.

Mapping (Hive -> Arrow), used for the table schema of a snapshot:

=====================  ==========================================================
Hive                   Arrow
=====================  ==========================================================
boolean                bool
tinyint/smallint       int8 / int16
int/integer, bigint    int32 / int64
float, double          float32 / float64
decimal(p,s)           decimal128(p, s) (decimal = decimal(10,0); p > 38: decimal256)
string                 string
varchar(n), char(n)    string, field metadata ``hive_type`` = the declared type
date                   date32
timestamp              timestamp[ns] (Hive keeps nanoseconds; Spark writes INT96)
timestamp with local   timestamp[ns, UTC]
time zone
binary                 binary
interval_day_time      duration[ns]
array<t>               list<element: t>
map<k,v>               map<k, v>
struct<a:t,...>        struct<a: t, ...>
uniontype<...>         not supported (clear error)
=====================  ==========================================================

Every field is nullable (Hive has no NOT NULL on data columns).
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import SchemaMismatchError

__all__ = ["parse_hive_type", "hive_to_arrow", "hive_field", "hive_schema", "arrow_to_hive",
           "spark_json_to_arrow", "partition_value", "partition_value_to_str", "HIVE_DEFAULT_PARTITION"]

HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"

_PRIMITIVE = {
    "boolean": pa.bool_(), "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(),
    "integer": pa.int32(), "bigint": pa.int64(), "float": pa.float32(), "double": pa.float64(),
    "double precision": pa.float64(), "string": pa.string(), "date": pa.date32(),
    "timestamp": pa.timestamp("ns"), "binary": pa.binary(), "void": pa.null(),
    "timestamp with local time zone": pa.timestamp("ns", tz="UTC"),
    "interval_day_time": pa.duration("ns"),
}


class _Parser:
    """Recursive-descent parser for Hive type strings (``map<string,array<struct<a:int>>>``)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, what: str) -> SchemaMismatchError:
        return SchemaMismatchError(f"cannot parse Hive type {self.s!r}: {what} at position {self.i}")

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        self.ws()
        return self.s[self.i] if self.i < len(self.s) else ""

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise self.fail(f"expected {ch!r}")
        self.i += 1

    def ident(self) -> str:
        self.ws()
        j = self.i
        if j < len(self.s) and self.s[j] == "`":
            k = self.s.index("`", j + 1)
            self.i = k + 1
            return self.s[j + 1:k]
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] in "_$"):
            self.i += 1
        if j == self.i:
            raise self.fail("expected a name")
        return self.s[j:self.i]

    def number(self) -> int:
        self.ws()
        j = self.i
        while self.i < len(self.s) and self.s[self.i].isdigit():
            self.i += 1
        if j == self.i:
            raise self.fail("expected a number")
        return int(self.s[j:self.i])

    def type_(self) -> tuple:
        name = self.ident().lower()
        if name == "array":
            self.expect("<")
            t = self.type_()
            self.expect(">")
            return ("array", t)
        if name == "map":
            self.expect("<")
            k = self.type_()
            self.expect(",")
            v = self.type_()
            self.expect(">")
            return ("map", k, v)
        if name == "struct":
            self.expect("<")
            fields = []
            if self.peek() != ">":
                while True:
                    fname = self.ident()
                    self.expect(":")
                    fields.append((fname, self.type_()))
                    if self.peek() == ",":
                        self.i += 1
                        continue
                    break
            self.expect(">")
            return ("struct", fields)
        if name == "uniontype":
            raise SchemaMismatchError(f"Hive type {self.s!r}: uniontype has no Arrow equivalent lakepkg supports")
        if name in ("decimal", "numeric"):
            p, s = 10, 0
            if self.peek() == "(":
                self.i += 1
                p = self.number()
                if self.peek() == ",":
                    self.i += 1
                    s = self.number()
                self.expect(")")
            return ("decimal", p, s)
        if name in ("varchar", "char"):
            self.expect("(")
            n = self.number()
            self.expect(")")
            return (name, n)
        if name == "double" and self.s[self.i:].lstrip().lower().startswith("precision"):
            self.ident()
        if name == "timestamp" and self.s[self.i:].lstrip().lower().startswith("with local time zone"):
            for _ in range(4):
                self.ident()
            return ("prim", "timestamp with local time zone")
        if name not in _PRIMITIVE:
            raise SchemaMismatchError(f"Hive type {name!r} (in {self.s!r}) has no Arrow mapping in lakepkg")
        return ("prim", name)


def parse_hive_type(text: str) -> tuple:
    """Parse a Hive type string into a small tuple tree."""
    p = _Parser(text)
    t = p.type_()
    if p.peek() != "":
        raise p.fail("unexpected text")
    return t


def _to_arrow(t: tuple) -> pa.DataType:
    kind = t[0]
    if kind == "prim":
        return _PRIMITIVE[t[1]]
    if kind in ("varchar", "char"):
        return pa.string()
    if kind == "decimal":
        p, s = t[1], t[2]
        if not 1 <= p <= 76 or not 0 <= s <= p:
            raise SchemaMismatchError(f"decimal({p},{s}) is not a valid decimal type")
        return pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)
    if kind == "array":
        return pa.list_(pa.field("element", _to_arrow(t[1])))
    if kind == "map":
        return pa.map_(_to_arrow(t[1]), _to_arrow(t[2]))
    if kind == "struct":
        return pa.struct([pa.field(n, _to_arrow(ft)) for n, ft in t[1]])
    raise SchemaMismatchError(f"unsupported Hive type node {t!r}")


def hive_to_arrow(text: str) -> pa.DataType:
    """The Arrow type for a Hive type string."""
    return _to_arrow(parse_hive_type(text))


def hive_field(name: str, hive_type: str) -> pa.Field:
    """An Arrow field for a Hive column; varchar/char keep their declared type as metadata."""
    t = parse_hive_type(hive_type)
    md = {"hive_type": hive_type.lower().replace(" ", "")} if t[0] in ("varchar", "char") else None
    return pa.field(name.lower(), _to_arrow(t), nullable=True, metadata=md)


def hive_schema(columns: Sequence[tuple[str, str]], partition_keys: Sequence[tuple[str, str]] = ()) -> pa.Schema:
    """Arrow schema of a Hive table: data columns then partition columns."""
    return pa.schema([hive_field(n, t) for n, t in list(columns) + list(partition_keys)])


def arrow_to_hive(t: pa.DataType, field: Optional[pa.Field] = None) -> str:
    """The Hive type string for an Arrow type (used by restore when no Hive schema is recorded)."""
    if field is not None and field.metadata and b"hive_type" in field.metadata:
        return field.metadata[b"hive_type"].decode()
    if pa.types.is_boolean(t):
        return "boolean"
    for at, h in ((pa.int8(), "tinyint"), (pa.int16(), "smallint"), (pa.int32(), "int"), (pa.int64(), "bigint"),
                  (pa.uint8(), "smallint"), (pa.uint16(), "int"), (pa.uint32(), "bigint"),
                  (pa.float16(), "float"), (pa.float32(), "float"), (pa.float64(), "double"), (pa.date32(), "date"),
                  (pa.date64(), "date")):
        if t == at:
            return h
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_dictionary(t):
        return arrow_to_hive(t.value_type)
    if pa.types.is_map(t):
        return f"map<{arrow_to_hive(t.key_type)},{arrow_to_hive(t.item_type)}>"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array<{arrow_to_hive(t.value_type, t.value_field)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{t.field(i).name}:{arrow_to_hive(t.field(i).type, t.field(i))}"
                                    for i in range(t.num_fields)) + ">"
    raise SchemaMismatchError(f"Arrow type {t} has no Hive equivalent; cast the column before restoring")


# -- Spark datasource schemas (table property spark.sql.sources.schema) ------------------------

_SPARK_SIMPLE = {
    "boolean": pa.bool_(), "byte": pa.int8(), "short": pa.int16(), "integer": pa.int32(), "long": pa.int64(),
    "float": pa.float32(), "double": pa.float64(), "string": pa.string(), "binary": pa.binary(),
    "date": pa.date32(), "timestamp": pa.timestamp("ns"), "timestamp_ntz": pa.timestamp("ns"),
    "null": pa.null(), "void": pa.null(),
}


def _spark_type(t: Any) -> pa.DataType:
    if isinstance(t, str):
        if t in _SPARK_SIMPLE:
            return _SPARK_SIMPLE[t]
        if t.startswith("decimal("):
            p, s = t[len("decimal("):-1].split(",")
            return _to_arrow(("decimal", int(p), int(s)))
        if t.startswith(("varchar(", "char(")):
            return pa.string()
        raise SchemaMismatchError(f"Spark type {t!r} has no Arrow mapping in lakepkg")
    kind = t.get("type")
    if kind == "array":
        return pa.list_(pa.field("element", _spark_type(t["elementType"])))
    if kind == "map":
        return pa.map_(_spark_type(t["keyType"]), _spark_type(t["valueType"]))
    if kind == "struct":
        return pa.struct([_spark_field(f) for f in t["fields"]])
    if kind == "udt":
        return _spark_type(t["sqlType"])
    raise SchemaMismatchError(f"Spark type {kind!r} has no Arrow mapping in lakepkg")


def _spark_field(f: dict[str, Any]) -> pa.Field:
    hive_type = (f.get("metadata") or {}).get("__CHAR_VARCHAR_TYPE_STRING")
    md = {"hive_type": hive_type} if hive_type else None
    return pa.field(f["name"], _spark_type(f["type"]), nullable=True, metadata=md)


def spark_json_to_arrow(schema_json: str) -> pa.Schema:
    """Arrow schema from Spark's ``spark.sql.sources.schema`` JSON (all fields nullable)."""
    try:
        d = json.loads(schema_json)
    except ValueError:
        raise SchemaMismatchError("the table's spark.sql.sources.schema property is not valid JSON") from None
    return pa.schema([_spark_field(f) for f in d.get("fields", [])])


# -- partition values ---------------------------------------------------------------------------

def partition_value(raw: Optional[str], t: pa.DataType) -> Any:
    """A partition value from the metastore (a string) as a JSON scalar of Arrow type ``t``."""
    if raw is None or raw == HIVE_DEFAULT_PARTITION:
        return None
    try:
        if pa.types.is_integer(t):
            return int(raw)
        if pa.types.is_floating(t):
            return float(raw)
        if pa.types.is_boolean(t):
            return raw.strip().lower() == "true"
        if pa.types.is_decimal(t):
            return str(decimal.Decimal(raw))
        if pa.types.is_date(t):
            return dt.date.fromisoformat(raw.strip()).isoformat()
        if pa.types.is_timestamp(t):
            return dt.datetime.fromisoformat(raw.strip()).isoformat()
    except (ValueError, decimal.InvalidOperation):
        raise SchemaMismatchError(f"partition value {raw!r} is not a valid {t}") from None
    return raw


def partition_value_to_str(v: Any) -> str:
    """A partition value as the string Hive stores (inverse of :func:`partition_value`)."""
    if v is None:
        return HIVE_DEFAULT_PARTITION
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str) and "T" in v and len(v) >= 19 and v[4] == "-" and v[10] == "T":
        return v.replace("T", " ", 1)
    return str(v)


# Hive's FileUtils.escapePathName: these characters are %XX-escaped in partition folder names
_ESCAPE = set('"#%\'*/:=?\\\x7f{[]^') | {chr(c) for c in range(1, 32)}


def escape_path_name(s: str) -> str:
    """Escape a partition key or value for a folder name, as Hive does."""
    return "".join(f"%{ord(c):02X}" if c in _ESCAPE else c for c in s)


def partition_path(keys: list[str], values: list[str]) -> str:
    """``k1=v1/k2=v2`` as Hive names partition folders."""
    return "/".join(f"{escape_path_name(k)}={escape_path_name(v)}" for k, v in zip(keys, values))


# -- text files (LazySimpleSerDe, OpenCSVSerde, Spark csv) ------------------------------------------

def _delim(v: Optional[str], default: str) -> str:
    """Hive's LazySerDeParameters.getByte: a number is a byte value, else the first character."""
    if v is None or v == "":
        return default
    try:
        return chr(int(v))
    except ValueError:
        return v[0]


def _parse_scalar(s: Optional[str], t: pa.DataType) -> Any:
    """One text value as a Python value of Arrow type ``t`` (None when Hive would read NULL)."""
    if s is None:
        return None
    if pa.types.is_string(t):
        return s
    if pa.types.is_binary(t):
        import base64
        import binascii

        try:
            return base64.b64decode(s, validate=True)
        except (binascii.Error, ValueError):
            return s.encode()
    s = s.strip()
    if s == "":
        return None
    try:
        if pa.types.is_boolean(t):
            return {"true": True, "false": False}.get(s.lower())
        if pa.types.is_integer(t):
            return int(s)
        if pa.types.is_floating(t):
            return float(s)
        if pa.types.is_decimal(t):
            d = decimal.Decimal(s)
            q = decimal.Decimal(1).scaleb(-t.scale)
            d = d.quantize(q, rounding=decimal.ROUND_HALF_UP)
            return d if len(d.as_tuple().digits) <= t.precision else None
        if pa.types.is_date(t):
            return dt.date.fromisoformat(s[:10])
        if pa.types.is_timestamp(t):
            return pa.scalar(s).cast(t).as_py() if "." in s else dt.datetime.fromisoformat(s)
    except (ValueError, decimal.InvalidOperation, pa.ArrowInvalid, OverflowError):
        return None
    return s


def _parse_nested(s: Optional[str], t: pa.DataType, seps: list[str], level: int, null: str) -> Any:
    if s is None or s == null:
        return None
    if pa.types.is_list(t):
        if s == "":
            return []
        return [_parse_nested(x, t.value_type, seps, level + 1, null) for x in s.split(seps[level])]
    if pa.types.is_map(t):
        if s == "":
            return []
        out = []
        for item in s.split(seps[level]):
            k, _, v = item.partition(seps[level + 1])
            out.append((_parse_nested(k, t.key_type, seps, level + 2, null),
                        _parse_nested(v, t.item_type, seps, level + 2, null)))
        return out
    if pa.types.is_struct(t):
        parts = s.split(seps[level])
        return {t.field(i).name: _parse_nested(parts[i] if i < len(parts) else None, t.field(i).type, seps,
                                                level + 1, null) for i in range(t.num_fields)}
    return _parse_scalar(s, t)


def _column_from_strings(values: pa.ChunkedArray, t: pa.DataType, seps: list[str], null: str) -> pa.Array:
    """Convert a column of text values to type ``t`` (fast Arrow cast, then a per-value fallback)."""
    if pa.types.is_string(t):
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    import pyarrow.compute as pc

    if not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_boolean(t)):
        try:
            stripped = pc.utf8_trim_whitespace(values)
            cleaned = pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped)
            return cleaned.cast(t).combine_chunks()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    py = values.to_pylist()
    return pa.array([_parse_nested(v, t, seps, 1, null) for v in py], type=t)


def read_text_file(path: str, schema: pa.Schema, serde: dict[str, str], fmt: str = "text") -> pa.Table:
    """Read one Hive text data file into an Arrow table of ``schema`` (data columns only).

    ``fmt``: ``text`` (LazySimpleSerDe: ``field.delim``/``serialization.format``, default \\x01;
    ``collection.delim`` \\x02; ``mapkey.delim`` \\x03; ``serialization.null.format`` ``\\N``;
    ``escape.delim``), ``opencsv`` (OpenCSVSerde: ``separatorChar``, ``quoteChar``, ``escapeChar``)
    or ``csv`` (Spark ``USING csv``: ``sep``/``delimiter``, ``header``, ``quote``, ``escape``, ``nullValue``).
    Values Hive cannot parse as the column's type read as NULL, as in Hive."""
    import pyarrow.csv as pcsv

    n = len(schema)
    names = [f"c{i}" for i in range(n)]
    if fmt == "text":
        fd = _delim(serde.get("field.delim") or serde.get("serialization.format"), "\x01")
        coll = _delim(serde.get("collection.delim") or serde.get("colelction.delim"), "\x02")
        mk = _delim(serde.get("mapkey.delim"), "\x03")
        seps = [fd, coll, mk] + [chr(c) for c in range(4, 9)]
        null = serde.get("serialization.null.format", "\\N")
        esc = serde.get("escape.delim")
        parse = pcsv.ParseOptions(delimiter=fd, quote_char=False, escape_char=esc[0] if esc else False,
                                  newlines_in_values=False)
        skip = 0
        null_values = [null]
    elif fmt == "opencsv":
        fd = serde.get("separatorChar", ",")[:1] or ","
        seps = [fd, "\x02", "\x03"]
        null = "\x00never"
        parse = pcsv.ParseOptions(delimiter=fd, quote_char=serde.get("quoteChar", '"')[:1] or False,
                                  escape_char=serde.get("escapeChar", "\\")[:1] or False)
        skip = int(serde.get("skip.header.line.count", "0") or 0)
        null_values = []
    else:  # Spark csv datasource
        fd = (serde.get("sep") or serde.get("delimiter") or ",")
        fd = "\t" if fd == "\\t" else fd[:1]
        seps = [fd, "\x02", "\x03"]
        null = serde.get("nullValue", "")
        parse = pcsv.ParseOptions(delimiter=fd, quote_char=serde.get("quote", '"')[:1] or False,
                                  escape_char=serde.get("escape", "\\")[:1] or False)
        skip = 1 if str(serde.get("header", "false")).lower() == "true" else 0
        null_values = [null]
    convert = pcsv.ConvertOptions(column_types={c: pa.string() for c in names}, null_values=null_values,
                                  strings_can_be_null=bool(null_values), quoted_strings_can_be_null=False)
    try:
        raw = pcsv.read_csv(path, read_options=pcsv.ReadOptions(column_names=names, skip_rows=skip,
                                                                block_size=16 << 20),
                            parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid:
        raw = _read_text_slow(path, n, fd, null, skip)
    cols = [_column_from_strings(raw.column(i), f.type, seps, null) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(cols, schema=schema)


def _read_text_slow(path: str, n: int, fd: str, null: str, skip: int) -> pa.Table:
    """Rows with more or fewer fields than columns: extra fields are dropped, missing ones are NULL (as Hive)."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    cols: list[list[Optional[str]]] = [[] for _ in range(n)]
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="\n") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            line = line.rstrip("\n").rstrip("\r")
            parts = line.split(fd)
            for j in range(n):
                v = parts[j] if j < len(parts) else None
                cols[j].append(None if v == null else v)
    return pa.table({f"c{j}": pa.array(cols[j], pa.string()) for j in range(n)})
