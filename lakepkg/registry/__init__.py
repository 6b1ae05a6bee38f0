"""Registries. ``open_registry(location)`` picks backends by the location's scheme.

A registry is an object store (content-addressed bytes) plus a metadata
backend (version records and tags). Local: a folder; S3: ``s3://bucket/prefix``.
:mod:`lakepkg.registry.location` is the one parser of a location's text.
"""
from __future__ import annotations

import os

from lakepkg.errors import ConfigError, one_line
from lakepkg.store.local import LocalObjectStore
from lakepkg.registry.backend import MetaBackend
from lakepkg.registry.core import LATEST, Registry, VersionRecord, VersionStub
from lakepkg.registry.local import LocalMetaBackend
from lakepkg.registry.location import RegistryLocation, parse_location


def open_registry(location: "Registry | str | os.PathLike[str] | None" = None, **options: object) -> Registry:
    """Open a registry: the one opener. ``location`` is a :class:`Registry` (returned as it is), a
    location :func:`~lakepkg.registry.location.parse_location` reads (a local path, ``file://``,
    ``s3://bucket/prefix``; ``s3a://``/``s3n://`` too; other schemes are refused) or None (the
    configured registry, default ``$LAKEPKG_HOME/registry``). ``options`` (``endpoint_url``,
    ``region``, ``profile``, ``cache_dir``…) apply to an S3 registry; a local one needs none."""
    if isinstance(location, Registry):
        return location
    loc = parse_location(location)
    if loc.kind == "s3":
        from lakepkg.registry.s3 import open_s3_registry  # optional backend, imported on demand

        return open_s3_registry(loc.url, **options)
    root = loc.path
    try:
        return Registry(LocalObjectStore(root), LocalMetaBackend(os.path.join(root, "meta")), root)
    except OSError as exc:  # not a folder, no permission, a name too long: the location is wrong
        raise ConfigError(f"cannot open the registry at {one_line(root, 200)}: {exc.strerror or exc}; "
                          "check --registry / $LAKEPKG_REGISTRY / the config file") from None


__all__ = ["Registry", "VersionRecord", "VersionStub", "MetaBackend", "open_registry", "LATEST", "RegistryLocation",
           "parse_location"]
