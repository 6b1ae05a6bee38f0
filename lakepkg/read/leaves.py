"""The leaves of a package version: plain files and Parquet fragments (a fragment reads through the one
reader, :mod:`lakepkg.read.arrow_scan`, without planning its table)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError
from lakepkg.format.manifest import Entry
from lakepkg.read.arrow_scan import verified_path
from lakepkg.read.scan import FragmentTask, deprecated_verify
from lakepkg.store.base import ObjectStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["File", "Fragment"]


class _Leaf:
    def __init__(self, store: ObjectStore, entry: Entry) -> None:
        self.store = store
        self.entry = entry

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def object(self) -> str:
        return self.entry.object

    @property
    def size(self) -> int:
        return self.entry.size

    @property
    def meta(self) -> dict[str, Any]:
        return self.entry.meta or {}

    def local_path(self, verify: Optional[bool] = None) -> str:
        """A local file with the leaf's bytes (fetched into the cache for remote stores), checked to
        hash to the leaf's object (IntegrityError if not; see :func:`lakepkg.read.arrow_scan.verified_path`).
        ``verify`` is deprecated and ignored: the bytes are always checked."""
        deprecated_verify(verify)
        return verified_path(self.store, self.entry)

    def read_bytes(self, verify: bool = True) -> bytes:
        return self.store.get_bytes(self.entry.object, verify=verify)


class File(_Leaf):
    """A plain file in a package."""

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def __repr__(self) -> str:
        return f"<File {self.key} {self.size} B>"


class Fragment(_Leaf):
    """A Parquet fragment of a table: a leaf that reads as a pandas frame."""

    def __init__(self, store: ObjectStore, entry: Entry, table: Any) -> None:
        super().__init__(store, entry)
        self.table = table

    @property
    def rows(self) -> Optional[int]:
        return self.entry.rows

    @property
    def partition(self) -> dict[str, Any]:
        return self.entry.partition or {}

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        return self.entry.stats or {}

    @property
    def task(self) -> FragmentTask:
        """This fragment as a read-plan task."""
        return FragmentTask.of(self.entry.to_json())

    def to_arrow(self, columns: Optional[list[str]] = None, verify: Optional[bool] = None) -> pa.Table:
        """The fragment's live rows, partition columns included, from checked bytes (the one reader;
        no plan of the table). ``verify`` is deprecated and ignored: every read is checked."""
        deprecated_verify(verify)
        if columns is not None:
            unknown = [c for c in columns if c not in self.table.schema.names]
            if unknown:
                pkg = self.table.package
                ref = f"{pkg.name}@{pkg.top_hash[:10]}" if pkg.name else pkg.top_hash[:10]
                raise ConfigError(f"table {self.table.name!r} of {ref} has no column(s) {', '.join(unknown)}; "
                                  f"its columns: {', '.join(self.table.schema.names)}")
        return self.table.reader(columns).read_task(self.task)

    def to_pandas(self, columns: Optional[list[str]] = None, verify: Optional[bool] = None) -> "pd.DataFrame":
        """The fragment as a pandas DataFrame."""
        deprecated_verify(verify)
        return self.to_arrow(columns).to_pandas()

    def __repr__(self) -> str:
        return f"<Fragment {self.key} rows={self.rows} {self.size} B>"
