"""Package names, tags, logical keys and references.

* name: ``namespace/name`` with nested namespaces (``a/b/c``); each segment
  matches ``[a-z0-9][a-z0-9._-]*``.
* reference: ``name``, ``name@<hash prefix>``, ``name:<tag>``,
  ``name@<ISO-8601 time>`` (the version current at that time), optionally
  followed by ``/<path>`` inside the package (``sales/orders@3fa2c1/orders``).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from lakepkg.errors import InvalidNameError, InvalidRefError, UnsafePathError

SEGMENT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
HASH_PREFIX_RE = re.compile(r"^[0-9a-f]{4,64}$")
TABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,254}$")


def validate_package_name(name: str) -> str:
    """Return ``name`` if it is a valid package name, else raise InvalidNameError."""
    if not isinstance(name, str) or "/" not in name:
        raise InvalidNameError(f"invalid package name {name!r}: use namespace/name, e.g. sales/orders")
    for seg in name.split("/"):
        if not SEGMENT_RE.match(seg) or seg in (".", ".."):
            raise InvalidNameError(
                f"invalid package name {name!r}: segment {seg!r} must match [a-z0-9][a-z0-9._-]* (lowercase, no spaces)"
            )
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag name."""
    if not TAG_RE.match(tag or ""):
        raise InvalidNameError(f"invalid tag {tag!r}: use letters, digits, '.', '_' or '-' (max 128)")
    return tag


def validate_table_name(name: str) -> str:
    """Return ``name`` if it can name a table node."""
    if not TABLE_NAME_RE.match(name or "") or name in (".", ".."):
        raise InvalidNameError(f"invalid table name {name!r}: use letters, digits, '_', '.', '-'")
    return name


def safe_key(key: str) -> str:
    """Normalise a logical key (POSIX path inside a node) and refuse one that escapes it."""
    if not isinstance(key, str) or not key:
        raise UnsafePathError("empty logical key: every file needs a relative path")
    k = key.replace("\\", "/")
    if k.startswith("/") or re.match(r"^[A-Za-z]:", k):
        raise UnsafePathError(f"logical key {key!r} is absolute: use a path relative to the package")
    parts = k.split("/")
    if any(p in ("..",) for p in parts):
        raise UnsafePathError(f"logical key {key!r} escapes its folder ('..'): use a path inside the package")
    norm = posixpath.normpath(k)
    if norm in (".", "") or norm.startswith("../"):
        raise UnsafePathError(f"logical key {key!r} does not name a file inside the package")
    if any(ord(c) < 32 for c in norm):
        raise UnsafePathError(f"logical key {key!r} contains control characters")
    return norm


@dataclass(frozen=True)
class Ref:
    """A parsed package reference."""

    name: str
    hash_prefix: Optional[str] = None
    tag: Optional[str] = None
    at: Optional[datetime] = None
    path: Optional[str] = None

    def __str__(self) -> str:
        s = self.name
        if self.hash_prefix:
            s += "@" + self.hash_prefix
        elif self.at is not None:
            s += "@" + self.at.isoformat()
        elif self.tag:
            s += ":" + self.tag
        if self.path:
            s += "/" + self.path
        return s


def parse_time(text: str) -> Optional[datetime]:
    """Parse an ISO-8601 date or time; naive times are taken as UTC. None if not a time."""
    t = text.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}", t):
        return None
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_ref(text: str, allow_path: bool = True) -> Ref:
    """Parse ``ns/name[@hash|@time|:tag][/path]``.

    Without ``@`` or ``:`` the whole text is a package name (tag ``latest``).
    A path after the version selector names a node inside the package.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidRefError("empty package reference: use ns/name, ns/name@<hash>, ns/name:<tag> or ns/name@<time>")
    text = text.strip()
    m = re.match(r"^(?P<name>[^@:]+?)(?:(?P<sel>[@:])(?P<rest>.*))?$", text)
    if not m:
        raise InvalidRefError(f"cannot parse package reference {text!r}: use ns/name@<hash> or ns/name:<tag>")
    name, sel, rest = m.group("name"), m.group("sel"), m.group("rest")
    try:
        validate_package_name(name)
    except InvalidNameError as exc:
        raise InvalidRefError(f"invalid package reference {text!r}: {exc}") from None
    if sel is None:
        return Ref(name=name, tag="latest")
    if not rest:
        raise InvalidRefError(f"package reference {text!r} has nothing after {sel!r}: give a hash prefix, tag or time")
    path = None
    if sel == "@":
        sel_text, _, path = rest.partition("/")
        t = parse_time(sel_text)
        if t is not None:
            ref = Ref(name=name, at=t, path=path or None)
            if ref.path and not allow_path:
                raise InvalidRefError(f"reference {text!r} names a path inside the package; a whole package is expected here")
            return ref
        if not HASH_PREFIX_RE.match(sel_text):
            raise InvalidRefError(
                f"invalid version {sel_text!r} in {text!r}: use at least 4 lowercase hex digits of a top hash or an ISO time"
            )
        ref = Ref(name=name, hash_prefix=sel_text, path=path or None)
    else:
        sel_text, _, path = rest.partition("/")
        try:
            validate_tag(sel_text)
        except InvalidNameError as exc:
            raise InvalidRefError(f"invalid reference {text!r}: {exc}") from None
        ref = Ref(name=name, tag=sel_text, path=path or None)
    if ref.path and not allow_path:
        raise InvalidRefError(f"reference {text!r} names a path inside the package; a whole package is expected here")
    return ref
