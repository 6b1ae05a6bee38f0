"""``LakepkgHook``: a lakepkg registry from an Airflow connection of type ``lakepkg``.

The connection names the registry by its location — a local path or
``s3://bucket/prefix`` — in the *host* field or in the extra ``location``.
For S3 the extras may hold ``endpoint_url``, ``region_name`` and keys
(``aws_access_key_id`` / ``aws_secret_access_key``, or login/password), or
``aws_conn_id`` to take them from an Airflow AWS connection::

    AIRFLOW_CONN_LAKEPKG_DEFAULT='{"conn_type": "lakepkg", "host": "s3://team-bucket/registry",
                                   "extra": {"aws_conn_id": "aws_default", "endpoint_url": "http://minio:9000"}}'

With ``lakepkg_conn_id=None`` the hook opens lakepkg's configured registry
(``LAKEPKG_REGISTRY`` or the config file), as the CLI would.
"""
from __future__ import annotations

from typing import Any, Optional

from airflow.sdk import BaseHook

from lakepkg.airflow.connections import ConnectionLike, s3_options, secrets_of
from lakepkg.airflow.errors import connection
from lakepkg.registry import Registry, open_registry

__all__ = ["LakepkgHook"]


class LakepkgHook(BaseHook):
    """Opens the registry a ``lakepkg`` connection names (``get_registry()``)."""

    conn_name_attr = "lakepkg_conn_id"
    default_conn_name = "lakepkg_default"
    conn_type = "lakepkg"
    hook_name = "lakepkg registry"

    def __init__(self, lakepkg_conn_id: Optional[str] = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lakepkg_conn_id = lakepkg_conn_id
        self._registry: Optional[Registry] = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How Airflow's connection form shows a ``lakepkg`` connection."""
        return {
            "hidden_fields": ["schema", "port"],
            "relabeling": {"host": "Registry (path or s3://bucket/prefix)", "login": "AWS access key id",
                           "password": "AWS secret access key"},
            "placeholders": {"host": "s3://team-bucket/registry",
                             "extra": '{"aws_conn_id": "aws_default", "endpoint_url": "", "region_name": ""}'},
        }

    @property
    def registry_id(self) -> str:
        """The registry's id in Asset URIs: the connection id (``default`` for the configured registry)."""
        return self.lakepkg_conn_id or "default"

    def registry_options(self) -> tuple[Optional[str], dict[str, Any], list[str]]:
        """(location, open_registry options, secrets to mask) from the connection."""
        if not self.lakepkg_conn_id:
            return None, {}, []
        conn: ConnectionLike = connection(self.lakepkg_conn_id)
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
        location = extra.get("location") or conn.host
        if not location:
            from lakepkg.errors import ConfigError

            raise ConfigError(f"Airflow connection {self.lakepkg_conn_id!r} names no registry; put a path or "
                              "s3://bucket/prefix in its host (or the extra 'location')")
        secrets = secrets_of(conn)
        opts: dict[str, Any] = {}
        from lakepkg.registry.location import is_s3

        if is_s3(str(location)):
            aws = connection(extra["aws_conn_id"]) if extra.get("aws_conn_id") else None
            opts = {**s3_options(aws), **s3_options(conn)}
            for k in ("endpoint_url", "region"):
                if extra.get(k):
                    opts[k] = extra[k]
            secrets += secrets_of(aws)
        return str(location), opts, secrets

    def get_registry(self) -> Registry:
        """The registry (opened once per hook)."""
        if self._registry is None:
            location, opts, secrets = self.registry_options()
            _mask(secrets)
            self._registry = open_registry(location, **opts)
        return self._registry

    def get_conn(self) -> Registry:
        """Airflow's name for :meth:`get_registry`."""
        return self.get_registry()

    def test_connection(self) -> tuple[bool, str]:
        """Used by Airflow's "Test connection": opens the registry and counts its packages."""
        try:
            reg = self.get_registry()
            return True, f"registry {reg.location}: {len(reg.list_packages())} package(s)"
        except Exception as exc:  # shown in the UI
            from lakepkg.errors import one_line

            return False, one_line(exc)


def _mask(secrets: list[str]) -> None:
    """Tell Airflow's log masker about secret values (it redacts them in every task log line)."""
    if not secrets:
        return
    from airflow.sdk.log import mask_secret

    for s in secrets:
        mask_secret(s)
