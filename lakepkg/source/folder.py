"""A file or folder of Parquet, CSV or ORC files — local or on S3 — as a :class:`TableSnapshot`.

The one local-folder source: ``lakepkg build --table NAME=PATH``,
:meth:`lakepkg.write.build.PackageBuilder.add_path` and the ``files``
connector all describe folders here.

* ``key=value`` folders are partitions; every data file must sit in the same
  partition folders (a file outside them is an error, not a silent null).
  Partition values are typed as pyarrow's Hive partitioning does: all
  integers → int64, else string; ``__HIVE_DEFAULT_PARTITION__`` is null.
* Parquet files are stored byte for byte; CSV and ORC files are converted
  (:func:`read_csv`, :func:`read_orc`) to Parquet fragments.
* Hidden and bookkeeping files (``.x``, ``_SUCCESS``, ``.crc``) are skipped.
* Provenance (hashed): a local folder of Parquet/CSV records
  ``{"source": "local", "format": ...}`` (its path, a detail of the machine,
  goes to the version record); any other location (S3, or local ORC files)
  records ``{"source": "files", "location": <redacted>, "format": ...}``.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, BinaryIO, Callable, Optional

import pyarrow as pa
import pyarrow.fs as pafs

from lakepkg.errors import SourceError, SourceNotFoundError
from lakepkg.format.schema_json import logical_schema
from lakepkg.source.filesystems import file_mtime, filesystem_for, list_files, redact
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot

__all__ = ["folder_snapshot", "read_csv", "read_orc", "FORMATS"]

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv", ".orc": "orc"}
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"



def _opener(path: str) -> Callable[[], BinaryIO]:
    """A function opening ``path`` for reading bytes (a local source file's ``open``)."""
    return lambda: open(path, "rb")

def read_csv(path: str) -> pa.Table:
    """A local CSV file as an Arrow table (pyarrow's CSV reader, types inferred)."""
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path)


def read_orc(path: str) -> pa.Table:
    """A local ORC file as an Arrow table."""
    import pyarrow.orc as po

    return po.read_table(path)


CONVERTERS: dict[str, Optional[Callable[[str], pa.Table]]] = {"parquet": None, "csv": read_csv, "orc": read_orc}


def _partition_of(rel: str) -> dict[str, str]:
    out = {}
    for seg in rel.split("/")[:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            out[k] = v
    return out


def _typed(values: list[str]) -> pa.DataType:
    try:
        [int(v) for v in values if v != DEFAULT_PARTITION]
        return pa.int64()
    except ValueError:
        return pa.string()


def _value(v: str, ty: pa.DataType) -> Any:
    if v == DEFAULT_PARTITION:
        return None
    return int(v) if ty == pa.int64() else v


def _local_found(path: str) -> list[tuple[str, str]]:
    """(relative key, absolute path) of every visible file under a local file or folder."""
    if os.path.isfile(path):
        return [(os.path.basename(path), path)]
    fs = pafs.LocalFileSystem()
    base = path.rstrip("/") + "/"
    return [(fi.path[len(base):], fi.path) for fi in list_files(fs, path, f"folder {path}")]


def folder_snapshot(name: str, location: str, *, storage_options: Optional[dict[str, Any]] = None,
                    fmt: Optional[str] = None) -> TableSnapshot:
    """Describe the file or folder at ``location`` (a path, ``file:`` URI or ``s3://`` prefix) as table
    ``name``. ``fmt`` (``parquet``, ``csv``, ``orc``) reads every visible file in that format."""
    if fmt is not None and fmt not in CONVERTERS:
        raise SourceError(f"format {fmt!r} is not one of {', '.join(CONVERTERS)}")
    fs, path = filesystem_for(location, storage_options)
    local = isinstance(fs, pafs.LocalFileSystem)
    shown = path if local else redact(location)
    if local:
        if not os.path.exists(path):
            raise SourceNotFoundError(f"{path} does not exist; give a Parquet/CSV/ORC file or a folder of them")
        found = _local_found(path)
        infos: dict[str, Any] = {}
    else:
        base = path.rstrip("/") + "/"
        listed = list_files(fs, path, f"table {name}", must_exist=False)  # an empty S3 prefix does not exist
        infos = {(fi.path[len(base):] if fi.path.startswith(base) else fi.base_name): fi for fi in listed}
        found = [(rel, fi.path) for rel, fi in infos.items()]
    kinds: dict[str, tuple[str, str]] = {}
    for rel, full in sorted(found):
        kind = fmt or FORMATS.get(os.path.splitext(rel)[1].lower())
        if kind is not None:
            kinds[rel] = (kind, full)
    if not kinds:
        raise SourceError(f"no Parquet, CSV or ORC files under {shown}")
    formats = {k for k, _ in kinds.values()}
    if len(formats) > 1:
        raise SourceError(f"{shown} mixes {' and '.join(sorted(formats))} files; put one format per table")
    kind = formats.pop()
    parts = {rel: _partition_of(rel) for rel in kinds}
    pcols = list(dict.fromkeys(k for p in parts.values() for k in p))
    if any(set(p) != set(pcols) for p in parts.values()):
        raise SourceError(f"files under {shown} do not all sit in the same key=value partition folders")
    ptypes = {c: _typed([p[c] for p in parts.values()]) for c in pcols}
    conv = CONVERTERS[kind]
    files = []
    for rel, (_kind, full) in kinds.items():
        key = rel if kind == "parquet" else os.path.splitext(rel)[0] + ".parquet"
        partition = {c: _value(v, ptypes[c]) for c, v in parts[rel].items()}
        files.append(_source_file(fs, full, infos.get(rel), key, partition, conv))
    schema = None
    if pcols:
        data = _sample_schema(fs, next(iter(kinds.values()))[1], kind)
        schema = pa.schema([f for f in data if f.name not in pcols] + [pa.field(c, ptypes[c]) for c in pcols])
    if local and kind != "orc":
        return TableSnapshot(name=name, schema=schema, partition_columns=pcols, files=files,
                             provenance={"source": "local", "format": kind}, volatile={"path": path})
    return TableSnapshot(name=name, schema=schema, partition_columns=pcols, files=files,
                         provenance={"source": "files", "location": redact(location), "format": kind})


def _source_file(fs: pafs.FileSystem, full: str, info: Any, key: str, partition: dict[str, Any],
                 conv: Optional[Callable[[str], pa.Table]]) -> SourceFile:
    from lakepkg.format.names import safe_key

    if info is None:  # local: read in place
        st = os.stat(full)
        return SourceFile(path=full, key=safe_key(key), size=st.st_size, mtime=st.st_mtime,
                          open=_opener(full), partition=partition, to_arrow=conv, local_path=full)

    def opener() -> Any:
        try:
            return fs.open_input_stream(full)
        except OSError as exc:
            if "not found" in str(exc).lower() or "NoSuchKey" in str(exc):
                raise FileNotFoundError(full) from None
            raise

    display = f"s3://{full}" if isinstance(fs, pafs.S3FileSystem) else full
    return SourceFile(path=display, key=safe_key(key), size=int(info.size), mtime=file_mtime(info), open=opener,
                      partition=partition, to_arrow=conv)


def _sample_schema(fs: pafs.FileSystem, path: str, kind: str) -> pa.Schema:
    """The data schema of one file (its logical form); a converted remote file through a temporary copy."""
    import pyarrow.parquet as pq

    if kind == "parquet":
        with fs.open_input_file(path) as f:
            return logical_schema(pq.read_schema(f))
    conv = CONVERTERS[kind]
    assert conv is not None
    if isinstance(fs, pafs.LocalFileSystem):
        return logical_schema(conv(path).schema)
    with tempfile.NamedTemporaryFile() as tmp:
        with fs.open_input_stream(path) as src:
            tmp.write(src.read())
        tmp.flush()
        return logical_schema(conv(tmp.name).schema)
