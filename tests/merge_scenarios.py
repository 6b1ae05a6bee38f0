"""Merge scenarios in the shape of Dolt's merge tests (``dolt_queries_merge.go``: an ancestor, a
left and a right script, then the expected table or conflicts), for tests/test_merge_scenarios.py.

Each scenario gives the ancestor's tables, ours' and theirs' tables (whole: what each side
published after its changes), the key, and either the expected merged rows or the expected
conflicts (table → the conflicting keys and their ``conflict_columns``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

from lakepkg.source.table_snapshot import TableSnapshot
from lakepkg.write.build import PackageBuilder
from lakepkg.write.chunking import ChunkingParams
from lakepkg.write.previous import previous_version

Rows = list[dict[str, Any]]
CHAR_KEY = pa.schema([pa.field("code", pa.string(), metadata={"sql_type": "bpchar"}), pa.field("v", pa.int64())])
# as lakepkg records a MariaDB VARCHAR key under its default collation (case-insensitive, PAD SPACE)
CI_KEY = pa.schema([pa.field("code", pa.string(), metadata={"sql_type": "varchar", "source_type": "varchar(8)",
                                                             "collation": "utf8mb4_general_ci"}),
                    pa.field("v", pa.int64())])


def r(*rows: tuple) -> Rows:
    """Rows of (id, a, b)."""
    return [{"id": i, "a": a, "b": b} for i, a, b in rows]


BASE = r((1, 10, "x"), (2, 20, "y"), (3, 30, "z"), *[(i, i * 10, "w") for i in range(4, 21)])
MISSING = object()


def NARROW(rows: Rows) -> pa.Table:
    """``rows`` with ``a`` as int32."""
    return pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.int64()), ("a", pa.int32()), ("b", pa.string())]))


def edit(rows: Rows, *, update: Optional[dict[int, dict[str, Any]]] = None, delete: tuple = (),
         insert: Rows = (), key: str = "id") -> Rows:  # type: ignore[assignment]
    """``rows`` with some updated (id → new cells), deleted (ids) and inserted."""
    out = []
    for row in rows:
        if row[key] in delete:
            continue
        row = dict(row)
        for k, v in (update or {}).get(row[key], {}).items():
            if v is MISSING:
                row.pop(k)
            else:
                row[k] = v
        out.append(row)
    return out + list(insert)


def drop(rows: Rows, col: str) -> Rows:
    return [{k: v for k, v in row.items() if k != col} for row in rows]


def add_col(rows: Rows, col: str, f: Any) -> Rows:
    return [{**row, col: f(row)} for row in rows]


@dataclass
class Scenario:
    name: str
    ancestor: dict[str, Any]
    ours: dict[str, Any]
    theirs: dict[str, Any]
    expected: Optional[dict[str, Any]] = None          # table → rows (None: a conflict is expected)
    conflicts: dict[str, list[tuple[Any, list[str]]]] = field(default_factory=dict)  # table → [(key, conflict_columns)]
    key: Optional[list[str]] = ("id",)                 # type: ignore[assignment]
    strategy: str = "fail"
    schemas: dict[str, pa.Schema] = field(default_factory=dict)   # table → schema for ours/theirs/ancestor rows
    files: Optional[tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes], dict[str, bytes]]] = None
    schema_conflict: Optional[str] = None               # a column expected in _schema
    table_conflict: Optional[str] = None                # a table expected in _tables


def T(rows: Rows) -> dict[str, Any]:
    return {"t": rows}


S = Scenario
SCENARIOS = [
    S("insert on ours only", T(BASE), T(edit(BASE, insert=r((30, 300, "n")))), T(BASE),
      T(edit(BASE, insert=r((30, 300, "n"))))),
    S("insert different keys on both", T(BASE), T(edit(BASE, insert=r((30, 300, "o")))),
      T(edit(BASE, insert=r((31, 310, "t")))), T(edit(BASE, insert=r((30, 300, "o"), (31, 310, "t"))))),
    S("insert same key, same row on both", T(BASE), T(edit(BASE, insert=r((30, 300, "s")))),
      T(edit(BASE, insert=r((30, 300, "s")))), T(edit(BASE, insert=r((30, 300, "s"))))),
    S("insert same key, different rows: conflict", T(BASE), T(edit(BASE, insert=r((30, 300, "o")))),
      T(edit(BASE, insert=r((30, 301, "o")))), conflicts={"t": [(30, ["(row)"])]}),
    S("update different columns of one row: merged cell by cell", T(BASE), T(edit(BASE, update={2: {"a": 21}})),
      T(edit(BASE, update={2: {"b": "Y"}})), T(edit(BASE, update={2: {"a": 21, "b": "Y"}}))),
    S("update same cell to the same value", T(BASE), T(edit(BASE, update={3: {"a": 33}})),
      T(edit(BASE, update={3: {"a": 33}})), T(edit(BASE, update={3: {"a": 33}}))),
    S("update same cell differently: conflict", T(BASE), T(edit(BASE, update={3: {"a": 31}})),
      T(edit(BASE, update={3: {"a": 32}})), conflicts={"t": [(3, ["a"])]}),
    S("update on theirs only", T(BASE), T(BASE), T(edit(BASE, update={5: {"b": "five"}})),
      T(edit(BASE, update={5: {"b": "five"}}))),
    S("updates of different rows on both", T(BASE), T(edit(BASE, update={4: {"a": 1}})),
      T(edit(BASE, update={17: {"a": 2}})), T(edit(BASE, update={4: {"a": 1}, 17: {"a": 2}}))),
    S("update ours, delete theirs: conflict", T(BASE), T(edit(BASE, update={2: {"a": 22}})),
      T(edit(BASE, delete=(2,))), conflicts={"t": [(2, ["(row)"])]}),
    S("delete ours, update theirs: conflict", T(BASE), T(edit(BASE, delete=(2,))),
      T(edit(BASE, update={2: {"b": "q"}})), conflicts={"t": [(2, ["(row)"])]}),
    S("delete the same row on both", T(BASE), T(edit(BASE, delete=(6,))), T(edit(BASE, delete=(6,))),
      T(edit(BASE, delete=(6,)))),
    S("delete on ours, other rows changed on theirs", T(BASE), T(edit(BASE, delete=(6, 7))),
      T(edit(BASE, update={8: {"a": 0}}, insert=r((40, 1, "n")))),
      T(edit(BASE, delete=(6, 7), update={8: {"a": 0}}, insert=r((40, 1, "n"))))),
    S("key change on ours (delete + insert), update of another row on theirs", T(BASE),
      T(edit(BASE, delete=(1,), insert=r((100, 10, "x")))), T(edit(BASE, update={2: {"b": "B"}})),
      T(edit(BASE, delete=(1,), update={2: {"b": "B"}}, insert=r((100, 10, "x"))))),
    S("key change on ours, update of the old key on theirs: conflict", T(BASE),
      T(edit(BASE, delete=(1,), insert=r((100, 10, "x")))), T(edit(BASE, update={1: {"a": 11}})),
      conflicts={"t": [(1, ["(row)"])]}),
    S("NULL set on ours, other column on theirs", T(BASE), T(edit(BASE, update={9: {"a": None}})),
      T(edit(BASE, update={9: {"b": "nine"}})), T(edit(BASE, update={9: {"a": None, "b": "nine"}}))),
    S("NULL on ours, a value on theirs: conflict", T(BASE), T(edit(BASE, update={9: {"a": None}})),
      T(edit(BASE, update={9: {"a": 5}})), conflicts={"t": [(9, ["a"])]}),
    S("NULL set on both sides: taken once", T(BASE), T(edit(BASE, update={10: {"b": None}})),
      T(edit(BASE, update={10: {"b": None}})), T(edit(BASE, update={10: {"b": None}}))),
    S("NULL in the base replaced on one side", T(edit(BASE, update={11: {"a": None}})),
      T(edit(BASE, update={11: {"a": None}})), T(edit(BASE, update={11: {"a": 0}})), T(edit(BASE, update={11: {"a": 0}}))),
    S("NULL key is a value", T(edit(BASE, insert=r((None, 0, "nk")))), T(edit(BASE, insert=r((None, 1, "nk")))),
      T(edit(BASE, insert=r((None, 0, "nk2")))), T(edit(BASE, insert=r((None, 1, "nk2"))))),
    S("CHAR keys compare without padding: conflict", {"c": [{"code": "ab", "v": 1}]},
      {"c": [{"code": "ab", "v": 1}, {"code": "cd ", "v": 2}]}, {"c": [{"code": "ab", "v": 1}, {"code": "cd", "v": 3}]},
      conflicts={"c": [("cd ", ["(row)"])]}, key=["code"], schemas={"c": CHAR_KEY}),
    S("CHAR keys: an update of a padded key merges", {"c": [{"code": "ab ", "v": 1}, {"code": "x", "v": 0}]},
      {"c": [{"code": "ab ", "v": 5}, {"code": "x", "v": 0}]}, {"c": [{"code": "ab ", "v": 1}, {"code": "x", "v": 9}]},
      {"c": [{"code": "ab ", "v": 5}, {"code": "x", "v": 9}]}, key=["code"], schemas={"c": CHAR_KEY}),
    S("MariaDB case-insensitive PAD SPACE key: 'Cd ' and 'cd' are one key: conflict", {"c": [{"code": "ab", "v": 1}]},
      {"c": [{"code": "ab", "v": 1}, {"code": "Cd ", "v": 2}]}, {"c": [{"code": "ab", "v": 1}, {"code": "cd", "v": 3}]},
      conflicts={"c": [("Cd ", ["(row)"])]}, key=["code"], schemas={"c": CI_KEY}),
    S("composite key: rows sharing a first column", {"k": [{"k1": 1, "k2": i, "v": i} for i in range(6)]},
      {"k": [{"k1": 1, "k2": i, "v": 100 if i == 2 else i} for i in range(6)]},
      {"k": [{"k1": 1, "k2": i, "v": 200 if i == 3 else i} for i in range(6) if i != 5]},
      {"k": [{"k1": 1, "k2": i, "v": {2: 100, 3: 200}.get(i, i)} for i in range(5)]}, key=["k1", "k2"]),
    S("composite key: insert/insert different rows: conflict", {"k": [{"k1": 1, "k2": 1, "v": 1}]},
      {"k": [{"k1": 1, "k2": 1, "v": 1}, {"k1": 2, "k2": 1, "v": 5}]},
      {"k": [{"k1": 1, "k2": 1, "v": 1}, {"k1": 2, "k2": 1, "v": 6}]}, conflicts={"k": [({"k1": 2, "k2": 1}, ["(row)"])]},
      key=["k1", "k2"]),
    S("scattered changes over fragments with vectors on both sides", T(r(*[(i, i, "v") for i in range(1, 401)])),
      T(edit(r(*[(i, i, "v") for i in range(1, 401)]), update={i: {"a": -i} for i in range(5, 400, 37)}, delete=(7, 200))),
      T(edit(r(*[(i, i, "v") for i in range(1, 401)]), update={i: {"b": "t"} for i in range(5, 400, 53)}, delete=(8, 300),
             insert=r((1000, 0, "new")))),
      T(edit(r(*[(i, i, "v") for i in range(1, 401)]),
             update={i: {**({"a": -i} if (i - 5) % 37 == 0 else {}), **({"b": "t"} if (i - 5) % 53 == 0 else {})}
                     for i in range(1, 401)}, delete=(7, 200, 8, 300), insert=r((1000, 0, "new"))))),
    S("column added on ours: NULL in theirs' new rows", T(BASE), T(add_col(BASE, "c", lambda row: row["id"] * 2)),
      T(edit(BASE, insert=r((50, 5, "t")))), T(add_col(BASE, "c", lambda row: row["id"] * 2) + [{"id": 50, "a": 5, "b": "t", "c": None}])),
    S("column added on theirs, a row changed and one removed on ours: theirs' fragments kept", T(BASE),
      T(edit(BASE, update={4: {"a": 44}}, delete=(5,))), T(add_col(BASE, "c", lambda row: row["id"] % 3)),
      T(add_col(edit(BASE, update={4: {"a": 44}}, delete=(5,)), "c", lambda row: row["id"] % 3))),
    S("column added on both sides with one type", T(BASE), T(add_col(BASE, "c", lambda row: 1)),
      T(add_col(BASE, "c", lambda row: 1)), T(add_col(BASE, "c", lambda row: 1))),
    S("column added on both sides with two types: conflict", T(BASE), T(add_col(BASE, "c", lambda row: 1)),
      T(add_col(BASE, "c", lambda row: "one")), schema_conflict="c"),
    S("type changed on one side (int32 to int64 on ours), a cell changed on theirs", T(NARROW(BASE)), T(BASE),
      T(NARROW(edit(BASE, update={1: {"b": "X"}}))), T(edit(BASE, update={1: {"b": "X"}}))),
    S("type changed differently on the two sides: conflict", T(NARROW(BASE)), T(BASE),
      T(pa.Table.from_pylist(BASE, schema=pa.schema([("id", pa.int64()), ("a", pa.float64()), ("b", pa.string())]))),
      schema_conflict="a"),
    S("column dropped on ours, untouched on theirs", T(BASE), T(drop(BASE, "b")), T(edit(BASE, update={4: {"a": 44}})),
      T(drop(edit(BASE, update={4: {"a": 44}}), "b"))),
    S("column dropped on ours, changed on theirs: conflict", T(BASE), T(drop(BASE, "b")),
      T(edit(BASE, update={4: {"b": "changed"}})), schema_conflict="b"),
    S("no key: rows appended on ours, a row deleted on theirs", {"u": [{"x": 1}, {"x": 2}, {"x": 2}, {"x": 3}]},
      {"u": [{"x": 1}, {"x": 2}, {"x": 2}, {"x": 3}, {"x": 4}]}, {"u": [{"x": 2}, {"x": 2}, {"x": 3}]},
      {"u": [{"x": 2}, {"x": 2}, {"x": 3}, {"x": 4}]}, key=None),
    S("no key: the same copy deleted on both", {"u": [{"x": 1}, {"x": 2}, {"x": 2}]}, {"u": [{"x": 1}, {"x": 2}]},
      {"u": [{"x": 2}, {"x": 1}]}, {"u": [{"x": 1}, {"x": 2}]}, key=None),
    S("no key: removed on ours, a copy added on theirs: conflict", {"u": [{"x": 1}, {"x": 2}]}, {"u": [{"x": 1}]},
      {"u": [{"x": 1}, {"x": 2}, {"x": 2}]}, conflicts={"u": [({"x": 2}, [])]}, key=None),
    S("no key: strategy theirs takes theirs' count", {"u": [{"x": 1}, {"x": 2}]}, {"u": [{"x": 1}]},
      {"u": [{"x": 1}, {"x": 2}, {"x": 2}]}, {"u": [{"x": 1}, {"x": 2}, {"x": 2}]}, key=None, strategy="theirs"),
    S("no key: strategy ours keeps ours' count", {"u": [{"x": 1}, {"x": 2}, {"x": 3}]}, {"u": [{"x": 1}, {"x": 3}]},
      {"u": [{"x": 1}, {"x": 2}, {"x": 2}, {"x": 3}, {"x": 3}]}, {"u": [{"x": 1}, {"x": 3}, {"x": 3}]}, key=None,
      strategy="ours"),
    S("strategy ours settles a cell conflict, theirs' other cells kept", T(BASE),
      T(edit(BASE, update={3: {"a": 31}})), T(edit(BASE, update={3: {"a": 32, "b": "T"}})),
      T(edit(BASE, update={3: {"a": 31, "b": "T"}})), strategy="ours"),
    S("strategy theirs settles update/delete", T(BASE), T(edit(BASE, update={2: {"a": 22}})),
      T(edit(BASE, delete=(2,))), T(edit(BASE, delete=(2,))), strategy="theirs"),
    S("table added on theirs", T(BASE), T(BASE), {"t": BASE, "extra": [{"id": 1, "e": "x"}]},
      {"t": BASE, "extra": [{"id": 1, "e": "x"}]}),
    S("table added on both sides: merged with no base", T(BASE), {"t": BASE, "n": [{"id": 1, "v": 1}]},
      {"t": BASE, "n": [{"id": 1, "v": 1}, {"id": 2, "v": 2}]}, {"t": BASE, "n": [{"id": 1, "v": 1}, {"id": 2, "v": 2}]}),
    S("table removed on ours, untouched on theirs", {"t": BASE, "old": [{"id": 1}]}, T(edit(BASE, update={1: {"a": 9}})),
      {"t": BASE, "old": [{"id": 1}]}, T(edit(BASE, update={1: {"a": 9}}))),
    S("table removed on ours, changed on theirs: conflict", {"t": BASE, "old": [{"id": 1, "v": 1}]}, T(BASE),
      {"t": BASE, "old": [{"id": 1, "v": 2}]}, table_conflict="old"),
    S("files: README changed on ours, model added on theirs", T(BASE), T(BASE), T(BASE), T(BASE),
      files=({"README.md": b"base"}, {"README.md": b"ours"}, {"README.md": b"base", "model.bin": b"\x00\x01"},
             {"README.md": b"ours", "model.bin": b"\x00\x01"})),
    S("files: README changed differently: conflict", T(BASE), T(BASE), T(BASE), None,
      files=({"README.md": b"base"}, {"README.md": b"ours"}, {"README.md": b"theirs"}, {})),
]


SMALL = ChunkingParams(mask_bits=3, min_rows=8, max_rows=48)  # small fragments: deltas give vectors


def _table(rows, schema=None) -> pa.Table:
    return rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)


def publish_side(reg, name: str, tables: dict, sc: Optional[Scenario] = None, files: Optional[dict] = None,
                 key: Optional[list[str]] = None):
    """Publish ``tables`` (name → rows or Arrow table) as the next version of ``name``: keyed tables
    as a keyed snapshot (a delta on the previous version, small fragments), others whole."""
    key = list(sc.key) if sc is not None and sc.key else key
    b = PackageBuilder(reg)
    prev = previous_version(reg, name)
    for tname, rows in tables.items():
        tab = _table(rows, sc.schemas.get(tname) if sc else None)
        if key and all(k in tab.column_names for k in key):
            tab = tab.sort_by([(k, "ascending") for k in key])
            b.add_snapshot(TableSnapshot(name=tname, schema=tab.schema, batches=tab.to_batches(max_chunksize=16),
                                         key_columns=list(key), chunking=SMALL), previous=prev)
        else:
            b.add_table(tname, tab)
    for k, v in (files or {}).items():
        b.add_file(k, v)
    return b.publish(name)


