"""Local Parquet and CSV files or folders as a :class:`TableSnapshot` (used by ``build``).

Partition values come from ``key=value`` folders; their types are inferred
(all integers → int64, else string), as pyarrow's Hive partitioning does.
CSV files are converted to Parquet with pyarrow's CSV reader.
"""
from __future__ import annotations

import os
from typing import Any, BinaryIO, Callable, Optional

import pyarrow as pa

from lakepkg.errors import SourceError
from lakepkg.format.names import safe_key
from lakepkg.source.table_snapshot import SourceFile, TableSnapshot

DATA_EXT = {".parquet": "parquet", ".pq": "parquet", ".parq": "parquet", ".csv": "csv"}


def _csv_to_arrow(path: str) -> pa.Table:
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path)


def _partition_of(rel: str) -> dict[str, str]:
    out = {}
    for seg in rel.split("/")[:-1]:
        if "=" in seg:
            k, v = seg.split("=", 1)
            out[k] = v
    return out


def _typed(values: list[str]) -> pa.DataType:
    try:
        [int(v) for v in values if v != "__HIVE_DEFAULT_PARTITION__"]
        return pa.int64()
    except ValueError:
        return pa.string()


def _opener(path: str) -> Callable[[], BinaryIO]:
    """A function opening ``path`` for reading bytes (a source file's ``open``)."""
    return lambda: open(path, "rb")


def local_table_snapshot(name: str, path: str, fmt: Optional[str] = None) -> TableSnapshot:
    """Describe a local file or folder of Parquet/CSV files as a table snapshot."""
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise SourceError(f"{path} does not exist; give a Parquet/CSV file or a folder of them")
    if os.path.isfile(path):
        found = [(os.path.basename(path), path)]
    else:
        found = []
        for dirpath, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for f in sorted(names):
                if f.startswith((".", "_")):
                    continue
                full = os.path.join(dirpath, f)
                found.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
    kinds: dict[str, tuple[str, str]] = {}
    for rel, full in found:
        ext = os.path.splitext(rel)[1].lower()
        found_kind = fmt or DATA_EXT.get(ext)
        if found_kind is None:
            continue
        kinds[rel] = (found_kind, full)
    if not kinds:
        raise SourceError(f"no Parquet or CSV files under {path}")
    formats = {k for k, _ in kinds.values()}
    if len(formats) > 1:
        raise SourceError(f"{path} mixes {' and '.join(sorted(formats))} files; put one format per table")
    parts = {rel: _partition_of(rel) for rel in kinds}
    pcols: list[str] = []
    for p in parts.values():
        for k in p:
            if k not in pcols:
                pcols.append(k)
    if any(set(p) != set(pcols) for p in parts.values()):
        raise SourceError(f"files under {path} do not all sit in the same key=value partition folders")
    ptypes = {c: _typed([p[c] for p in parts.values()]) for c in pcols}

    def pvalue(c: str, v: str) -> Any:
        if v == "__HIVE_DEFAULT_PARTITION__":
            return None
        return int(v) if ptypes[c] == pa.int64() else v

    files = []
    for rel, (kind, full) in sorted(kinds.items()):
        st = os.stat(full)
        key = safe_key(rel if kind == "parquet" else os.path.splitext(rel)[0] + ".parquet")
        files.append(SourceFile(
            path=full, key=key, size=st.st_size, mtime=st.st_mtime,
            open=_opener(full),
            partition={c: pvalue(c, v) for c, v in parts[rel].items()},
            to_arrow=_csv_to_arrow if kind == "csv" else None,
            local_path=full,
        ))
    schema = None
    if pcols:
        schema = _schema_with_partitions(files[0], kind, pcols, ptypes)
    return TableSnapshot(name=name, schema=schema, partition_columns=pcols, files=files,
                         provenance={"source": "local", "format": next(iter(formats))},
                         volatile={"path": path})


def _schema_with_partitions(sample: SourceFile, kind: str, pcols: list[str], ptypes: dict[str, pa.DataType]) -> pa.Schema:
    import pyarrow.parquet as pq

    from lakepkg.format.schema_json import logical_schema

    if kind == "parquet":
        data = pq.read_schema(sample.path)
    else:
        data = _csv_to_arrow(sample.path).schema
    data = logical_schema(data)
    fields = [f for f in data if f.name not in pcols] + [pa.field(c, ptypes[c]) for c in pcols]
    return pa.schema(fields)
