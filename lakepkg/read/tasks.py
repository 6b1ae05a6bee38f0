"""What a read plan hands its reader: one :class:`FragmentTask` per fragment to read (the manifest
entry without its statistics)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# the entry fields a task keeps (stats are only needed for planning; they stay behind)
TASK_FIELDS = ("key", "object", "size", "rows", "partition", "deletes")


@dataclass(frozen=True)
class FragmentTask:
    """One fragment a plan reads: its manifest entry (key, object, size, rows, partition values).

    An entry may carry ``deletes`` (its deletion vector: the rows it lost, docs/format.md);
    :attr:`deletes` is where a reader gets it, and :class:`lakepkg.read.arrow_scan.ArrowScan`
    (through :func:`lakepkg.read.deletes.apply_deletes`) applies it before rows leave the reader."""

    entry: dict[str, Any]

    @classmethod
    def of(cls, entry: Any) -> "FragmentTask":
        """A task from a manifest entry (a dict, an :class:`~lakepkg.format.manifest.Entry`, or a task)."""
        if isinstance(entry, FragmentTask):
            return entry
        d = entry if isinstance(entry, dict) else entry.to_json()
        return cls({k: d[k] for k in TASK_FIELDS if k in d})

    @property
    def key(self) -> str:
        return str(self.entry["key"])

    @property
    def object(self) -> str:
        return str(self.entry["object"])

    @property
    def size(self) -> int:
        return int(self.entry.get("size", 0))

    @property
    def rows(self) -> Optional[int]:
        r = self.entry.get("rows")
        return None if r is None else int(r)

    @property
    def partition(self) -> dict[str, Any]:
        return dict(self.entry.get("partition") or {})

    @property
    def deletes(self) -> Optional[Any]:
        """The entry's deletion vector reference (None: every row of the fragment is live)."""
        return self.entry.get("deletes")
