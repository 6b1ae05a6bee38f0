"""The rows digest of a loaded table: recorded in its version record, or computed by reading it.

The digest itself (``rows-v1:<count>:<sum h1>:<sum h2>``, independent of how
rows are cut into fragments) is defined in :mod:`lakepkg.write.row_hash` and
docs/format.md; two versions with equal digests hold the same rows.
"""
from __future__ import annotations

from typing import Any, Optional

from lakepkg.write.row_hash import DigestAccumulator


def compute_rows_digest(table: Any) -> str:
    """The rows digest of a loaded table, computed by reading every fragment (vectors applied)."""
    acc = DigestAccumulator()
    names = table.schema.names
    for f in table.fragments():
        acc.add_rows(f.to_arrow().select(names))
    return acc.digest()


def recorded_rows_digest(table: Any) -> Optional[str]:
    """The digest the version record holds for ``table`` (None when it holds none)."""
    rec = getattr(table.package, "record", None)
    if rec is None or rec.top_hash != table.package.top_hash:
        return None
    src = (rec.sources or {}).get(table.name) or {}
    return (src.get("volatile") or {}).get("rows_digest")


def rows_digest(table: Any, compute: bool = True) -> Optional[str]:
    """The recorded rows digest of ``table``, else (``compute``) one computed by reading it."""
    d = recorded_rows_digest(table)
    if d is None and compute:
        d = compute_rows_digest(table)
    return d
