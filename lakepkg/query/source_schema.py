"""A snapshotted table as its source declared it: each column's type and collation, and the server's
settings that change answers. The query engines read the source's semantics from here.

    from lakepkg.query.source_schema import source_schema
    s = source_schema(pkg["region"])
    s.columns["r_name"].type        # 'character(25)'
    s.columns["r_name"].collation   # 'default' (PostgreSQL: the database's, s.settings["database_collation"])
    s.settings["sql_mode"]          # MySQL/MariaDB; PostgreSQL: time_zone, database_collation, ...

Where it is recorded (docs/format.md, docs/sql.md): per column in the table node's Arrow field
metadata (``source_type``, ``collation``: hashed, content), per snapshot in the version record
(``sources.<table>.volatile.server``: version, user, settings; not hashed). Versions made before
lakepkg recorded them give ``declared=False`` columns (their ``sql_type`` only) and the settings the
provenance kept (``server_version``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

from lakepkg.query.dialects import of_provenance


@dataclass(frozen=True)
class SourceColumn:
    """One column as the source declared it."""

    name: str
    #: the type as the server prints it (``character(25)``, ``numeric(15,2)``, ``bigint``,
    #: MySQL ``char(25)``, ``decimal(15,2)``); for older versions the connector's ``sql_type``
    type: Optional[str]
    #: the column's collation (PostgreSQL ``default`` = the database's; MySQL e.g.
    #: ``utf8mb4_general_ci``); None for a type without one or when not recorded
    collation: Optional[str]
    #: how the snapshot stores the values
    arrow_type: pa.DataType
    #: True when ``type``/``collation`` were recorded from the server's declaration
    declared: bool


@dataclass(frozen=True)
class SourceSchema:
    """A table's columns and its source's settings (:func:`source_schema`)."""

    #: the sqlglot dialect of the source (``postgres``, ``mysql``, ``spark``, ...) or None
    dialect: Optional[str]
    #: ``mariadb``, ``mysql``, ``postgresql``, ... as the connector recorded it (None: not SQL)
    server: Optional[str]
    columns: dict[str, SourceColumn]
    #: version, user, time_zone; PostgreSQL: database_collation, database_ctype, collation_provider,
    #: datestyle, intervalstyle, ...; MySQL/MariaDB: sql_mode, div_precision_increment,
    #: collation_server, collation_connection, ... (empty when not recorded)
    settings: dict[str, Any] = field(default_factory=dict)

    def collation(self, column: str) -> Optional[str]:
        """The collation that applies to ``column``: PostgreSQL's ``default`` resolved to the
        database's collation when it was recorded."""
        c = self.columns[column].collation
        if c == "default" and self.settings.get("database_collation"):
            return str(self.settings["database_collation"])
        return c


def _meta(f: pa.Field, key: str) -> Optional[str]:
    m = f.metadata or {}
    v = m.get(key.encode())
    return v.decode() if v is not None else None


def source_schema(table: Any) -> SourceSchema:
    """The source schema of a loaded package table (``lakepkg.load(ref)[name]``)."""
    prov = table.provenance or {}
    cols: dict[str, SourceColumn] = {}
    for f in table.schema:
        declared = _meta(f, "source_type")
        cols[f.name] = SourceColumn(name=f.name, type=declared or _meta(f, "sql_type") or _meta(f, "hive_type"),
                                    collation=_meta(f, "collation"), arrow_type=f.type, declared=declared is not None)
    settings: dict[str, Any] = {}
    record = getattr(getattr(table, "package", None), "record", None)
    sources = getattr(record, "sources", None) or {}
    server = ((sources.get(table.name) or {}).get("volatile") or {}).get("server")
    if isinstance(server, dict):
        settings = dict(server)
    elif prov.get("server_version"):  # versions before the server facts moved to the record
        settings = {"version": prov["server_version"]}
    return SourceSchema(dialect=of_provenance(prov), server=prov.get("dialect") if prov.get("connector") == "sql" else None,
                        columns=cols, settings=settings)
