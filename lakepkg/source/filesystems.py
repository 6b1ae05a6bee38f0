"""Locations as pyarrow file systems: local paths, ``file:`` URIs and S3 (``s3://``, ``s3a://``, ``s3n://``).

:func:`filesystem_for` turns a location into a pyarrow file system and a path;
:func:`list_files` lists the data files under a folder, skipping hidden and
bookkeeping files (``_SUCCESS``, ``.crc``, ``_temporary``); :func:`source_file`
describes one listed file as a :class:`~lakepkg.source.table_snapshot.SourceFile`;
:func:`redact` removes credentials from a location before it is recorded.
Shared by the folder source and the connectors that read lake files (Hive).
"""
from __future__ import annotations

import os
import re
from typing import Any, Optional
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from lakepkg.errors import ConfigError, SourceError, SourceNotFoundError, one_line
from lakepkg.format.names import safe_key
from lakepkg.source.table_snapshot import SourceFile

__all__ = ["filesystem_for", "list_files", "redact", "source_file", "file_mtime", "location_uri"]


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
    assert m is not None  # a scheme was found above
    rest = m.group(2)
    if scheme == "file":
        path = rest
        if path.startswith("//"):
            path = path[2:]
            if not path.startswith("/"):  # file://host/path
                path = "/" + path.split("/", 1)[1] if "/" in path else "/"
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


def location_uri(location: str) -> str:
    """A location Spark and a catalog both understand: an absolute ``file:`` URI for a local path."""
    loc = location.strip()
    if not loc:
        raise ConfigError("--location is empty; give a folder (path or URI) for the table's files")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", loc) and not re.match(r"^[A-Za-z]:[\\/]", loc):
        return loc
    return "file:" + os.path.abspath(os.path.expanduser(loc))


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
            raise SourceNotFoundError(f"{what}: location {path} does not exist; restore it, or drop or repair the "
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


def file_mtime(fi: pafs.FileInfo) -> Optional[float]:
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

    return cls(path=display, key=safe_key(key), size=int(fi.size), open=opener, mtime=file_mtime(fi),
               partition=dict(partition or {}), to_arrow=to_arrow, local_path=path if local else None, **extra)
