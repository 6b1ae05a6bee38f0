"""Exact cell equality and key values compared as the source compares them.

* :func:`same_cells`: two aligned columns, cell by cell: NULL equals NULL and nothing else (NULL
  is a value, as in Dolt's merge), floats by their exact bits (``-0.0`` and ``0.0`` differ, a
  NaN equals the same NaN), everything else by Arrow's equality of values. No hash decides.
* :func:`comparable_keys`: key columns as the source compares them, from what the snapshot
  recorded of each column (field metadata ``source_type``, else the connector's ``sql_type``, and
  ``collation``): a ``CHAR(n)`` column without its trailing blanks (PostgreSQL's ``bpchar`` and
  MySQL's CHAR compare padded); on MySQL/MariaDB a string under a PAD SPACE collation (every
  collation but the ``_nopad_`` and ``_0900_`` ones) without trailing blanks too, and one under a
  case-insensitive collation (``…_ci``) folded to lower case. Other types compare as stored.
  Columns Arrow cannot group by value exactly (lists, structs, maps, floats) are grouped by their
  canonical row encoding (:func:`lakepkg.format.row_identity.encode_rows`: equal exactly when the
  values are). (Accent-insensitive ``_ai`` collations and PostgreSQL's nondeterministic ICU collations are not
  modelled: keys that differ only by accents are different keys here.)
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.format.row_identity import encode_rows


def _as_array(col: "pa.Array | pa.ChunkedArray") -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def same_cells(a: "pa.Array | pa.ChunkedArray", b: "pa.Array | pa.ChunkedArray") -> np.ndarray:
    """A boolean per row: the two cells are the same value (both NULL counts as the same)."""
    x, y = _as_array(a), _as_array(b)
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    if not x.type.equals(y.type):
        try:
            y = y.cast(x.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return np.asarray(pc.equal(x.cast(pa.string()), y.cast(pa.string())).fill_null(False)
                              .to_numpy(zero_copy_only=False), dtype=bool) | _both_null(x, y)
    xn = np.asarray(x.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    yn = np.asarray(y.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_floating(x.type):
        xb = np.asarray(x.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64)
        yb = np.asarray(y.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64)
        eq = xb == yb
    elif pa.types.is_nested(x.type) or pa.types.is_dictionary(x.type):
        eq = np.array([u == v for u, v in zip(x.to_pylist(), y.to_pylist())], dtype=bool)
    else:
        eq = np.asarray(pc.equal(x, y).fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return (xn & yn) | (~xn & ~yn & eq)


def _both_null(x: pa.Array, y: pa.Array) -> np.ndarray:
    return (np.asarray(x.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            & np.asarray(y.is_null().to_numpy(zero_copy_only=False), dtype=bool))


def same_rows(a: pa.Table, b: pa.Table, columns: list[str]) -> np.ndarray:
    """A boolean per row: every one of ``columns`` holds the same value in ``a`` and ``b``."""
    out = np.ones(a.num_rows, dtype=bool)
    for c in columns:
        out &= same_cells(a.column(c), b.column(c))
    return out


def _meta(field: pa.Field, key: str) -> str:
    md = field.metadata or {}
    v = md.get(key.encode()) if md else None
    return v.decode("utf-8", "replace").strip().lower() if v else ""


def is_padded_char(field: pa.Field) -> bool:
    """Whether the source compares the column as a blank-padded CHAR(n)."""
    if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
        return False
    t = _meta(field, "source_type") or _meta(field, "sql_type")
    if "varying" in t or "varchar" in t:
        return False
    return t.startswith("bpchar") or t.startswith("char") or (t.startswith("character") and "varying" not in t)


def _groupable(t: pa.DataType) -> bool:
    """Types Arrow's grouping compares exactly as values (floats are not: -0.0 and 0.0 group together)."""
    return (pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_boolean(t)
            or pa.types.is_temporal(t) or pa.types.is_decimal(t) or pa.types.is_fixed_size_binary(t))


def _mysql_collation(c: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9]+_[a-z0-9_]+", c))


def comparable_keys(t: pa.Table, key: list[str]) -> pa.Table:
    """The key columns of ``t``, each in the form the source compares (see the module docstring)."""
    cols = []
    for k in key:
        f = t.schema.field(k)
        col = t.column(k)
        text = pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        coll = _meta(f, "collation")
        mysql = text and _mysql_collation(coll)
        if is_padded_char(f) or (mysql and "nopad" not in coll and "_0900_" not in coll):
            col = pc.utf8_rtrim(col, characters=" ")
        if mysql and coll.endswith("_ci"):
            col = pc.utf8_lower(col)
        if not _groupable(f.type):  # lists, structs, maps, floats: their canonical encoding, exactly
            col = encode_rows(pa.table([col], names=[k]))
        cols.append(col)
    return pa.table(cols, names=[f"k{i}" for i in range(len(key))])
