"""The lock file format (``lakepkg.lock``): package versions pinned by their exact top hashes.

Format (one package per line; ``#`` starts a comment)::

    # lakepkg.lock - install with `lakepkg install -R lakepkg.lock`
    sales/orders@3fa2c1...64 hex digits...   s3://team-bucket/registry
    sales/customers@9b01d4...64 hex digits...

A line is ``<name>@<full top hash>`` optionally followed by the registry to
install it from (an ``s3://`` URL or a path; never credentials). Reading it is
here (``lakepkg.load`` pins references with it); writing and installing a lock
is :mod:`lakepkg.maintain.lockfile`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from lakepkg.errors import ConfigError
from lakepkg.format.canonical import is_digest
from lakepkg.format.names import validate_package_name

__all__ = ["DEFAULT_LOCKFILE", "HEADER", "LockEntry", "parse_lockfile", "read_lockfile"]

DEFAULT_LOCKFILE = "lakepkg.lock"
HEADER = "# lakepkg.lock: exact package versions (top hashes); install with `lakepkg install -R lakepkg.lock`\n"


@dataclass(frozen=True)
class LockEntry:
    name: str
    top_hash: str
    registry: Optional[str] = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.top_hash}"

    def line(self) -> str:
        return self.ref + (f"  {self.registry}" if self.registry else "")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "top_hash": self.top_hash, "registry": self.registry}


def parse_lockfile(text: str, what: str = DEFAULT_LOCKFILE) -> list[LockEntry]:
    """Parse lock file text; a malformed line raises ConfigError naming it."""
    out: list[LockEntry] = []
    seen: dict[str, str] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) > 2:
            raise ConfigError(f"{what} line {no}: expected `name@<top hash> [registry]`, got {line!r}")
        ref, _, h = parts[0].partition("@")
        try:
            validate_package_name(ref)
        except Exception:
            raise ConfigError(f"{what} line {no}: {ref!r} is not a package name (namespace/name)") from None
        if not is_digest(h):
            raise ConfigError(f"{what} line {no}: {parts[0]!r} must pin the full 64-digit top hash; regenerate it with `lakepkg lock`")
        reg = parts[1] if len(parts) == 2 else None
        if reg and re.match(r"^[a-z0-9+.-]+://[^/]*@", reg):
            raise ConfigError(f"{what} line {no}: the registry URL holds credentials; remove them (use AWS_PROFILE or the environment)")
        if ref in seen and seen[ref] != h:
            raise ConfigError(f"{what} line {no}: {ref} is pinned twice to different versions; keep one")
        seen[ref] = h
        out.append(LockEntry(ref, h, reg))
    return out


def read_lockfile(path: str = DEFAULT_LOCKFILE) -> list[LockEntry]:
    try:
        with open(path, encoding="utf-8") as f:
            return parse_lockfile(f.read(), path)
    except FileNotFoundError:
        raise ConfigError(f"lock file {path} not found; create it with `lakepkg lock NAME[@REF] ...`") from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, not text
        raise ConfigError(f"cannot read lock file {path}: {getattr(exc, 'strerror', None) or exc}") from None
