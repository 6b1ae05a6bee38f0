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

from lakepkg.errors import IntegrityError, InvalidNameError, InvalidRefError, UnsafePathError

# Every pattern is applied with ``fullmatch``: ``$`` alone would accept a trailing newline.
SEGMENT_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HASH_PREFIX_RE = re.compile(r"[0-9a-f]{4,64}")
TABLE_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")

#: Limits that keep every path lakepkg derives from a name under the file-system
#: limits (255 bytes per path component, and S3's 1,024-byte keys) with room for
#: the registry prefix and a version record's 94-character file name.
MAX_SEGMENT = 100
MAX_PACKAGE_NAME = 255
MAX_TAG = 128
MAX_TABLE_NAME = 128
MAX_KEY_SEGMENT_BYTES = 255
MAX_KEY_BYTES = 1024


def _shown(text: object, limit: int = 60) -> str:
    """``repr`` of a name for an error message, shortened (a 5,000-character name is not echoed whole)."""
    r = repr(text)
    return r if len(r) <= limit else r[: limit - 5] + "…" + r[-4:]


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029" for c in text)


def validate_package_name(name: str) -> str:
    """Return ``name`` if it is a valid package name, else raise InvalidNameError."""
    if not isinstance(name, str) or "/" not in name:
        raise InvalidNameError(f"invalid package name {_shown(name)}: use namespace/name, e.g. sales/orders")
    if len(name) > MAX_PACKAGE_NAME:
        raise InvalidNameError(f"invalid package name {_shown(name)}: {len(name):,} characters, at most {MAX_PACKAGE_NAME} allowed")
    for seg in name.split("/"):
        if not SEGMENT_RE.fullmatch(seg) or seg in (".", ".."):
            raise InvalidNameError(
                f"invalid package name {_shown(name)}: segment {_shown(seg, 40)} must match [a-z0-9][a-z0-9._-]* "
                "(lowercase, no spaces)"
            )
        if len(seg) > MAX_SEGMENT:
            raise InvalidNameError(f"invalid package name {_shown(name)}: a segment has {len(seg)} characters, "
                                   f"at most {MAX_SEGMENT} allowed")
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag name."""
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise InvalidNameError(f"invalid tag {_shown(tag)}: use letters, digits, '.', '_' or '-' (max {MAX_TAG})")
    return tag


def validate_table_name(name: str) -> str:
    """Return ``name`` if it can name a table node."""
    if not isinstance(name, str) or not TABLE_NAME_RE.fullmatch(name) or name in (".", ".."):
        raise InvalidNameError(f"invalid table name {_shown(name)}: use letters, digits, '_', '.', '-' "
                               f"(max {MAX_TABLE_NAME})")
    return name


def safe_key(key: str) -> str:
    """Normalise a logical key (POSIX path inside a node) and refuse one that escapes it."""
    if not isinstance(key, str) or not key:
        raise UnsafePathError("empty logical key: every file needs a relative path")
    if _has_control(key):
        raise UnsafePathError(f"logical key {_shown(key)} contains control characters: rename the file")
    k = key.replace("\\", "/")
    if k.startswith("/") or re.match(r"^[A-Za-z]:", k):
        raise UnsafePathError(f"logical key {key!r} is absolute: use a path relative to the package")
    parts = k.split("/")
    if any(p in ("..",) for p in parts):
        raise UnsafePathError(f"logical key {key!r} escapes its folder ('..'): use a path inside the package")
    norm = posixpath.normpath(k)
    if norm in (".", "") or norm.startswith("../"):
        raise UnsafePathError(f"logical key {key!r} does not name a file inside the package")
    if len(norm.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise UnsafePathError(f"logical key {_shown(key)} is longer than {MAX_KEY_BYTES} bytes: use a shorter path")
    if any(len(p.encode("utf-8", "surrogatepass")) > MAX_KEY_SEGMENT_BYTES for p in norm.split("/")):
        raise UnsafePathError(f"logical key {_shown(key)} has a folder or file name longer than "
                              f"{MAX_KEY_SEGMENT_BYTES} bytes: use shorter names")
    return norm


def is_safe_key(key: object) -> bool:
    """True if ``key`` is a logical key exactly as lakepkg writes it (normalised, relative, no control characters)."""
    try:
        return isinstance(key, str) and safe_key(key) == key
    except UnsafePathError:
        return False


def checked_table_name(name: object) -> str:
    """A table name read back from a manifest: refuse one lakepkg would never have written."""
    try:
        return validate_table_name(name)  # type: ignore[arg-type]
    except InvalidNameError:
        raise IntegrityError(f"a manifest names an unsafe table {_shown(name)}; the manifest was altered, "
                             "run `lakepkg verify`") from None


def checked_stored_key(key: object, where: str) -> str:
    """A logical key read back from a manifest: refuse one lakepkg would never have written."""
    if not is_safe_key(key):
        raise IntegrityError(f"{where} names an unsafe logical key {_shown(key)}; the manifest was altered, "
                             "run `lakepkg verify`")
    return key  # type: ignore[return-value]


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
    if _has_control(text):
        raise InvalidRefError(f"package reference {_shown(text)} contains control characters")
    m = re.fullmatch(r"(?P<name>[^@:]+?)(?:(?P<sel>[@:])(?P<rest>.*))?", text, re.DOTALL)
    if not m:
        raise InvalidRefError(f"cannot parse package reference {_shown(text)}: use ns/name@<hash> or ns/name:<tag>")
    name, sel, rest = m.group("name"), m.group("sel"), m.group("rest")
    try:
        validate_package_name(name)
    except InvalidNameError as exc:
        raise InvalidRefError(f"invalid package reference {_shown(text)}: {exc}") from None
    if sel is None:
        return Ref(name=name, tag="latest")
    if not rest:
        raise InvalidRefError(f"package reference {_shown(text)} has nothing after {sel!r}: give a hash prefix, tag or time")
    path = None
    if sel == "@":
        sel_text, _, path = rest.partition("/")
        t = parse_time(sel_text)
        if t is not None:
            ref = Ref(name=name, at=t, path=path or None)
        elif not HASH_PREFIX_RE.fullmatch(sel_text):
            raise InvalidRefError(
                f"invalid version {_shown(sel_text, 40)} in {_shown(text)}: use at least 4 lowercase hex digits of a top hash or an ISO time"
            )
        else:
            ref = Ref(name=name, hash_prefix=sel_text, path=path or None)
    else:
        sel_text, _, path = rest.partition("/")
        try:
            validate_tag(sel_text)
        except InvalidNameError as exc:
            raise InvalidRefError(f"invalid reference {_shown(text)}: {exc}") from None
        ref = Ref(name=name, tag=sel_text, path=path or None)
    if ref.path and not allow_path:
        raise InvalidRefError(f"reference {_shown(text)} names a path inside the package; a whole package is expected here")
    if ref.path:
        try:
            safe_key(ref.path)
        except UnsafePathError as exc:
            raise InvalidRefError(f"invalid path in reference {_shown(text)}: {exc}") from None
    return ref
