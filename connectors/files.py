"""Files on local disk or S3 as tables, and the file-system helpers other connectors share.

Connector ``files``::

    lakepkg.write.snapshotting.snapshot("files", to="raw/events",
                                  tables={"events": "s3://bucket/events/"},
                                  storage_options={"endpoint_url": "http://127.0.0.1:9000"})

Each table is a file or folder of Parquet, CSV or ORC files; ``key=value``
folders are partitions (values typed as in :mod:`lakepkg.source.local_files`).
Local paths go through :func:`lakepkg.source.local_files.local_table_snapshot`.

Helpers: :func:`filesystem_for` turns a location (``/path``, ``file:/path``,
``file:///path``, ``s3://``, ``s3a://``, ``s3n://``) into a pyarrow file
system and a path; :func:`list_files` lists data files under a folder,
skipping hidden and bookkeeping files (``_SUCCESS``, ``.crc``, ``_temporary``).
"""
from __future__ import annotations

import os
import re
from typing import Any, Optional
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from lakepkg.errors import ConfigError, SourceError, one_line
from lakepkg.format.names import safe_key
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot

__all__ = ["filesystem_for", "list_files", "redact", "connector", "FilesConnector", "source_file"]


def redact(uri: str) -> str:
    """A location or URL with any ``user:password@`` and query string removed (safe to record)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    if not parts.scheme or parts.scheme == "file":
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _s3_options(storage_options: Optional[dict[str, Any]]) -> dict[str, Any]:
    o = dict(storage_options or {})
    kw: dict[str, Any] = {}
    endpoint = o.pop("endpoint_url", None) or o.pop("endpoint_override", None) or \
        os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        sp = urlsplit(endpoint)
        kw["endpoint_override"] = sp.netloc or endpoint
        kw["scheme"] = sp.scheme or "https"
    region = o.pop("region", None) or o.pop("region_name", None) or os.environ.get("AWS_REGION") or \
        os.environ.get("AWS_DEFAULT_REGION")
    if region:
        kw["region"] = region
    for a, b in (("key", "access_key"), ("aws_access_key_id", "access_key"), ("secret", "secret_key"),
                 ("aws_secret_access_key", "secret_key"), ("token", "session_token")):
        if a in o:
            kw[b] = o.pop(a)
    kw.update(o)
    if "endpoint_override" in kw:
        kw.setdefault("force_virtual_addressing", False)
    return kw


def filesystem_for(location: str, storage_options: Optional[dict[str, Any]] = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow file system and the path inside it for ``location``."""
    loc = location.strip()
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", loc)
    scheme = m.group(1).lower() if m else ""
    if not scheme or len(scheme) == 1:  # plain path (or a Windows drive letter)
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(loc))
    rest = m.group(2)
    if scheme == "file":
        path = rest
        if path.startswith("//"):
            path = path[2:]
            if not path.startswith("/"):  # file://host/path
                path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        from urllib.parse import unquote

        return pafs.LocalFileSystem(), unquote(path) or "/"
    if scheme in ("s3", "s3a", "s3n"):
        sp = urlsplit(loc)
        bucket = sp.hostname or sp.netloc.rsplit("@", 1)[-1]
        if not bucket:
            raise ConfigError(f"location {redact(loc)} names no bucket; use s3://bucket/path")
        try:
            fs = pafs.S3FileSystem(**_s3_options(storage_options))
        except (TypeError, ValueError, pa.ArrowInvalid) as exc:
            raise ConfigError(f"bad S3 options for {redact(loc)}: {one_line(exc)}") from None
        return fs, f"{bucket}{sp.path}".rstrip("/")
    try:
        fs, path = pafs.FileSystem.from_uri(loc)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        raise SourceError(f"cannot open location {redact(loc)}: {one_line(exc)}; lakepkg reads local paths, "
                          f"file: URIs and s3:// locations") from None
    return fs, path


def _hidden(name: str) -> bool:
    return name.startswith((".", "_")) or name.endswith((".crc", ".tmp")) or name.startswith("_$folder$")


def list_files(fs: pafs.FileSystem, path: str, what: str, recursive: bool = True,
               must_exist: bool = True) -> list[pafs.FileInfo]:
    """Data files under ``path`` (sorted by path), skipping hidden/bookkeeping files and folders.

    ``what`` names the folder in errors (``partition ds=1 of sales.orders``)."""
    try:
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            if not must_exist:
                return []
            raise SourceError(f"{what}: location {path} does not exist; restore it, or drop or repair the "
                              f"partition in the metastore (MSCK REPAIR TABLE)")
        if info.type == pafs.FileType.File:
            return [info]
        sel = pafs.FileSelector(path, recursive=recursive, allow_not_found=False)
        infos = fs.get_file_info(sel)
    except PermissionError as exc:
        raise SourceError(f"{what}: location {path} is not readable ({one_line(exc)}); grant read access") from None
    except FileNotFoundError:
        raise SourceError(f"{what}: location {path} disappeared while listing; re-run the snapshot") from None
    except OSError as exc:
        raise SourceError(f"{what}: cannot list {path}: {one_line(exc)}") from None
    base = path.rstrip("/") + "/"
    out = []
    for fi in infos:
        if fi.type != pafs.FileType.File:
            continue
        rel = fi.path[len(base):] if fi.path.startswith(base) else fi.base_name
        if any(_hidden(seg) for seg in rel.split("/")):
            continue
        out.append(fi)
    out.sort(key=lambda f: f.path)
    return out


def _mtime(fi: pafs.FileInfo) -> Optional[float]:
    if fi.mtime is None:
        return None
    return fi.mtime.timestamp() if hasattr(fi.mtime, "timestamp") else float(fi.mtime_ns) / 1e9


def source_file(fs: pafs.FileSystem, fi: pafs.FileInfo, key: str, display: str, *,
                partition: Optional[dict[str, Any]] = None, to_arrow: Any = None,
                cls: type = SourceFile, **extra: Any) -> SourceFile:
    """A :class:`SourceFile` for a file found by :func:`list_files` (read in place when local)."""
    local = isinstance(fs, pafs.LocalFileSystem)
    path = fi.path

    def opener() -> Any:
        try:
            return fs.open_input_stream(path) if not local else open(path, "rb")
        except FileNotFoundError:
            raise
        except OSError as exc:
            if "not found" in str(exc).lower() or "NoSuchKey" in str(exc):
                raise FileNotFoundError(path) from None
            raise

    return cls(path=display, key=safe_key(key), size=int(fi.size), open=opener, mtime=_mtime(fi),
               partition=dict(partition or {}), to_arrow=to_arrow, local_path=path if local else None, **extra)


# -- the `files` connector --------------------------------------------------------------------------

_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv", ".orc": "orc"}


def _orc_to_arrow(p: str) -> pa.Table:
    import pyarrow.orc as po

    return po.read_table(p)


def _csv_to_arrow(p: str) -> pa.Table:
    import pyarrow.csv as pcsv

    return pcsv.read_csv(p)


class FilesConnector:
    """Snapshot files or folders (local or S3) as tables."""

    name = "files"

    def snapshot_tables(self, *, tables: dict[str, str], storage_options: Optional[dict[str, Any]] = None,
                        **_: Any) -> list[TableSnapshot]:
        """``tables``: table name -> location (a file or a folder of Parquet/CSV/ORC files)."""
        if not tables:
            raise ConfigError("no tables given: pass tables={'name': 'path or s3://bucket/prefix'}")
        out = []
        for name, loc in tables.items():
            fs, path = filesystem_for(loc, storage_options)
            if isinstance(fs, pafs.LocalFileSystem) and not path.endswith(".orc") and not _has_orc(fs, path):
                from lakepkg.source.local_files import local_table_snapshot

                out.append(local_table_snapshot(name, path))
                continue
            out.append(self._remote(name, loc, fs, path))
        return out

    def _remote(self, name: str, loc: str, fs: pafs.FileSystem, path: str) -> TableSnapshot:
        from lakepkg.source.local_files import _partition_of, _typed

        infos = list_files(fs, path, f"table {name}", must_exist=False)  # on S3 an empty prefix does not exist
        base = path.rstrip("/") + "/"
        items = []
        for fi in infos:
            rel = fi.path[len(base):] if fi.path.startswith(base) else fi.base_name
            kind = _FORMATS.get(os.path.splitext(rel)[1].lower())
            if kind:
                items.append((rel, kind, fi))
        if not items:
            raise SourceError(f"no Parquet, CSV or ORC files under {redact(loc)}")
        kinds = {k for _, k, _ in items}
        if len(kinds) > 1:
            raise SourceError(f"{redact(loc)} mixes {' and '.join(sorted(kinds))} files; put one format per table")
        kind = kinds.pop()
        parts = {rel: _partition_of(rel) for rel, _, _ in items}
        pcols = list(dict.fromkeys(k for p in parts.values() for k in p))
        ptypes = {c: _typed([p.get(c, "") for p in parts.values()]) for c in pcols}
        conv = {"orc": _orc_to_arrow, "csv": _csv_to_arrow}.get(kind)
        files = []
        for rel, _, fi in items:
            key = rel if kind == "parquet" else os.path.splitext(rel)[0] + ".parquet"
            pv = {c: (None if v == "__HIVE_DEFAULT_PARTITION__" else int(v) if ptypes[c] == pa.int64() else v)
                  for c, v in parts[rel].items()}
            scheme = "s3" if isinstance(fs, pafs.S3FileSystem) else "file"
            display = f"s3://{fi.path}" if scheme == "s3" else fi.path
            files.append(source_file(fs, fi, key, display, partition=pv, to_arrow=conv))
        schema = None
        if pcols:
            schema = _sample_schema(fs, items[0][2], kind)
            schema = pa.schema([f for f in schema if f.name not in pcols] + [pa.field(c, ptypes[c]) for c in pcols])
        return TableSnapshot(name=name, schema=schema, partition_columns=pcols, files=files,
                             provenance={"source": "files", "location": redact(loc), "format": kind})


def _has_orc(fs: pafs.FileSystem, path: str) -> bool:
    try:
        return any(f.path.endswith(".orc") for f in list_files(fs, path, "folder"))
    except SourceError:
        return False


def _sample_schema(fs: pafs.FileSystem, fi: pafs.FileInfo, kind: str) -> pa.Schema:
    import tempfile

    from lakepkg.format.schema_json import logical_schema

    if kind == "parquet":
        import pyarrow.parquet as pq

        with fs.open_input_file(fi.path) as f:
            return logical_schema(pq.read_schema(f))
    with tempfile.NamedTemporaryFile() as tmp:
        with fs.open_input_stream(fi.path) as src:
            tmp.write(src.read())
        tmp.flush()
        return logical_schema((_orc_to_arrow if kind == "orc" else _csv_to_arrow)(tmp.name).schema)


connector = FilesConnector()
