"""Iceberg connector: snapshot Apache Iceberg tables through pyiceberg catalogs.

    lakepkg.write.snapshotting.snapshot("iceberg", to="sales/orders",
        catalog={"type": "sql", "uri": "sqlite:///cat.db", "warehouse": "file:///wh"},
        tables=["sales.orders"], snapshot_id=None)

The data files of the table's current (or a given) Iceberg snapshot are
stored byte for byte, so files shared by two Iceberg snapshots dedup. A table
whose scan carries delete files (merge-on-read) is read through pyiceberg and
written as fragments instead, so deleted rows never reappear. Iceberg
partitions are hidden partitions: the source columns are inside the data
files, so a lakepkg table of an Iceberg table is unpartitioned and prunes on
min/max statistics; the partition spec is recorded in the provenance.
"""
from __future__ import annotations

import fnmatch
from typing import Any, Optional

from lakepkg.errors import NotFoundError, SourceError, one_line
from lakepkg.source.connectors import ConnectorOption
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot

SECRET_KEYS = ("password", "secret", "token", "credential", "key")


def _redact_uri(uri: str) -> str:
    """``uri`` without a password or query string; otherwise exactly as given (``sqlite:////abs/c.db``
    keeps its four slashes: re-assembling it with urlunsplit would make it ``sqlite://abs/c.db``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    out = uri
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        out = out.replace(f"//{parts.netloc}", f"//{user + '@' if user else ''}{host}", 1)
    if parts.query:
        out = out.split("?", 1)[0]
    return out


def _check_sqlite_catalog(props: dict[str, Any]) -> None:
    """A ``sqlite:///PATH`` catalog must exist: pyiceberg would create an empty one for a mistyped path."""
    import os

    uri = str(props.get("uri") or "")
    if not uri.startswith("sqlite:"):
        return
    path = uri.split("?", 1)[0][len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    if not os.path.isfile(path):
        raise SourceError(f"no SQLite Iceberg catalog at {path}: check --catalog-uri "
                          "(lakepkg reads a catalog, it never creates one)")


def _public_catalog_props(props: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in props.items():
        if any(s in k.lower() for s in SECRET_KEYS):
            continue
        out[k] = _redact_uri(str(v)) if k in ("uri", "warehouse") else str(v)
    return out


def load_catalog(name: str = "default", **props: Any) -> Any:
    """Open a pyiceberg catalog; errors become one-line SourceErrors without secrets."""
    try:
        from pyiceberg.catalog import load_catalog as _load
    except ImportError as exc:
        raise SourceError(f"the Iceberg connector needs pyiceberg: pip install 'lakepkg[iceberg]' ({exc})") from None
    _check_sqlite_catalog(props)
    try:
        return _load(name, **{k: str(v) for k, v in props.items()})
    except Exception as exc:
        msg = one_line(exc)
        if "--uri" in msg or "URI missing" in msg:  # pyiceberg's own CLI flag means nothing to a lakepkg user
            raise SourceError(f"no URI for Iceberg catalog {name!r}: give --catalog-uri (catalog={{'uri': ...}} in "
                              "Python), $LAKEPKG_ICEBERG_URI, or the catalog in ~/.pyiceberg.yaml") from None
        for v in props.values():
            if isinstance(v, str) and v and any(s in v for s in ("@", "password")):
                msg = msg.replace(v, _redact_uri(v))
        raise SourceError(f"cannot open Iceberg catalog {name!r}: {msg}") from None


def _resolve_tables(cat: Any, patterns: list[str]) -> list[str]:
    out: list[str] = []
    for pat in patterns:
        if "*" not in pat and "?" not in pat:
            out.append(pat)
            continue
        ns, _, tpat = pat.rpartition(".")
        try:
            names = [".".join(t) for t in cat.list_tables(ns)]
        except Exception as exc:
            raise SourceError(f"cannot list Iceberg namespace {ns!r}: {one_line(exc)}") from None
        hits = sorted(n for n in names if fnmatch.fnmatchcase(n.rpartition(".")[2], tpat))
        if not hits:
            raise NotFoundError(f"no Iceberg table in {ns!r} matches {tpat!r}")
        out.extend(hits)
    return out


class IcebergConnector:
    """Snapshot Iceberg tables (data files stored byte for byte)

    Reads Iceberg tables through a pyiceberg catalog; never writes them. ``options`` make its
    ``lakepkg snapshot iceberg`` command."""

    name = "iceberg"
    options = [
        ConnectorOption("tables", argument=True, multiple=True, required=True,
                        help="Iceberg tables, namespace.table or namespace.* patterns."),
        ConnectorOption("catalog-uri", envvar="LAKEPKG_ICEBERG_URI",
                        help="SQL catalog URI (sqlite:///… or postgresql+psycopg://…); a password is better given by "
                             "the environment or a .pyiceberg.yaml."),
        ConnectorOption("warehouse", help="Warehouse location of the catalog."),
        ConnectorOption("catalog", param="catalog_name", default="default",
                        help="Catalog name (properties may come from ~/.pyiceberg.yaml)."),
        ConnectorOption("catalog-type", help="pyiceberg catalog type (sql, rest, hive, glue…)."),
        ConnectorOption("snapshot-id", type=int, help="Iceberg snapshot to read (default: current)."),
    ]

    def cli_options(self, values: dict[str, Any]) -> dict[str, Any]:
        """``lakepkg snapshot iceberg`` values → ``snapshot_tables`` options."""
        props = {k: v for k, v in {"uri": values["catalog_uri"], "warehouse": values["warehouse"],
                                   "type": values["catalog_type"]}.items() if v}
        return {"catalog": props, "catalog_name": values["catalog_name"], "tables": list(values["tables"]),
                "snapshot_id": values["snapshot_id"]}

    def snapshot_tables(self, *, catalog: dict[str, Any], tables: list[str], catalog_name: str = "default",
                        snapshot_id: Optional[int] = None, table_names: Optional[dict[str, str]] = None,
                        **_ignored: Any) -> list[TableSnapshot]:
        """One TableSnapshot per Iceberg table (``db.table`` or ``db.*``)."""
        cat = load_catalog(catalog_name, **catalog)
        out = []
        for ident in _resolve_tables(cat, list(tables)):
            out.append(self._one(cat, catalog_name, catalog, ident, snapshot_id, (table_names or {}).get(ident)))
        return out

    def _one(self, cat: Any, cat_name: str, props: dict[str, Any], ident: str, snapshot_id: Optional[int],
             name: Optional[str]) -> TableSnapshot:
        try:
            tbl = cat.load_table(ident)
        except Exception as exc:
            if exc.__class__.__name__ == "NoSuchTableError":
                raise NotFoundError(f"Iceberg table {ident} does not exist in catalog {cat_name!r}") from None
            raise SourceError(f"cannot load Iceberg table {ident}: {one_line(exc)}") from None
        snap = tbl.snapshot_by_id(snapshot_id) if snapshot_id is not None else tbl.current_snapshot()
        if snapshot_id is not None and snap is None:
            raise NotFoundError(f"Iceberg table {ident} has no snapshot {snapshot_id}")
        provenance = {
            "source": "iceberg", "catalog": cat_name, "catalog_properties": _public_catalog_props(props),
            "qualified_name": ident, "table_uuid": str(tbl.metadata.table_uuid),
            "snapshot_id": snap.snapshot_id if snap else None,
            "partition_spec": str(tbl.spec()), "format_version": tbl.format_version,
        }
        table_name = name or ident.rpartition(".")[2]
        scan = tbl.scan(snapshot_id=snap.snapshot_id) if snap else None
        tasks = list(scan.plan_files()) if scan is not None else []
        if any(t.delete_files for t in tasks):
            provenance["read_mode"] = "merge-on-read scan (delete files applied)"
            return TableSnapshot(name=table_name, provenance=provenance, volatile={"metadata_location": tbl.metadata_location},
                                 batches=scan.to_arrow_batch_reader(), schema=None)
        io = tbl.io
        files = []
        for t in sorted(tasks, key=lambda t: t.file.file_path):
            df = t.file
            if str(df.file_format).upper().endswith("PARQUET") is False:
                raise SourceError(f"Iceberg table {ident}: data file {df.file_path} is {df.file_format}; only Parquet data files are supported")
            path = df.file_path
            key = path.rsplit("/", 1)[-1]
            if "/data/" in path:
                key = path.split("/data/", 1)[1]
            files.append(SourceFile(
                path=path, key=key, size=df.file_size_in_bytes,
                open=(lambda p=path: io.new_input(p).open()),
                etag=f"iceberg:{df.file_size_in_bytes}:{df.record_count}",  # Iceberg data files are immutable
                local_path=path[len("file://"):] if path.startswith("file://") else (path if path.startswith("/") else None),
            ))
        schema = None
        if not files:
            from lakepkg.format.schema_json import logical_schema

            schema = logical_schema(tbl.schema().as_arrow())
        return TableSnapshot(name=table_name, schema=schema, provenance=provenance, files=files,
                             volatile={"metadata_location": tbl.metadata_location})


connector = IcebergConnector()
