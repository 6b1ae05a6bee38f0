"""Hive type mapping and Hive text parsing (no metastore needed)."""
from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from lakepkg.errors import SchemaMismatchError
from lakepkg.metastore.types import (arrow_to_hive, hive_field, hive_schema, hive_to_arrow, partition_path,
                                           partition_value, partition_value_to_str, read_text_file,
                                           spark_json_to_arrow)


@pytest.mark.parametrize("hive,arrow", [
    ("boolean", pa.bool_()), ("tinyint", pa.int8()), ("smallint", pa.int16()), ("int", pa.int32()),
    ("bigint", pa.int64()), ("float", pa.float32()), ("double", pa.float64()), ("string", pa.string()),
    ("varchar(10)", pa.string()), ("char(3)", pa.string()), ("date", pa.date32()),
    ("timestamp", pa.timestamp("ns")), ("binary", pa.binary()), ("decimal(10,2)", pa.decimal128(10, 2)),
    ("decimal", pa.decimal128(10, 0)), ("DECIMAL(38, 18)", pa.decimal128(38, 18)),
    ("array<int>", pa.list_(pa.int32())),
    ("map<string,array<bigint>>", pa.map_(pa.string(), pa.list_(pa.int64()))),
    ("struct<a:int,b:struct<c:decimal(5,1),d:array<string>>>",
     pa.struct([("a", pa.int32()), ("b", pa.struct([("c", pa.decimal128(5, 1)), ("d", pa.list_(pa.string()))]))])),
])
def test_hive_to_arrow(hive, arrow):
    assert hive_to_arrow(hive) == arrow


def test_varchar_char_keep_declared_type_and_round_trip():
    f = hive_field("V", "varchar(10)")
    assert f.name == "v" and f.type == pa.string() and f.metadata == {b"hive_type": b"varchar(10)"}
    assert arrow_to_hive(f.type, f) == "varchar(10)"
    for h in ("int", "bigint", "decimal(12,3)", "array<struct<a:int,b:string>>", "map<string,double>", "date",
              "timestamp", "boolean", "binary", "tinyint", "smallint", "float"):
        assert arrow_to_hive(hive_to_arrow(h)) == h


def test_schema_puts_partition_columns_last_and_unions_fail_clearly():
    s = hive_schema([("id", "int"), ("amt", "decimal(9,2)")], [("ds", "string"), ("hr", "int")])
    assert s.names == ["id", "amt", "ds", "hr"] and s.field("hr").type == pa.int32()
    with pytest.raises(SchemaMismatchError, match="uniontype"):
        hive_to_arrow("uniontype<int,string>")
    with pytest.raises(SchemaMismatchError):
        hive_to_arrow("array<int")


def test_spark_schema_json():
    js = ('{"type":"struct","fields":[{"name":"Id","type":"long","nullable":false,"metadata":{}},'
          '{"name":"v","type":"string","nullable":true,"metadata":{"__CHAR_VARCHAR_TYPE_STRING":"varchar(5)"}},'
          '{"name":"m","type":{"type":"map","keyType":"string","valueType":"decimal(7,2)","valueContainsNull":true},'
          '"nullable":true,"metadata":{}}]}')
    s = spark_json_to_arrow(js)
    assert s.names == ["Id", "v", "m"]
    assert s.field("Id").type == pa.int64() and s.field("m").type == pa.map_(pa.string(), pa.decimal128(7, 2))
    assert s.field("v").metadata == {b"hive_type": b"varchar(5)"}


def test_partition_values_typed_and_escaped():
    assert partition_value("42", pa.int32()) == 42
    assert partition_value("__HIVE_DEFAULT_PARTITION__", pa.string()) is None
    assert partition_value("2026-11-01", pa.date32()) == "2026-11-01"
    assert partition_value("1.50", pa.decimal128(5, 2)) == "1.50"
    assert partition_value_to_str(None) == "__HIVE_DEFAULT_PARTITION__"
    assert partition_value_to_str("2026-01-01T10:00:00") == "2026-01-01 10:00:00"
    assert partition_path(["k", "p"], ["a/b", "x=y"]) == "k=a%2Fb/p=x%3Dy"
    with pytest.raises(SchemaMismatchError):
        partition_value("abc", pa.int64())


def test_text_file_default_delimiters_nested_and_nulls(tmp_path):
    p = tmp_path / "000000_0"
    rows = [
        "1\x01a\x012026-01-02 03:04:05.123456789\x0112.345\x011\x022\x023\x01k1\x031\x02k2\x032\x01x\x02true\x012026-01-02",
        "2\x01\\N\x01\\N\x01bad\x01\x01\x01\\N\x01\\N\x01\\N",
        "3\x01only-two-fields",
    ]
    p.write_text("\n".join(rows) + "\n")
    schema = hive_schema([("id", "int"), ("name", "string"), ("ts", "timestamp"), ("amt", "decimal(6,2)"),
                          ("arr", "array<int>"), ("m", "map<string,int>"), ("s", "struct<a:string,b:boolean>"),
                          ("d", "date")])
    t = read_text_file(str(p), schema, {"serialization.format": "1"})
    assert t.schema.equals(schema)
    r = t.to_pylist()
    assert r[0]["id"] == 1 and r[0]["name"] == "a"
    assert r[0]["amt"] == decimal.Decimal("12.35")
    assert r[0]["arr"] == [1, 2, 3] and r[0]["m"] == [("k1", 1), ("k2", 2)]
    assert r[0]["s"] == {"a": "x", "b": True} and r[0]["d"] == dt.date(2026, 1, 2)
    assert t.column("ts")[0].value == 1767323045123456789  # nanoseconds kept
    assert r[1]["name"] is None and r[1]["ts"] is None and r[1]["amt"] is None  # 'bad' decimal reads NULL as in Hive
    assert r[2] == {"id": 3, "name": "only-two-fields", "ts": None, "amt": None, "arr": None, "m": None,
                    "s": None, "d": None}


def test_text_file_custom_delimiter_and_null_format(tmp_path):
    p = tmp_path / "data.csv"
    p.write_text("1,x,NULL\n2,NULL,2.5\n")
    schema = hive_schema([("id", "bigint"), ("name", "varchar(4)"), ("v", "double")])
    t = read_text_file(str(p), schema, {"field.delim": ",", "serialization.null.format": "NULL"})
    assert t.to_pylist() == [{"id": 1, "name": "x", "v": None}, {"id": 2, "name": None, "v": 2.5}]
