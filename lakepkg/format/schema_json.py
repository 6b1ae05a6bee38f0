"""Arrow schemas as canonical JSON, and back.

The JSON form is independent of the pyarrow version (unlike IPC bytes or
``str(type)``), so a schema hashes the same years later. Each type is an
object with a ``type`` name and its parameters; docs/format.md lists them.
"""
from __future__ import annotations

from typing import Any

import pyarrow as pa

from lakepkg.errors import IntegrityError, SchemaMismatchError

_SIMPLE = {
    "null": pa.null(), "bool": pa.bool_(),
    "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "string": pa.string(), "large_string": pa.large_string(), "string_view": pa.string_view(),
    "binary": pa.binary(), "large_binary": pa.large_binary(), "binary_view": pa.binary_view(),
    "date32": pa.date32(), "date64": pa.date64(),
    "month_day_nano_interval": pa.month_day_nano_interval(),
}
_SIMPLE_BY_TYPE = {v: k for k, v in _SIMPLE.items()}


def type_to_json(t: pa.DataType) -> dict[str, Any]:
    """Describe an Arrow type as a JSON object."""
    if t in _SIMPLE_BY_TYPE:
        return {"type": _SIMPLE_BY_TYPE[t]}
    if pa.types.is_timestamp(t):
        return {"type": "timestamp", "unit": t.unit, "tz": t.tz}
    if pa.types.is_time32(t) or pa.types.is_time64(t):
        return {"type": "time", "unit": t.unit, "bits": t.bit_width}
    if pa.types.is_duration(t):
        return {"type": "duration", "unit": t.unit}
    if pa.types.is_decimal(t):
        return {"type": "decimal", "precision": t.precision, "scale": t.scale, "bits": t.bit_width}
    if pa.types.is_fixed_size_binary(t):
        return {"type": "fixed_size_binary", "width": t.byte_width}
    if pa.types.is_fixed_size_list(t):
        return {"type": "fixed_size_list", "size": t.list_size, "item": field_to_json(t.value_field)}
    if pa.types.is_large_list(t):
        return {"type": "large_list", "item": field_to_json(t.value_field)}
    if pa.types.is_list(t):
        return {"type": "list", "item": field_to_json(t.value_field)}
    if pa.types.is_map(t):
        return {"type": "map", "key": field_to_json(t.key_field), "value": field_to_json(t.item_field),
                "keys_sorted": t.keys_sorted}
    if pa.types.is_struct(t):
        return {"type": "struct", "fields": [field_to_json(t.field(i)) for i in range(t.num_fields)]}
    if pa.types.is_dictionary(t):
        return {"type": "dictionary", "index": type_to_json(t.index_type),
                "value": type_to_json(t.value_type), "ordered": t.ordered}
    if isinstance(t, pa.ExtensionType):
        return {"type": "extension", "name": t.extension_name, "storage": type_to_json(t.storage_type)}
    raise SchemaMismatchError(f"Arrow type {t} has no lakepkg schema mapping; cast the column to a standard type")


def type_from_json(d: dict[str, Any]) -> pa.DataType:
    """Inverse of :func:`type_to_json`."""
    try:
        name = d["type"]
        if name in _SIMPLE:
            return _SIMPLE[name]
        if name == "timestamp":
            return pa.timestamp(d["unit"], tz=d.get("tz"))
        if name == "time":
            return pa.time32(d["unit"]) if d["bits"] == 32 else pa.time64(d["unit"])
        if name == "duration":
            return pa.duration(d["unit"])
        if name == "decimal":
            if d.get("bits", 128) == 256:
                return pa.decimal256(d["precision"], d["scale"])
            return pa.decimal128(d["precision"], d["scale"])
        if name == "fixed_size_binary":
            return pa.binary(d["width"])
        if name == "fixed_size_list":
            return pa.list_(field_from_json(d["item"]), d["size"])
        if name == "large_list":
            return pa.large_list(field_from_json(d["item"]))
        if name == "list":
            return pa.list_(field_from_json(d["item"]))
        if name == "map":
            return pa.map_(field_from_json(d["key"]), field_from_json(d["value"]), d.get("keys_sorted", False))
        if name == "struct":
            return pa.struct([field_from_json(f) for f in d["fields"]])
        if name == "dictionary":
            return pa.dictionary(type_from_json(d["index"]), type_from_json(d["value"]), d.get("ordered", False))
        if name == "extension":
            return type_from_json(d["storage"])
    except (KeyError, TypeError) as exc:
        raise IntegrityError(f"malformed type in manifest schema: {d!r} ({exc})") from None
    raise IntegrityError(f"unknown type {d.get('type')!r} in manifest schema; upgrade lakepkg")


def _meta_to_json(md: dict | None) -> dict[str, str] | None:
    if not md:
        return None
    out = {}
    for k, v in md.items():
        ks = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
        if ks.startswith("ARROW:") or ks == "pandas":
            continue  # writer-specific, not part of the logical schema
        out[ks] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return out or None


def field_to_json(f: pa.Field) -> dict[str, Any]:
    """Describe an Arrow field as JSON (name, type, nullable, optional metadata)."""
    d: dict[str, Any] = {"name": f.name, "nullable": f.nullable, **type_to_json(f.type)}
    md = _meta_to_json(f.metadata)
    if md:
        d["metadata"] = md
    return d


def field_from_json(d: dict[str, Any]) -> pa.Field:
    """Inverse of :func:`field_to_json`."""
    try:
        return pa.field(d["name"], type_from_json(d), nullable=d.get("nullable", True), metadata=d.get("metadata"))
    except KeyError as exc:
        raise IntegrityError(f"malformed field in manifest schema: missing {exc}") from None


def schema_to_json(schema: pa.Schema) -> list[dict[str, Any]]:
    """Describe a schema as a JSON list of fields (schema-level metadata is dropped)."""
    return [field_to_json(f) for f in schema]


def schema_from_json(fields: list[dict[str, Any]]) -> pa.Schema:
    """Inverse of :func:`schema_to_json`."""
    if not isinstance(fields, list):
        raise IntegrityError("manifest schema is not a list of fields")
    return pa.schema([field_from_json(f) for f in fields])


def logical_schema(schema: pa.Schema) -> pa.Schema:
    """Drop writer metadata (pandas, ARROW:schema) so equal data gives an equal schema."""
    return schema_from_json(schema_to_json(schema))
