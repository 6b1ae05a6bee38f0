"""Local-directory metadata backend: files under ``<root>/``.

``create`` writes a temporary file and hard-links it to the final name
(``link`` fails if the name exists, so exactly one writer wins); ``replace``
holds an exclusive ``flock`` on a lock file beside the key while it compares
and renames. Both fsync before they return.
"""
from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from typing import Iterator, Optional

from lakepkg.errors import ConcurrentUpdateError
from lakepkg.format.hashing import hash_bytes
from lakepkg.registry.backend import MetaBackend, check_key
from lakepkg.store.file_modes import denied, make_dirs, set_file_mode
from lakepkg.store.leftovers import TMP_PREFIX, find_temporaries, remove_temporary



class LocalMetaBackend(MetaBackend):
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.location = self.root
        make_dirs(self.root)

    def _path(self, key: str) -> str:
        """The file of ``key``, never outside the root (``../../etc/passwd`` is refused)."""
        path = os.path.join(self.root, *check_key(key).split("/"))
        if os.path.commonpath([self.root, os.path.abspath(path)]) != self.root:  # pragma: no cover - check_key stops it
            raise ValueError(f"metadata key {key!r} leaves {self.root}")
        return path

    def read(self, key: str) -> Optional[tuple[bytes, str]]:
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except PermissionError:
            raise denied(path) from None
        return data, hash_bytes(data)

    def _write_tmp(self, path: str, data: bytes) -> str:
        make_dirs(os.path.dirname(path))
        try:
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=os.path.dirname(path))
        except PermissionError:
            raise denied(os.path.dirname(path), "write a file in") from None
        set_file_mode(fd)  # mkstemp makes 0600: records and tags get what the umask gives
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return tmp

    def _fsync_dir(self, path: str) -> None:
        fd = os.open(os.path.dirname(path), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def create(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        tmp = self._write_tmp(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except FileNotFoundError:
            raise ConcurrentUpdateError(f"the temporary file for {key} was removed while it was written "
                                        "(a gc with a short grace?); nothing was recorded, re-run") from None
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self._fsync_dir(path)
        return True

    def replace(self, key: str, data: bytes, token: Optional[str]) -> bool:
        path = self._path(key)
        make_dirs(os.path.dirname(path))
        lock_path = path + ".lock"
        try:
            lock = open(lock_path, "a+b")
        except PermissionError:
            raise denied(lock_path, "write") from None
        try:
            set_file_mode(lock.fileno())
        except OSError:  # another user's lock file: its mode is theirs
            pass
        with lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                current = self.read(key)
                if (current is None) != (token is None):
                    return False
                if current is not None and current[1] != token:
                    return False
                tmp = self._write_tmp(path, data)
                try:
                    os.replace(tmp, path)
                except FileNotFoundError:
                    raise ConcurrentUpdateError(f"the temporary file for {key} was removed while it was written "
                                                "(a gc with a short grace?); re-run") from None
                self._fsync_dir(path)
                return True
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def list(self, prefix: str) -> Iterator[str]:
        # walk only the folder the prefix lies in, then filter
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        try:
            if not stat.S_ISDIR(os.stat(base).st_mode):
                return iter(())
        except PermissionError:
            raise denied(base, "list") from None
        except (FileNotFoundError, NotADirectoryError):
            return iter(())
        keys = []

        def refuse(err: OSError) -> None:
            if isinstance(err, PermissionError):
                raise denied(str(err.filename or base), "list") from None

        for dirpath, _dirs, files in os.walk(base, onerror=refuse):
            rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
            for name in files:
                if name.startswith(TMP_PREFIX) or name.endswith(".lock"):
                    continue
                k = name if rel == "." else f"{rel}/{name}"
                if k.startswith(prefix):
                    keys.append(k)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def drop_single_writer_key(self, key: str) -> None:
        self.delete(key)
        try:
            os.unlink(self._path(key) + ".lock")
        except FileNotFoundError:
            pass

    def mtime(self, key: str) -> Optional[float]:
        try:
            return os.stat(self._path(key)).st_mtime
        except FileNotFoundError:
            return None

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """``.tmp-*`` files left by a writer killed between writing and linking/renaming."""
        return find_temporaries(self.root)

    def clear_temporary(self, name: str) -> None:
        remove_temporary(self.root, name)
