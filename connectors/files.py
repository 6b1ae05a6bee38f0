"""Connector ``files``: files or folders (local or S3) of Parquet, CSV or ORC as tables.

    lakepkg.snapshot("files", to="raw/events", tables={"events": "s3://bucket/events/"},
                     storage_options={"endpoint_url": "http://127.0.0.1:9000"})

A thin entry point over the one folder source,
:func:`lakepkg.source.folder.folder_snapshot` (``key=value`` partition folders,
Parquet byte for byte, CSV and ORC converted). The file-system helpers live in
:mod:`lakepkg.source.filesystems` and are re-exported here.
"""
from __future__ import annotations

from typing import Any, Optional

from lakepkg.errors import ConfigError
from lakepkg.source.connectors import ConnectorOption
from lakepkg.source.filesystems import filesystem_for, list_files, redact, source_file
from lakepkg.source.folder import folder_snapshot
from lakepkg.source.table_snapshot import TableSnapshot

__all__ = ["filesystem_for", "list_files", "redact", "source_file", "connector", "FilesConnector"]


class FilesConnector:
    """Snapshot files or folders (local or S3) of Parquet, CSV or ORC files

    ``key=value`` folders are partitions; ``options`` make its ``lakepkg snapshot files`` command."""

    name = "files"
    options = [
        ConnectorOption("table", short="t", multiple=True, required=True,
                        help="NAME=LOCATION: a file or folder (path, file: URI or s3://bucket/prefix). Repeatable."),
        ConnectorOption("s3-endpoint", envvar="AWS_ENDPOINT_URL",
                        help="S3 endpoint URL for s3:// locations (MinIO, moto); credentials come from the AWS environment."),
    ]

    def snapshot_tables(self, *, tables: dict[str, str], storage_options: Optional[dict[str, Any]] = None,
                        **_: Any) -> list[TableSnapshot]:
        """``tables``: table name -> location (a file or a folder of Parquet/CSV/ORC files)."""
        if not tables:
            raise ConfigError("no tables given: pass tables={'name': 'path or s3://bucket/prefix'}")
        return [folder_snapshot(name, loc, storage_options=storage_options) for name, loc in tables.items()]

    def cli_options(self, values: dict[str, Any]) -> dict[str, Any]:
        """``lakepkg snapshot files`` values → ``snapshot_tables`` options."""
        tables: dict[str, str] = {}
        for spec in values["table"]:
            name, sep, loc = spec.partition("=")
            if not sep or not name or not loc:
                raise ConfigError(f"--table {spec!r}: use NAME=LOCATION")
            if name in tables:
                raise ConfigError(f"--table {name!r} is given twice; give each table its own name")
            tables[name] = loc
        endpoint = values["s3_endpoint"]
        return {"tables": tables, "storage_options": {"endpoint_url": endpoint} if endpoint else None}


connector = FilesConnector()
