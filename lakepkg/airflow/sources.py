"""The operator's ``sources``: systems named by Airflow connection ids, resolved at run time.

Each source is a dict with a ``connector`` and that connector's options; the
keys below are resolved from Airflow connections in memory, just before the
snapshot, and never written back into the task's rendered fields::

    {"connector": "sql", "conn_id": "postgres_default", "tables": {"orders": "public.orders"}, "key": "id"}
    {"connector": "hive", "conn_id": "metastore_default", "tables": ["sales.events"], "aws_conn_id": "aws_default"}
    {"connector": "hive", "metastore": "thrift://hms:9083", "tables": ["sales.*"]}
    {"connector": "iceberg", "catalog": {"type": "sql", "uri": "...", "warehouse": "..."},
     "catalog_name": "lake", "tables": ["db.orders"]}           # or "conn_id": extras = catalog properties
    {"connector": "files", "tables": {"raw": "/data/raw"}}     # or s3:// with "aws_conn_id"

A ``lakepkg.Source`` (or ``(connector, options)`` pair) passes through as given.
Any other connector name (a third-party one) gets its options as given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from lakepkg.airflow.connections import (hive_namespace, metastore_uri, secrets_of, sql_namespace, sql_url,
                                         storage_options)
from lakepkg.errors import ConfigError
from lakepkg.source.connectors import Source

__all__ = ["ResolvedSource", "resolve_sources", "validate_specs"]

_RESOLVED_KEYS = {"connector", "conn_id", "aws_conn_id"}


@dataclass
class ResolvedSource:
    """A source ready for the connector, plus what lineage needs (never the secret options)."""

    source: Any                                # lakepkg Source: connector + options (may hold a password)
    system: str                                # sql / hive / iceberg / files / <connector>
    namespace: str                             # OpenLineage namespace of the system
    database: Optional[str] = None
    secrets: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # never show options (a URL with a password)
        return f"<ResolvedSource {self.system} {self.namespace}>"


def validate_specs(specs: Sequence[Any]) -> None:
    """Fail at DAG parse time on a malformed source list (not on connection contents)."""
    if isinstance(specs, str):  # a template still to be rendered
        return
    for i, spec in enumerate(specs or [], 1):
        if isinstance(spec, Mapping) and "connector" not in spec:
            raise ConfigError(f"source {i} has no 'connector' (sql, hive, iceberg, files, ...); keys: {sorted(spec)}")


def resolve_sources(specs: Sequence[Any]) -> list[ResolvedSource]:
    """Resolve every source's connection ids to connector options (in memory)."""
    if not specs:
        raise ConfigError("no sources given: pass sources=[{'connector': 'sql', 'conn_id': ..., 'tables': ...}, ...]")
    return [_resolve(i, spec) for i, spec in enumerate(specs, 1)]


def _resolve(i: int, spec: Any) -> ResolvedSource:
    from lakepkg.airflow.errors import connection

    if not isinstance(spec, Mapping):
        src = spec if isinstance(spec, Source) else Source(spec[0], dict(spec[1]))
        return ResolvedSource(src, src.name, f"lakepkg-source://{src.name}")
    if "connector" not in spec:
        raise ConfigError(f"source {i} has no 'connector' (sql, hive, iceberg, files, ...); keys: {sorted(spec)}")
    name = str(spec["connector"])
    opts = {k: v for k, v in spec.items() if k not in _RESOLVED_KEYS}
    conn = connection(spec["conn_id"]) if spec.get("conn_id") else None
    aws = connection(spec["aws_conn_id"]) if spec.get("aws_conn_id") else None
    secrets = secrets_of(conn) + secrets_of(aws)
    if name == "sql":
        if conn is None:
            if opts.get("url"):
                raise ConfigError(f"source {i}: name the database by an Airflow connection ('conn_id'), not by a "
                                  "URL in the DAG file (a URL would carry its password into the DAG)")
            raise ConfigError(f"source {i} (sql) needs 'conn_id', an Airflow postgres/mysql connection id")
        opts["url"] = sql_url(conn)
        return ResolvedSource(Source("sql", opts), "sql", sql_namespace(conn), conn.schema, secrets)
    if name == "hive":
        if conn is not None:
            opts["metastore"] = metastore_uri(conn)
        if not opts.get("metastore"):
            raise ConfigError(f"source {i} (hive) needs 'conn_id' (a hive_metastore connection) or 'metastore': thrift://host:port")
        if aws is not None:
            opts["storage_options"] = {**storage_options(aws), **(opts.get("storage_options") or {})}
        return ResolvedSource(Source("hive", opts), "hive", hive_namespace(str(opts["metastore"])), None, secrets)
    if name == "iceberg":
        catalog_name = str(opts.get("catalog_name") or "default")
        if conn is not None:
            extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
            opts["catalog"] = {**{k: v for k, v in extra.items()}, **(opts.get("catalog") or {})}
            catalog_name = str(opts.get("catalog_name") or conn.conn_id)
            opts["catalog_name"] = catalog_name
            secrets += [str(v) for k, v in extra.items() if isinstance(v, str) and "://" in v and "@" in v]
        opts.setdefault("catalog", {})
        return ResolvedSource(Source("iceberg", opts), "iceberg", f"iceberg://{catalog_name}", None, secrets)
    if name == "files":
        if aws is not None:
            opts["storage_options"] = {**storage_options(aws), **(opts.get("storage_options") or {})}
        return ResolvedSource(Source("files", opts), "files", "file", None, secrets)
    if conn is not None:
        raise ConfigError(f"source {i}: connector {name!r} takes its options as given; 'conn_id' is understood "
                          "for sql, hive and iceberg sources only")
    return ResolvedSource(Source(name, opts), name, f"lakepkg-source://{name}", None, secrets)
