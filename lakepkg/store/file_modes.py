"""The modes of the files lakepkg writes to a local registry, store or cache: what the umask gives.

A version record, a tag, a gc announcement, a row-hash cache file is created ``0666 & ~umask``
(``0644`` under the usual umask 022: every user may read it); an object, which never changes,
``0444 & ~umask``. A team that shares a registry in a group-writable folder either publishes with
umask 002, or sets ``LAKEPKG_GROUP_SHARED=1`` (or ``group_shared: true`` in the config file): files
then also get group read/write (objects group read) whatever the umask, and folders lakepkg creates
get group write and the set-group-id bit, so new files keep the folder's group (docs/store.md).

A file another user cannot read or write is one :class:`lakepkg.errors.PermissionDeniedError`
naming the file and what to change (:func:`denied`), from the CLI and from ``lakepkg.load`` alike.
"""
from __future__ import annotations

import os
from typing import Optional

from lakepkg.errors import PermissionDeniedError

_UMASK: list[int] = []


def umask() -> int:
    """This process's umask (read from /proc where it can be, without changing it)."""
    if not _UMASK:
        value: Optional[int] = None
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Umask:"):
                        value = int(line.split()[1], 8)
                        break
        except (OSError, ValueError):
            value = None
        if value is None:  # no /proc: set and restore once (not thread safe: done at first use)
            value = os.umask(0o022)
            os.umask(value)
        _UMASK.append(value)
    return _UMASK[0]


def group_shared() -> bool:
    """``LAKEPKG_GROUP_SHARED=1`` (or the ``group_shared`` setting): group read/write on what lakepkg writes."""
    v = os.environ.get("LAKEPKG_GROUP_SHARED")
    if v is None:
        try:
            from lakepkg.config import setting

            v = setting("group_shared")
        except Exception:  # a config file that cannot be read: the environment decides  # noqa: BLE001
            v = None
    return str(v or "").strip().lower() in ("1", "true", "yes", "on")


def file_mode(read_only: bool = False) -> int:
    """The mode of a new file: ``0666`` (``0444`` when ``read_only``) less the umask, plus group
    read/write (read) when the registry is group-shared."""
    mode = (0o444 if read_only else 0o666) & ~umask()
    if group_shared():
        mode |= 0o440 if read_only else 0o660
    return mode


def set_file_mode(fd_or_path: "int | str", read_only: bool = False) -> None:
    """Give a file lakepkg created (``mkstemp`` makes them 0600) the mode :func:`file_mode` says."""
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, file_mode(read_only))
    else:
        os.chmod(fd_or_path, file_mode(read_only))


def make_dirs(path: str) -> None:
    """``os.makedirs`` (umask modes); group-shared: each folder created gets ``g+rwxs``."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent and parent != path and not os.path.isdir(parent):
        make_dirs(parent)
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    except PermissionError:
        raise denied(path, "create a folder in") from None
    if group_shared():
        try:
            os.chmod(path, (os.stat(path).st_mode & 0o7777) | 0o2770)
        except OSError:
            pass


def denied(path: str, doing: str = "read") -> PermissionDeniedError:
    """The one error for a file or folder this user may not ``doing`` (read, write, create a folder in)."""
    return PermissionDeniedError(
        f"permission denied: cannot {doing} {path} as this user; the registry was written by another user "
        "with a private umask or mode: its owner can run `chmod -R a+rX` (or `g+rwX` for a group) on the "
        "registry folder, and publish with umask 022/002 or LAKEPKG_GROUP_SHARED=1 (docs/store.md)")
