"""A table of a package version: schema, partitions, fragments; it reads as Arrow, pandas or Spark
through :meth:`Table.scan`, the one read plan, and the one reader (:mod:`lakepkg.read.arrow_scan`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import NotFoundError
from lakepkg.format.manifest import Entry, TableNodeData, load_table_node
from lakepkg.read.arrow_scan import ArrowScan
from lakepkg.read.filters import Filter
from lakepkg.read.leaves import Fragment
from lakepkg.read.scan import ScanPlan, deprecated_verify, plan_table, pruned_entries

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow.dataset as pads

__all__ = ["Table"]


class Table:
    """A table node: schema, partitions, fragments; reads as Arrow, pandas or Spark through
    :meth:`scan`, the one read plan."""

    def __init__(self, package: Any, name: str, node_hash: str) -> None:
        self.package = package
        self.store = package.store
        self.name = name
        self.hash = node_hash
        self.node: TableNodeData = load_table_node(self.store, node_hash)

    @property
    def schema(self) -> pa.Schema:
        return self.node.schema

    @property
    def partition_columns(self) -> list[str]:
        return self.node.partition_columns

    @property
    def rows(self) -> int:
        return self.node.rows

    @property
    def bytes(self) -> int:
        return self.node.bytes

    @property
    def provenance(self) -> dict[str, Any]:
        return self.node.provenance

    @property
    def meta(self) -> dict[str, Any]:
        return self.node.meta

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """Distinct partition values, in key order (reads every page of the table)."""
        seen: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        for d in self.iter_entries():
            p = d.get("partition") or {}
            seen.setdefault(tuple((k, str(p.get(k))) for k in self.partition_columns), p)
        return list(seen.values())

    def scan(self, filters: Optional[Filter] = None, columns: Optional[Sequence[str]] = None,
             verify: Optional[bool] = None) -> ScanPlan:
        """The read plan of this exact version: fragments left after partition and min/max pruning
        by ``filters``, reading ``columns`` (all when None). See :mod:`lakepkg.read.scan`.
        ``verify`` is deprecated and ignored: every read hashes a fragment before its first use."""
        deprecated_verify(verify)
        pkg = self.package
        return plan_table(self.store, registry_location=pkg.registry.location, top_hash=pkg.top_hash,
                          table=self.name, table_hash=self.hash, node=self.node, package=pkg.name,
                          filters=filters, columns=columns)

    def reader(self, columns: Optional[Sequence[str]] = None) -> ArrowScan:
        """The one reader over this table's fragments (no row filter; ``columns`` or all)."""
        return ArrowScan(self.store, self.schema, self.partition_columns, table=self.name, columns=columns)

    def iter_entries(self, filters: Optional[Filter] = None) -> Iterator[dict[str, Any]]:
        """Entries (as dicts, statistics included) whose partition values and stats may match ``filters``."""
        return pruned_entries(self.store, self.node, filters)

    def fragments(self, filters: Optional[Filter] = None) -> list[Fragment]:
        """The fragments that may hold rows matching ``filters`` (all without a filter)."""
        return [Fragment(self.store, Entry.from_json(d), self) for d in self.iter_entries(filters)]

    def __iter__(self) -> Iterator[Fragment]:
        return iter(self.fragments())

    def __getitem__(self, key: str) -> Fragment:
        for f in self.fragments():
            if f.key == key:
                return f
        raise NotFoundError(f"table {self.name!r} has no fragment {key!r}")

    def to_arrow_dataset(self, filters: Optional[Filter] = None, verify: Optional[bool] = None) -> "pads.Dataset":
        """A pyarrow dataset over the fragments that survive partition and min/max pruning."""
        deprecated_verify(verify)
        return self.scan(filters).to_arrow_dataset()

    def to_arrow(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                 verify: Optional[bool] = None) -> pa.Table:
        """Rows matching ``filters`` (pruned by partition and stats, then filtered row by row)."""
        deprecated_verify(verify)
        return self.scan(filters, columns).to_arrow()

    def to_pandas(self, filters: Optional[Filter] = None, columns: Optional[list[str]] = None,
                  verify: Optional[bool] = None) -> "pd.DataFrame":
        """Rows matching ``filters`` as a pandas DataFrame."""
        deprecated_verify(verify)
        return self.scan(filters, columns).to_pandas()

    def head(self, n: int = 10) -> pa.Table:
        """The first ``n`` rows (reads only as many fragments as needed)."""
        return self.scan().head(n)

    def has_deletes(self) -> bool:
        """Whether any fragment of this table carries a deletion vector (read once, remembered)."""
        if getattr(self, "_has_deletes", None) is None:
            self._has_deletes = any(d.get("deletes") for d in self.iter_entries())
        return bool(self._has_deletes)

    def rows_digest(self, compute: bool = True) -> Optional[str]:
        """The layout-independent digest of this table's rows (:mod:`lakepkg.write.row_hash`):
        the one the version record holds, else (``compute``) computed by reading the table."""
        from lakepkg.read.rows_digest import rows_digest

        return rows_digest(self, compute=compute)

    def to_spark(self, spark: Any, columns: Optional[list[str]] = None, native: Optional[bool] = None,
                 filters: Optional[Filter] = None) -> Any:
        """A distributed Spark DataFrame of this exact version of the table, reading only ``columns``
        when given. ``native``: Spark's own Parquet scan of a local registry (default when possible),
        else the ``pkg`` data source (see :mod:`lakepkg.spark`)."""
        return self.scan(filters, columns).to_spark(spark, native=native)

    def __repr__(self) -> str:
        return f"<Table {self.name} rows={self.rows} fragments={self.node.fragments} hash={self.hash[:10]}>"

    def _repr_html_(self) -> str:
        from lakepkg.read.notebook import table_html

        return table_html(self)
