"""The rows digest of a loaded table: recorded in its version record, or computed by reading it.

The digest (``rows-v2:<count>:<sum of the rows' SHA-256 mod 2**256>``, independent of how rows
are cut into fragments) is defined in :mod:`lakepkg.format.rows_digest` and docs/format.md; two
versions with equal digests hold the same rows. Versions recorded before it carry ``rows-v1``
(:mod:`lakepkg.write.row_hash`), which still compare with each other, as a checksum.
"""
from __future__ import annotations

from typing import Any, Optional

from lakepkg.format.row_identity import row_hash_matrix
from lakepkg.format.rows_digest import RowsDigest


def compute_rows_digest(table: Any) -> str:
    """The ``rows-v2`` digest of a loaded table, computed by reading every fragment (vectors applied)."""
    acc = RowsDigest()
    names = table.schema.names
    for f in table.fragments():
        acc.add(row_hash_matrix(f.to_arrow().select(names)))
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
