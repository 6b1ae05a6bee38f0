"""Iceberg connector: snapshot Apache Iceberg tables through pyiceberg catalogs.

    lakepkg.snapshot("iceberg", to="sales/orders",
        catalog={"type": "sql", "uri": "sqlite:///cat.db", "warehouse": "file:///wh"},
        tables=["sales.orders"], snapshot_id=None)

The data files of the table's current (or a given) Iceberg snapshot are
stored byte for byte, so files shared by two Iceberg snapshots dedup. Position
deletes (merge-on-read: Parquet/ORC position-delete files, v3 deletion vectors)
map onto lakepkg's deletion vectors: the data file is still stored byte for
byte (and dedups with the version before the delete) and its entry gets a
vector of the positions deleted, so a deleted row never reappears and a delete
costs a vector, not a rewrite. A table with equality deletes is read through
pyiceberg's scan and written as fragments instead. Iceberg
partitions are hidden partitions: the source columns are inside the data
files, so a lakepkg table of an Iceberg table is unpartitioned and prunes on
min/max statistics; the partition spec is recorded in the provenance.
"""
from __future__ import annotations

import fnmatch
import hashlib
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
        ids = sorted(tbl.schema().identifier_field_names())
        if ids:  # Iceberg's primary key: what `diff --rows` matches rows by
            provenance["key"] = ids
        table_name = name or ident.rpartition(".")[2]
        scan = tbl.scan(snapshot_id=snap.snapshot_id) if snap else None
        try:
            tasks = list(scan.plan_files()) if scan is not None else []
        except ValueError as exc:  # e.g. pyiceberg's "does not yet support equality deletes"
            raise SourceError(f"cannot plan a scan of Iceberg table {ident}: {one_line(exc)}") from None
        io = tbl.io
        deleted: dict[str, Any] = {}
        if any(t.delete_files for t in tasks):
            found = _position_deletes(io, tasks, ident)
            if found is None:  # deletes that are not positions (or no delete reader): read the rows
                provenance["read_mode"] = "merge-on-read scan (delete files applied)"
                return TableSnapshot(name=table_name, provenance=provenance,
                                     volatile={"metadata_location": tbl.metadata_location},
                                     batches=scan.to_arrow_batch_reader(), schema=None)
            provenance["read_mode"] = "data files byte for byte; position deletes as deletion vectors"
            deleted = found
        files = []
        for t in sorted(tasks, key=lambda t: t.file.file_path):
            df = t.file
            if str(df.file_format).upper().endswith("PARQUET") is False:
                raise SourceError(f"Iceberg table {ident}: data file {df.file_path} is {df.file_format}; only Parquet data files are supported")
            path = df.file_path
            key = path.rsplit("/", 1)[-1]
            if "/data/" in path:
                key = path.split("/data/", 1)[1]
            gone = deleted.get(path)
            if gone is not None and len(gone) and (gone[0] < 0 or gone[-1] >= df.record_count):
                raise SourceError(f"source file {path} has {df.record_count} rows but its deletes name position "
                                  f"{int(gone[-1] if gone[-1] >= df.record_count else gone[0])}; the table's "
                                  "delete files do not fit its data files")
            if gone is not None and len(gone) >= df.record_count:
                continue  # every row of the file is deleted: it is not part of the table's rows
            etag = f"iceberg:{df.file_size_in_bytes}:{df.record_count}"  # Iceberg data files are immutable
            if gone is not None:  # ... their deletes are not: a new delete file is a new listing
                etag += f":deletes:{len(gone)}:{hashlib.sha256(gone.tobytes()).hexdigest()[:16]}"
            files.append(SourceFile(
                path=path, key=key, size=df.file_size_in_bytes,
                open=(lambda p=path: io.new_input(p).open()),
                etag=etag, deleted_positions=gone,
                local_path=path[len("file://"):] if path.startswith("file://") else (path if path.startswith("/") else None),
            ))
        schema = None
        if not files:
            from lakepkg.format.schema_json import logical_schema

            schema = logical_schema(tbl.schema().as_arrow())
        return TableSnapshot(name=table_name, schema=schema, provenance=provenance, files=files,
                             volatile={"metadata_location": tbl.metadata_location})


def _position_deletes(io: Any, tasks: list[Any], ident: str) -> Optional[dict[str, Any]]:
    """Data file path -> its deleted row positions (sorted, unique int64), from the position-delete
    files each scan task carries (Parquet/ORC position deletes, or v3 deletion vectors in Puffin),
    read by pyiceberg's own delete reader. None when some delete file is an equality delete (rows
    named by value, not position), or this pyiceberg has no delete reader: the caller then reads
    the table's rows through pyiceberg's scan instead."""
    import numpy as np

    try:
        from pyiceberg.io.pyarrow import _read_deletes  # what pyiceberg's own scans apply
        from pyiceberg.manifest import DataFileContent
    except ImportError:  # pragma: no cover - a pyiceberg that moved its reader
        return None
    read: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    for t in tasks:
        if any(d.content != DataFileContent.POSITION_DELETES for d in t.delete_files):
            return None
        parts = []
        for d in t.delete_files:
            if d.file_path not in read:
                try:
                    read[d.file_path] = _read_deletes(io, d)
                except Exception as exc:
                    raise SourceError(f"Iceberg table {ident}: cannot read delete file {d.file_path}: "
                                      f"{one_line(exc)}") from None
            got = read[d.file_path].get(t.file.file_path)
            if got is not None:
                parts.append(np.asarray(got.to_numpy() if hasattr(got, "to_numpy") else got, dtype=np.int64))
        if parts:
            out[t.file.file_path] = np.unique(np.concatenate(parts))
    return out


connector = IcebergConnector()
