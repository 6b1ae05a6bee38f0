"""``lakepkg.lock``: package versions pinned by their exact top hashes, like a requirements file.

Format (one package per line; ``#`` starts a comment)::

    # lakepkg.lock - install with `lakepkg install -R lakepkg.lock`
    sales/orders@3fa2c1...64 hex digits...   s3://team-bucket/registry
    sales/customers@9b01d4...64 hex digits...

A line is ``<name>@<full top hash>`` optionally followed by the registry to
install it from (an ``s3://`` URL or a path; never credentials). Without one,
``install -R`` uses ``--from`` or the configured registry. The top hash fixes
the bytes: whatever a tag does later, installing the lock gives the same data.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from lakepkg.errors import ConfigError, InvalidRefError
from lakepkg.format.names import parse_ref
from lakepkg.registry import Registry, open_registry, parse_location

from lakepkg.format.lockfile import DEFAULT_LOCKFILE, HEADER, LockEntry, parse_lockfile, read_lockfile  # noqa: F401

def write_lockfile(entries: Iterable[LockEntry], path: str = DEFAULT_LOCKFILE) -> None:
    """Write entries (sorted by name) atomically. A path that is a device or a pipe (``/dev/stdout``,
    ``/dev/null``) is written to, never replaced by a regular file."""
    body = HEADER + "".join(e.line() + "\n" for e in sorted(entries, key=lambda e: e.name))
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, path)


def lock(refs: list[str], registry: "Registry | str | None" = None, path: Optional[str] = DEFAULT_LOCKFILE,
         record_registry: Optional[bool] = None, **options: Any) -> list[LockEntry]:
    """Resolve each reference (tag, hash prefix, time) to its exact top hash and write the lock file.

    Existing entries of other packages in ``path`` are kept (the lock is updated,
    not replaced). ``record_registry``: write the registry location on each line
    (default: only for ``s3://`` registries, whose URL is portable)."""
    if not refs:
        raise ConfigError("nothing to lock: give package references, e.g. `lakepkg lock sales/orders:prod`")
    reg = open_registry(registry, **options)
    if record_registry is None:
        record_registry = not parse_location(reg.location).is_local
    new: dict[str, LockEntry] = {}
    for ref in refs:
        r = parse_ref(ref, allow_path=False)
        rec = reg.resolve(r)
        if r.name in new and new[r.name].top_hash != rec.top_hash:
            raise InvalidRefError(f"{r.name} is given twice with different versions; lock one")
        new[r.name] = LockEntry(r.name, rec.top_hash, reg.location if record_registry else None)
    entries: dict[str, LockEntry] = {}
    if path and (os.path.isfile(path) or os.path.isdir(path)):  # a device or pipe (/dev/stdout) holds none
        entries = {e.name: e for e in read_lockfile(path)}
    entries.update(new)
    if path:
        write_lockfile(entries.values(), path)
    return sorted(entries.values(), key=lambda e: e.name)


def install_lockfile(path: str = DEFAULT_LOCKFILE, *, source: Optional[str] = None,
                     registry: "Registry | str | None" = None, dest: Optional[str] = None,
                     workers: int = 8, show_progress: bool = False, **options: Any) -> list[Any]:
    """Install every version the lock file pins (``pip install -r``). Each entry comes from its
    own registry, else ``source``, else is expected in the local registry already.
    With ``dest`` each package is laid out as plain files in ``DEST/<name>/``."""
    from lakepkg.maintain.transfer import install

    reports = []
    for e in read_lockfile(path):
        d = os.path.join(dest, *e.name.split("/")) if dest else None
        reports.append(install(e.ref, e.registry or source, registry=registry, dest=d, workers=workers,
                               show_progress=show_progress, **options))
    return reports


__all__ = ["LockEntry", "lock", "read_lockfile", "write_lockfile", "parse_lockfile", "install_lockfile", "DEFAULT_LOCKFILE"]
