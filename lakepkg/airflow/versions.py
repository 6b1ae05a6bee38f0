"""Has a package got a new version, or has a tag moved? (shared by the sensor and its trigger)."""
from __future__ import annotations

from typing import Any, Optional

from lakepkg.errors import NotFoundError
from lakepkg.format.names import validate_package_name, validate_tag

__all__ = ["new_version"]


def _hash_of(registry: Any, package: str, after: str) -> str:
    """The full top hash ``after`` names: a top hash (prefix) or a reference of ``package``."""
    ref = after if ("@" in after or ":" in after) else f"{package}@{after}"
    return registry.resolve(ref).top_hash


def new_version(registry: Any, package: str, tag: str = "latest", after: Optional[str] = None) -> Optional[dict[str, Any]]:
    """``{package, tag, top_hash, ref}`` once ``package:tag`` names a version other than ``after``, else None.

    With ``tag="latest"`` that is "a version newer than ``after``"; with another tag, "the tag moved
    away from ``after``". Without ``after``: as soon as the tag exists. A tag or package that does not
    exist yet is not an error (None: keep waiting); an ``after`` that names no version is."""
    validate_package_name(package)
    validate_tag(tag)
    baseline = _hash_of(registry, package, after) if after else None
    try:
        rec = registry.resolve(f"{package}:{tag}")
    except NotFoundError:
        return None
    if baseline is not None and rec.top_hash == baseline:
        return None
    return {"package": package, "tag": tag, "top_hash": rec.top_hash, "ref": f"{package}@{rec.top_hash[:10]}",
            "created_at": rec.created_at}
