"""Airflow connections → lakepkg options, in memory (no Airflow import here).

A DAG names its systems by connection id; this module turns a connection
(anything with Airflow's ``Connection`` attributes: ``conn_id``, ``conn_type``,
``host``, ``port``, ``login``, ``password``, ``schema``, ``extra_dejson``) into
what a connector needs — a SQLAlchemy URL, a metastore URI, S3 options — and
into the OpenLineage namespace of that system. A URL holding a password exists
only in memory for the duration of the snapshot; it is never logged, templated,
returned or stored (:func:`secrets_of` lists what to mask).
"""
from __future__ import annotations

from typing import Any, Optional, Protocol

from lakepkg.errors import ConfigError

__all__ = ["ConnectionLike", "sql_url", "sql_namespace", "metastore_uri", "hive_namespace", "s3_options",
           "storage_options", "secrets_of"]

# Airflow conn_type -> (SQLAlchemy driver, OpenLineage scheme, default port)
SQL_TYPES: dict[str, tuple[str, str, int]] = {
    "postgres": ("postgresql+psycopg", "postgres", 5432),
    "postgresql": ("postgresql+psycopg", "postgres", 5432),
    "mysql": ("mysql+pymysql", "mysql", 3306),
    "mariadb": ("mysql+pymysql", "mysql", 3306),
}
# connection extras that are connection parameters of the driver (everything else in extras is ignored)
SQL_QUERY_EXTRAS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name",
                    "charset", "ssl_ca", "ssl_cert", "ssl_key"}


class ConnectionLike(Protocol):
    """The attributes of ``airflow.sdk.Connection`` this module reads."""

    conn_id: str
    conn_type: str
    host: Optional[str]
    port: Optional[int]
    login: Optional[str]
    password: Optional[str]
    schema: Optional[str]

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def _extra(conn: ConnectionLike) -> dict[str, Any]:
    try:
        extra = conn.extra_dejson
    except Exception:  # malformed extra JSON: Airflow logs it; treat as none
        return {}
    return extra if isinstance(extra, dict) else {}


def sql_url(conn: ConnectionLike) -> str:
    """A SQLAlchemy URL for a ``postgres``, ``mysql``, ``mariadb`` or ``sqlite`` connection.

    ``schema`` is the database (Airflow's convention); driver parameters (``sslmode``, ``charset``,
    ...) come from the extras. The result contains the password: keep it in memory only."""
    from sqlalchemy.engine import URL

    ctype = (conn.conn_type or "").lower()
    if ctype == "sqlite":
        return f"sqlite:///{conn.host or ''}"
    if ctype not in SQL_TYPES:
        raise ConfigError(f"Airflow connection {conn.conn_id!r} is of type {conn.conn_type!r}; a SQL source needs a "
                          f"postgres, mysql, mariadb or sqlite connection")
    if not conn.host:
        raise ConfigError(f"Airflow connection {conn.conn_id!r} has no host; set its host")
    driver = SQL_TYPES[ctype][0]
    query = {k: str(v) for k, v in _extra(conn).items() if k in SQL_QUERY_EXTRAS and v is not None}
    url = URL.create(driver, username=conn.login or None, password=conn.password or None, host=conn.host,
                     port=int(conn.port) if conn.port else None, database=conn.schema or None, query=query)
    return url.render_as_string(hide_password=False)


def sql_namespace(conn: ConnectionLike) -> str:
    """The OpenLineage namespace of a SQL connection: ``postgres://host:port`` / ``mysql://host:port``."""
    ctype = (conn.conn_type or "").lower()
    if ctype == "sqlite":
        return f"sqlite://{conn.host or ''}"
    scheme, default_port = SQL_TYPES.get(ctype, (None, ctype, 0))[1:]
    return f"{scheme}://{conn.host}:{conn.port or default_port}"


def metastore_uri(conn: ConnectionLike) -> str:
    """``thrift://host:port`` from a Hive metastore connection (``hive_metastore`` type, or any with a host)."""
    if not conn.host:
        raise ConfigError(f"Airflow connection {conn.conn_id!r} has no host; set the metastore's host and port")
    host = conn.host
    if "://" in host:  # someone put the whole URI in the host field
        return host
    return f"thrift://{host}:{conn.port or 9083}"


def hive_namespace(uri: str) -> str:
    """The OpenLineage namespace of a metastore: ``hive://host:port``."""
    rest = uri.split("://", 1)[-1].rstrip("/")
    return f"hive://{rest}"


def s3_options(conn: Optional[ConnectionLike]) -> dict[str, Any]:
    """Registry options (``endpoint_url``, ``region``, keys) from an Airflow AWS connection.

    Login/password are the access key id and secret (Airflow's ``aws`` connection); the extras may
    hold ``endpoint_url``, ``region_name``, ``aws_access_key_id``, ``aws_secret_access_key``,
    ``aws_session_token``."""
    if conn is None:
        return {}
    extra = _extra(conn)
    out: dict[str, Any] = {}
    key = extra.get("aws_access_key_id") or conn.login
    secret = extra.get("aws_secret_access_key") or conn.password
    if key:
        out["aws_access_key_id"] = key
    if secret:
        out["aws_secret_access_key"] = secret
    if extra.get("aws_session_token"):
        out["aws_session_token"] = extra["aws_session_token"]
    endpoint = extra.get("endpoint_url") or (extra.get("service_config") or {}).get("s3", {}).get("endpoint_url")
    if endpoint:
        out["endpoint_url"] = endpoint
    region = extra.get("region_name") or extra.get("region")
    if region:
        out["region"] = region
    return out


def storage_options(conn: Optional[ConnectionLike]) -> dict[str, Any]:
    """The same AWS connection as the ``storage_options`` the hive and files connectors take."""
    opts = s3_options(conn)
    out: dict[str, Any] = {}
    if "endpoint_url" in opts:
        out["endpoint_url"] = opts["endpoint_url"]
    if "region" in opts:
        out["region"] = opts["region"]
    if "aws_access_key_id" in opts:
        out["key"] = opts["aws_access_key_id"]
    if "aws_secret_access_key" in opts:
        out["secret"] = opts["aws_secret_access_key"]
    if "aws_session_token" in opts:
        out["token"] = opts["aws_session_token"]
    return out


def secrets_of(conn: Optional[ConnectionLike]) -> list[str]:
    """The secret values of a connection (password, secret keys, tokens) — for log masking and checks."""
    if conn is None:
        return []
    out = [conn.password] if conn.password else []
    for k, v in _extra(conn).items():
        if isinstance(v, str) and v and any(w in k.lower() for w in ("secret", "password", "token", "credential")):
            out.append(v)
    return out
