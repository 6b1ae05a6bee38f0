"""Registry locations: the one parser of where a registry lives.

A registry location is one of

* a local path, absolute or relative (``~`` expands), or a ``file://`` / ``file:`` URI;
* ``s3://bucket/prefix`` — ``s3a://`` and ``s3n://`` (Spark's and Hadoop's spellings) mean the
  same S3 location.

A scheme's case is ignored (``S3://b/p`` is ``s3://b/p``). Every other scheme (``http://``,
``gs://``, ``hdfs://``, …) is refused in one line that names the supported ones: it must never
become a local folder named ``http:``. :func:`parse_location` is the only code that reads a
location's text; the registry opener, the CLI and the Spark reader all go through it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from lakepkg.config import registry_location
from lakepkg.errors import ConfigError, one_line

#: what lakepkg accepts, as the refusal names it
SUPPORTED = "a local path, file://PATH or s3://BUCKET/PREFIX (s3a:// and s3n:// are read as s3://)"

_S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})
# ``scheme:`` followed by a slash: a URI. ``backup:2024`` (no slash) stays a relative path.
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):/")


@dataclass(frozen=True)
class RegistryLocation:
    """A parsed registry location: ``kind`` ``"local"`` (``path`` absolute) or ``"s3"`` (``url`` is
    ``s3://bucket/prefix`` with the prefix's slashes trimmed)."""

    kind: Literal["local", "s3"]
    #: the normal spelling: an absolute path, or ``s3://bucket/prefix``
    url: str

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def path(self) -> str:
        """The folder of a local registry."""
        if self.kind != "local":
            raise ConfigError(f"{self.url} is not a local registry")
        return self.url

    def __str__(self) -> str:
        return self.url


def _local(text: str) -> RegistryLocation:
    root = os.path.abspath(os.path.expanduser(text))
    if root.startswith("//"):  # POSIX keeps a leading "//" (implementation-defined): one root, one spelling
        root = "/" + root.lstrip("/")
    return RegistryLocation("local", root)


def parse_location(text: "str | os.PathLike[str] | None" = None) -> RegistryLocation:
    """Parse a registry location; None means the configured one (``$LAKEPKG_REGISTRY``, the config
    file, else ``$LAKEPKG_HOME/registry``). Raises :class:`ConfigError` for an unsupported scheme."""
    raw = registry_location(None if text is None else os.fspath(text))
    loc = raw.strip()
    if not loc:
        raise ConfigError("the registry location is empty; give a path or s3://BUCKET/PREFIX")
    m = _URI.match(loc)
    if m is None:
        return _local(loc)
    scheme = m.group(1).lower()
    rest = loc[len(m.group(1)) + 1:]  # from the first slash after "scheme:"
    if scheme == "file":
        if rest.startswith("//"):
            rest = rest[2:]
            if rest.startswith("localhost/"):
                rest = rest[len("localhost"):]
        return _local(rest)
    if scheme in _S3_SCHEMES:
        if not rest.startswith("//"):
            raise ConfigError(f"registry location {one_line(loc, 120)!r} is malformed; use s3://BUCKET/PREFIX")
        bucket, _, prefix = rest[2:].partition("/")
        if not bucket or "@" in bucket or ":" in bucket:
            raise ConfigError(f"registry location {one_line(loc, 120)!r} has no valid bucket name; use "
                              "s3://BUCKET/PREFIX (credentials never go in the URL)")
        return RegistryLocation("s3", f"s3://{bucket}/{prefix.strip('/')}".rstrip("/"))
    raise ConfigError(f"registry location {one_line(loc, 120)!r}: scheme {scheme}:// is not supported; "
                      f"a registry is {SUPPORTED}")


def location_text(text: "str | os.PathLike[str] | None" = None) -> str:
    """The normal spelling of a location (see :func:`parse_location`)."""
    return parse_location(text).url


def is_s3(text: "str | os.PathLike[str] | None") -> bool:
    """Whether ``text`` names an S3 registry (``s3://``, ``s3a://``, ``s3n://``, any case)."""
    return parse_location(text).kind == "s3"


__all__ = ["RegistryLocation", "parse_location", "location_text", "is_s3", "SUPPORTED"]

