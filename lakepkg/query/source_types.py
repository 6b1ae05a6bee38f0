"""Each column's type as its source declared it, for typing a query the way the source types it.

The engine reads a column through its Arrow type; the source's rules follow the type the server
declared: PostgreSQL's ``character(25)`` compares ignoring trailing blanks where ``varchar`` does
not, a MySQL column's collation decides whether ``'Berlin' = 'berlin'``. The SQL connector
records the declared type in each Arrow field's metadata (``sql_type``; with the length, the
collation and the server's settings where the snapshot recorded them); :func:`column_type` turns
that into the sqlglot type the query is annotated with. A MySQL/MariaDB text column whose
collation was not recorded has the server's default (``utf8mb4_general_ci`` on MariaDB:
case-insensitive, PAD SPACE).

The collation travels on the sqlglot type as its ``kind`` (a ``Var``), so sqlglot's type
annotation carries it through derived tables, ``MIN``/``MAX``, ``COALESCE`` and ``CASE``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa

#: MariaDB's default collation of utf8mb4 (and the connection's, for literals)
MYSQL_DEFAULT_COLLATION = "utf8mb4_general_ci"

_CHAR = re.compile(r"^\s*(bpchar|char|character|nchar)\s*(\(\s*(\d+)\s*\))?\s*$", re.I)
_VARCHAR = re.compile(r"^\s*(varchar|character varying|nvarchar)\s*(\(\s*(\d+)\s*\))?\s*$", re.I)


@dataclass(frozen=True)
class Collation:
    """How a MySQL/MariaDB collation compares strings, as far as the fast engine models it."""

    name: str
    case_insensitive: bool   # 'a' = 'A' (and accents folded: the engine refuses non-ASCII text then)
    pad_space: bool          # trailing blanks ignored in comparisons ('a' = 'a  '); never in LIKE
    modelled: bool           # False: the engine refuses comparisons under it


def collation(name: Optional[str]) -> Collation:
    """The comparison rules of MySQL/MariaDB collation ``name`` (None: the server default)."""
    n = (name or MYSQL_DEFAULT_COLLATION).lower()
    pad = "nopad" not in n and "_0900_" not in n
    if n.endswith("_bin") or n == "binary":
        return Collation(n, False, pad and n != "binary", True)
    if n.endswith("_ci"):
        return Collation(n, True, pad, True)
    return Collation(n, False, pad, False)  # _cs, _as_cs, ... : not modelled


def _meta(field: pa.Field, key: str) -> Optional[str]:
    md = field.metadata or {}
    v = md.get(key.encode())
    return v.decode() if v is not None else None


def declared(field: pa.Field) -> Optional[str]:
    """The type the source declared for ``field`` (``character(25)``, ``numeric(15,2)``), if recorded."""
    for key in ("source_type", "declared_type", "sql_type"):
        v = _meta(field, key)
        if v:
            return v
    return None


def collation_name(field: pa.Field) -> Optional[str]:
    """The collation the source recorded for a text column, if any."""
    for key in ("collation", "source_collation"):
        v = _meta(field, key)
        if v:
            return v
    return None


def arrow_type(t: pa.DataType) -> str:
    """The SQL type sqlglot types a column of Arrow type ``t`` with (when the source type says no more)."""
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    for check, name in ((pa.types.is_int8, "TINYINT"), (pa.types.is_int16, "SMALLINT"), (pa.types.is_int32, "INT"),
                        (pa.types.is_int64, "BIGINT"), (pa.types.is_uint8, "UTINYINT"),
                        (pa.types.is_uint16, "USMALLINT"), (pa.types.is_uint32, "UINT"),
                        (pa.types.is_uint64, "UBIGINT"), (pa.types.is_float32, "FLOAT"),
                        (pa.types.is_float64, "DOUBLE"), (pa.types.is_date, "DATE"), (pa.types.is_time, "TIME")):
        if check(t):
            return name
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision}, {t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "VARBINARY"
    return "UNKNOWN"


def column_type(field: pa.Field, dialect: str, recorded_by: Optional[str] = None) -> Any:
    """The sqlglot DataType a query in ``dialect`` sees for ``field``: the Arrow type, except that a
    text column is ``CHAR(n)`` / ``VARCHAR(n)`` / ``TEXT`` as declared, with its MySQL collation
    (``recorded_by``: the dialect of the source that recorded the column; a collation another
    system recorded means nothing to MySQL, which then compares under its default)."""
    from sqlglot import exp

    base = arrow_type(field.type)
    if base != "VARCHAR" or dialect not in ("postgres", "mysql"):
        return exp.DataType.build(base)
    src = declared(field) or ""
    m = _CHAR.match(src)
    if m:
        t = exp.DataType.build(f"CHAR({m.group(3)})" if m.group(3) else "CHAR")
    else:
        v = _VARCHAR.match(src)
        if v:
            t = exp.DataType.build(f"VARCHAR({v.group(3)})" if v.group(3) else "VARCHAR")
        elif dialect == "postgres" and src.lower() == "text":
            t = exp.DataType.build("TEXT")
        else:
            t = exp.DataType.build("VARCHAR")
    if dialect == "mysql":
        recorded = collation_name(field) if recorded_by in (None, "mysql") else None
        t.set("kind", exp.Var(this=collation(recorded).name))
    return t


def collation_of(dtype: Any) -> Collation:
    """The MySQL collation a typed expression compares under (the default when none travelled with it)."""
    kind = dtype.args.get("kind") if dtype is not None else None
    return collation(kind.name if kind is not None else None)
