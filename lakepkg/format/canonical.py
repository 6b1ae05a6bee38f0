"""Canonical JSON and SHA-256: the two primitives every hash in lakepkg is built on.

Canonical JSON (docs/format.md, "Canonical JSON"): UTF-8, keys sorted by code
point, no insignificant whitespace, no NaN/Infinity, integers as integers.
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False).encode()`` produces it, which is what an outsider uses to
recompute a hash.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from lakepkg.errors import IntegrityError

HASH_NAME = "sha256"
HEX_LEN = 64


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` to canonical JSON bytes."""
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except ValueError as exc:  # NaN / Infinity
        raise IntegrityError(f"cannot hash metadata: {exc}; replace NaN/Infinity with null") from None
    except TypeError as exc:
        raise IntegrityError(f"metadata is not JSON-serialisable: {exc}") from None


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    """True when ``text`` is a full lowercase hex SHA-256 digest."""
    return len(text) == HEX_LEN and all(c in "0123456789abcdef" for c in text)


def load_json(data: bytes, what: str) -> Any:
    """Parse JSON bytes, turning a parse failure into an IntegrityError naming ``what``."""
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{what} is not valid JSON ({exc.__class__.__name__}: {exc}); the object is truncated or corrupt, run `lakepkg verify`") from None
