"""The rows digest of a table: a multiset hash of its rows' SHA-256 (docs/format.md, "Rows digest").

    acc = RowsDigest()
    acc.add(row_hash_matrix(batch))        # any number of batches, in any order
    acc.digest()                           # "rows-v2:<count>:<64 hex digits>"

``rows-v2:<count>:<S>``: ``S`` is the sum, modulo 2**256, of every row's SHA-256
(:mod:`lakepkg.format.row_identity`) read as a big-endian 256-bit integer, written as 64 lowercase
hex digits. It does not depend on how the rows are cut into fragments or ordered, and two different
multisets of rows with equal digests need a SHA-256 collision or a generalised-birthday solution
over 256-bit sums — not a checksum's 64 bits. Versions written before it carry ``rows-v1`` (two
64-bit polynomial/splitmix sums, :mod:`lakepkg.write.row_hash`): they keep reading and diffing,
and :func:`compare_digests` says when a verdict rests on the weaker form.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

DIGEST_VERSION = "rows-v2"
LEGACY_VERSIONS = ("rows-v1",)
_MOD = 1 << 256


class RowsDigest:
    """Sums row hashes into a ``rows-v2`` digest, batch by batch (order does not matter)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add(self, hashes: np.ndarray) -> None:
        """Add rows given as an (n, 32) uint8 array of their SHA-256 (``row_hash_matrix``)."""
        n = len(hashes)
        if not n:
            return
        # eight big-endian 32-bit limbs per hash; each limb's column sum fits in 64 bits for
        # n < 2**32 rows a call, and the limbs are recombined exactly with Python integers
        limbs = np.ascontiguousarray(hashes).view(">u4").reshape(n, 8).astype(np.uint64)
        sums = limbs.sum(axis=0, dtype=np.uint64)
        s = 0
        for i, v in enumerate(sums.tolist()):
            s += int(v) << (32 * (7 - i))
        self.total = (self.total + s) % _MOD
        self.count += n

    def merge(self, other: "RowsDigest") -> None:
        self.count += other.count
        self.total = (self.total + other.total) % _MOD

    def digest(self) -> str:
        return f"{DIGEST_VERSION}:{self.count}:{self.total:064x}"


def digest_version(digest: Optional[str]) -> Optional[str]:
    """``rows-v2``, ``rows-v1`` (or whatever prefix a digest has); None for None."""
    return None if digest is None else digest.split(":", 1)[0]


def compare_digests(a: Optional[str], b: Optional[str]) -> tuple[Optional[bool], bool]:
    """(same rows?, verdict rests on a legacy digest).

    ``None`` when either is missing or the two are of different versions (they cannot be compared
    without reading the rows); the second value is True when both are ``rows-v1``, whose equality
    is a 128-bit checksum's, not a collision-resistant hash's."""
    if a is None or b is None:
        return None, False
    va, vb = digest_version(a), digest_version(b)
    if va != vb:
        return None, False
    return a == b, va in LEGACY_VERSIONS
