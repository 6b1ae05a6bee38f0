"""What a connector hands the core: a description of one table snapshot.

A connector reads its source and returns :class:`TableSnapshot` objects; it
never writes the store or the registry. The core (:mod:`lakepkg.write.ingest`)
copies or converts the files, or cuts the record batches into fragments.

* ``files``: source data files (Parquet stored byte-for-byte; other formats
  converted through ``SourceFile.to_arrow``). Listing fields (path, size,
  mtime, etag) drive incremental re-snapshots.
* ``batches``: Arrow record batches (query results), ordered by
  ``key_columns`` when there is a key; cut at content-defined boundaries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterable, Optional

import pyarrow as pa


@dataclass
class SourceFile:
    """One data file in a source system."""

    path: str                                  # source location, no credentials (provenance, listing)
    key: str                                   # logical key inside the table, e.g. "ds=2026-11-01/part-0.parquet"
    size: int
    open: Callable[[], BinaryIO]               # opens the source bytes for reading
    mtime: Optional[float] = None              # modification time (seconds) when known
    etag: Optional[str] = None                 # ETag / version token when known
    partition: dict[str, Any] = field(default_factory=dict)
    to_arrow: Optional[Callable[[str], pa.Table]] = None  # converter for non-Parquet files (gets a local copy)
    local_path: Optional[str] = None           # set when the source is a local file: read in place, no temporary copy
    deleted_positions: Optional[Any] = None    # row positions the source deleted from this file (e.g. Iceberg
                                               # position deletes): stored byte for byte plus a deletion vector

    def listing(self) -> dict[str, Any]:
        """The fields an incremental re-snapshot compares."""
        return {"source": self.path, "size": self.size, "mtime": self.mtime, "etag": self.etag}


@dataclass
class TableSnapshot:
    """One table as a connector saw it."""

    name: str
    schema: Optional[pa.Schema] = None          # full schema incl. partition columns (None: taken from data)
    partition_columns: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)   # hashed: must be deterministic, no secrets
    volatile: dict[str, Any] = field(default_factory=dict)     # not hashed (times, run details): version record
    meta: dict[str, Any] = field(default_factory=dict)
    files: Optional[Iterable[SourceFile]] = None
    batches: Optional[Iterable[pa.RecordBatch]] = None
    key_columns: Optional[list[str]] = None
    on_finish: Optional[Callable[[], None]] = None  # called after the data has been consumed (e.g. check nothing changed)
    chunking: Optional[Any] = None              # lakepkg.write.chunking.ChunkingParams for batches (None: the default)
    facts: dict[str, Any] = field(default_factory=dict)  # per-table facts for the publish result (not recorded)
