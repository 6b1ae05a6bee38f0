"""Plain files (README, models, …) merged three-way by logical key and object hash.

Per key: a file added, removed or changed on one side only is taken from that side; the same
object on both sides is taken once; changed differently on the two sides (or changed on one and
removed on the other, or added on both with different bytes) is a conflict, settled by
``--strategy ours|theirs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

from lakepkg.format.manifest import Entry


@dataclass
class FilesMerge:
    """The merged files (key → entry) and the conflicting keys with their three objects."""

    entries: dict[str, Entry] = field(default_factory=dict)
    conflicts: list[tuple[str, Optional[str], Optional[str], Optional[str]]] = field(default_factory=list)

    def conflict_table(self) -> pa.Table:
        keys, b, o, t = (list(x) for x in zip(*self.conflicts)) if self.conflicts else ([], [], [], [])
        return pa.table({"key": pa.array(keys, pa.string()), "base_object": pa.array(b, pa.string()),
                         "our_object": pa.array(o, pa.string()), "their_object": pa.array(t, pa.string())})


def _files(pkg: Any) -> dict[str, Entry]:
    return {} if pkg is None else {f.key: f.entry for f in pkg.files}


def merge_files(base: Optional[Any], ours: Any, theirs: Any, strategy: str = "fail") -> FilesMerge:
    """Merge the plain files of three package versions (``base`` None: no common base)."""
    b, o, t = _files(base), _files(ours), _files(theirs)
    out = FilesMerge()
    for k in sorted(set(b) | set(o) | set(t)):
        ob, oo, ot = (x.get(k).object if x.get(k) is not None else None for x in (b, o, t))  # type: ignore[union-attr]
        if oo == ot or ot == ob:
            pick = o.get(k)
        elif oo == ob:
            pick = t.get(k)
        else:
            if strategy == "fail":
                out.conflicts.append((k, ob, oo, ot))
                continue
            pick = o.get(k) if strategy == "ours" else t.get(k)
        if pick is not None:
            out.entries[k] = pick
    return out
