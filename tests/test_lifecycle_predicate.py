"""--where predicates: SQL text to lakepkg filter terms, typed per version's schema, NULL-safe,
and redaction of a column only newer versions have."""
from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pyarrow as pa
import pytest

import lakepkg
from lakepkg.errors import ConfigError
from lakepkg.governance import redact, where_used
from lakepkg.governance.predicate import matching_mask, parse_predicate


@pytest.mark.parametrize("text, dnf", [
    ("customer_id = 42", [[("customer_id", "=", 42)]]),
    ("42 < a", [[("a", ">", 42)]]),
    ("a <> 'x'", [[("a", "!=", "x")]]),
    ("a = 1 AND (b = 'x' OR c IN (1, 2))", [[("a", "=", 1), ("b", "=", "x")], [("a", "=", 1), ("c", "in", [1, 2])]]),
    ("NOT (a = 1 AND b > 2)", [[("a", "!=", 1)], [("b", "<=", 2)]]),
    ("a NOT IN (1, 2)", [[("a", "not in", [1, 2])]]),
    ("x BETWEEN 1 AND 5", [[("x", ">=", 1), ("x", "<=", 5)]]),
    ("NOT x BETWEEN 1 AND 5", [[("x", "<", 1)], [("x", ">", 5)]]),
    ("d = DATE '2026-11-01'", [[("d", "=", "2026-11-01")]]),
    ("a = -3.5 OR flag = TRUE", [[("a", "=", -3.5)], [("flag", "=", True)]]),
])
def test_parse(text, dnf):
    p = parse_predicate(text, "t")
    assert [list(c) for c in p.conjs] == dnf
    assert p.digest == parse_predicate(f"  {text} ", "t").digest != parse_predicate(text, "other").digest


@pytest.mark.parametrize("text, msg", [
    ("", "empty"),
    ("a IS NULL", "not supported"),
    ("a = b", "not a literal"),
    ("a IN (SELECT 1)", "IN \\(SELECT"),
    ("a = = 1", "not a SQL predicate|not supported"),
    ("a = NULL", "NULL never match"),
    ("upper(a) = 'X'", "needs a column on one side"),
])
def test_parse_errors_are_one_line(text, msg):
    with pytest.raises(ConfigError, match=msg) as info:
        parse_predicate(text, "t")
    assert "\n" not in str(info.value)


def test_typed_per_schema_and_null_never_matches():
    schema = pa.schema([("d", pa.date32()), ("n", pa.int64()), ("s", pa.string())])
    p = parse_predicate("d BETWEEN DATE '2026-11-01' AND '2026-11-02' AND n IN (1, 3.0) OR s != 'a'", "t")
    conjs = p.for_schema(schema)
    assert conjs[0][0] == ("d", ">=", dt.date(2026, 11, 1)) and conjs[0][2] == ("n", "in", [1, 3])
    t = pa.table({"d": [dt.date(2026, 11, 1), dt.date(2026, 11, 3), None, dt.date(2026, 11, 2)],
                  "n": [1, 1, 3, None], "s": ["a", "a", None, "a"]}, schema=schema)
    assert matching_mask(t, conjs).to_pylist() == [True, False, False, False]
    with pytest.raises(ConfigError, match="not a valid int64 value for column 'n'"):
        parse_predicate("n = 'abc'", "t").for_schema(schema)
    assert parse_predicate("missing = 1", "t").for_schema(schema) is None  # a column this version lacks


def test_a_column_only_newer_versions_have(registry):
    b = lakepkg.PackageBuilder(registry)
    b.add_table("users", pd.DataFrame({"id": [1, 2, 3]}))
    old = b.publish("crm/users", "before email").record
    b = lakepkg.PackageBuilder(registry)
    b.add_table("users", pd.DataFrame({"id": [1, 2, 3, 4], "email": ["a@x", "b@x", "gone@x", None]}))
    new = b.publish("crm/users", "with email").record
    use = where_used(table="users", where="email = 'gone@x' OR id = 4", registry=registry)
    assert [(v.top_hash, v.rows) for v in use.versions] == [(new.top_hash, 2)]
    rep = redact("users", "email = 'gone@x' OR id = 4", reason="erasure", packages=["crm/users"], registry=registry)
    assert [v["old"] for v in rep.versions] == [new.top_hash] and rep.rows_removed == 2
    assert registry.resolve(f"crm/users@{old.top_hash}").key == old.key  # untouched, no notice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = lakepkg.load(f"crm/users@{new.top_hash}", registry)["users"].to_pandas()
    assert sorted(df["id"]) == [1, 2] and list(df["email"]) == ["a@x", "b@x"]
