"""Registries. ``open_registry(location)`` picks backends by the location's scheme.

A registry is an object store (content-addressed bytes) plus a metadata
backend (version records and tags). Local: a folder; S3: ``s3://bucket/prefix``.
"""
from __future__ import annotations

import os
from typing import Optional

from lakepkg.config import registry_location
from lakepkg.errors import ConfigError, one_line
from lakepkg.store.local import LocalObjectStore
from lakepkg.registry.backend import MetaBackend
from lakepkg.registry.core import LATEST, Registry, VersionRecord, VersionStub
from lakepkg.registry.local import LocalMetaBackend


def open_registry(location: Optional[str] = None, **options: object) -> Registry:
    """Open a registry: a local path (default ``$LAKEPKG_HOME/registry``) or ``s3://bucket/prefix``."""
    loc = registry_location(location)
    if loc.startswith("s3://"):
        from lakepkg.registry.s3 import open_s3_registry  # optional backend, imported on demand

        return open_s3_registry(loc, **options)
    if loc.startswith("file://"):
        loc = loc[len("file://"):]
    root = os.path.abspath(os.path.expanduser(loc))
    if root.startswith("//"):  # POSIX keeps a leading "//" (implementation-defined): one root, one spelling
        root = "/" + root.lstrip("/")
    try:
        return Registry(LocalObjectStore(root), LocalMetaBackend(os.path.join(root, "meta")), root)
    except OSError as exc:  # not a folder, no permission, a name too long: the location is wrong
        raise ConfigError(f"cannot open the registry at {one_line(root, 200)}: {exc.strerror or exc}; "
                          "check --registry / $LAKEPKG_REGISTRY / the config file") from None


__all__ = ["Registry", "VersionRecord", "VersionStub", "MetaBackend", "open_registry", "LATEST"]
