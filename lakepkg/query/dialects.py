"""Which SQL dialect a query is written in: from the provenance of the tables it reads, or as given.

Every connector records its source system in a table's provenance: the SQL connector its
``dialect`` (``postgresql``, ``mysql``, ``mariadb``, ``sqlite``, ...), the Hive connector
``source: hive`` (queries ran in Spark SQL / HiveQL), the Iceberg connector ``source: iceberg``
(queries ran in Trino). A package may mix sources; one query uses one dialect, and
``--dialect`` / ``dialect=`` overrides what the provenance says.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from lakepkg.errors import ConfigError, QueryError

#: dialect names users may give -> the sqlglot dialect that reads them
DIALECTS: dict[str, str] = {
    "postgres": "postgres", "postgresql": "postgres",
    "mysql": "mysql", "mariadb": "mysql",
    "spark": "spark", "hive": "spark", "databricks": "spark",
    "trino": "trino", "presto": "trino", "iceberg": "trino",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
#: the dialect of tables whose provenance names no source system (built from files or frames)
DEFAULT = "duckdb"
#: how a dialect is named in messages
LABELS = {"postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "spark": "Spark SQL", "trino": "Trino",
          "sqlite": "SQLite", "duckdb": "DuckDB"}


def normalise(name: str) -> str:
    """The sqlglot dialect for a user-given name; ConfigError naming the known ones otherwise."""
    key = (name or "").strip().lower()
    if key not in DIALECTS:
        raise ConfigError(f"unknown dialect {name!r}; use one of {', '.join(sorted(set(DIALECTS)))}")
    return DIALECTS[key]


def label(dialect: str) -> str:
    """``postgres`` -> ``PostgreSQL`` (for one-line messages)."""
    return LABELS.get(dialect, dialect)


def of_provenance(provenance: Optional[dict[str, Any]]) -> Optional[str]:
    """The dialect a table's source spoke, or None when its provenance names no SQL system."""
    prov = provenance or {}
    if prov.get("connector") == "sql" and prov.get("dialect"):
        return DIALECTS.get(str(prov["dialect"]).lower(), str(prov["dialect"]).lower())
    source = str(prov.get("source") or "").lower()
    if source == "hive":
        return "spark"
    if source == "iceberg":
        return "trino"
    return None


def choose(found: Iterable[tuple[str, Optional[str]]], override: Optional[str] = None) -> str:
    """The one dialect of a query: ``override`` when given, else the single dialect of the tables
    it reads (``found``: (table name, dialect or None)); QueryError when they disagree."""
    if override:
        return normalise(override)
    by: dict[str, list[str]] = {}
    for name, d in found:
        if d is not None:
            by.setdefault(d, []).append(name)
    if not by:
        return DEFAULT
    if len(by) > 1:
        parts = "; ".join(f"{label(d)}: {', '.join(sorted(ns))}" for d, ns in sorted(by.items()))
        raise QueryError(f"the query reads tables from several SQL dialects ({parts}); one query uses one "
                         f"dialect: give it with --dialect / dialect=")
    return next(iter(by))
