"""Local-directory metadata backend: files under ``<root>/``.

``create`` writes a temporary file and hard-links it to the final name
(``link`` fails if the name exists, so exactly one writer wins); ``replace``
holds an exclusive ``flock`` on a lock file beside the key while it compares
and renames. Both fsync before they return.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from typing import Iterator, Optional

from lakepkg.errors import ConcurrentUpdateError
from lakepkg.format.hashing import hash_bytes
from lakepkg.registry.backend import MetaBackend, check_key
from lakepkg.store.leftovers import TMP_PREFIX, find_temporaries, remove_temporary



class LocalMetaBackend(MetaBackend):
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.location = self.root
        os.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        """The file of ``key``, never outside the root (``../../etc/passwd`` is refused)."""
        path = os.path.join(self.root, *check_key(key).split("/"))
        if os.path.commonpath([self.root, os.path.abspath(path)]) != self.root:  # pragma: no cover - check_key stops it
            raise ValueError(f"metadata key {key!r} leaves {self.root}")
        return path

    def read(self, key: str) -> Optional[tuple[bytes, str]]:
        try:
            with open(self._path(key), "rb") as f:
                data = f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return data, hash_bytes(data)

    def _write_tmp(self, path: str, data: bytes) -> str:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=os.path.dirname(path))
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
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lock_path = path + ".lock"
        with open(lock_path, "a+b") as lock:
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
        if not os.path.isdir(base):
            return iter(())
        keys = []
        for dirpath, _dirs, files in os.walk(base):
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
