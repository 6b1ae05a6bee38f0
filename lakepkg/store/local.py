"""Object store in a local directory: ``<root>/objects/<aa>/<sha256>``.

Writes go to a temporary file in the same folder, are fsynced, then renamed
into place, so a reader never sees a partial object and a crash leaves at
most a stray temporary file (removed by gc).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import BinaryIO, Iterator, Optional

from lakepkg.errors import IntegrityError, MissingObjectError
from lakepkg.store.base import CHUNK, ObjectInfo, ObjectStore, check_digest, hash_file


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root/objects``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.location = self.root
        self.objects_dir = os.path.join(self.root, "objects")
        os.makedirs(self.objects_dir, exist_ok=True)

    def _path(self, digest: str) -> str:
        check_digest(digest)
        return os.path.join(self.objects_dir, digest[:2], digest)

    def has(self, digest: str) -> bool:
        return os.path.exists(self._path(digest))

    def keep(self, digest: str) -> bool:
        return _refresh(self._path(digest))

    def local_path(self, digest: str) -> Optional[str]:
        p = self._path(digest)
        if not os.path.exists(p):
            raise MissingObjectError(f"object {digest[:12]} is missing from {self.location}; run `lakepkg verify` to find the versions that need it")
        return p

    def _tmp(self, digest_dir: str) -> tuple[int, str]:
        os.makedirs(digest_dir, exist_ok=True)
        return tempfile.mkstemp(prefix=".tmp-", dir=digest_dir)

    def _commit(self, tmp: str, final: str) -> None:
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)

    def put_bytes(self, data: bytes, digest: Optional[str] = None) -> str:
        actual = hashlib.sha256(data).hexdigest()
        if digest is not None and digest != actual:
            raise IntegrityError(f"bytes given for object {digest[:12]} hash to {actual[:12]}; refusing to store them")
        final = self._path(actual)
        if _refresh(final):
            return actual
        fd, tmp = self._tmp(os.path.dirname(final))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._commit(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise
        return actual

    def put_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        if digest is not None and _refresh(self._path(digest)):
            return digest, os.path.getsize(self._path(digest)), False
        # copy into a temporary file while hashing, then rename under the hash
        fd, tmp = self._tmp(os.path.join(self.objects_dir, "tmp"))
        h = hashlib.sha256()
        n = 0
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                while True:
                    b = src.read(CHUNK)
                    if not b:
                        break
                    h.update(b)
                    out.write(b)
                    n += len(b)
                out.flush()
                os.fsync(out.fileno())
            actual = h.hexdigest()
            if digest is not None and digest != actual:
                raise IntegrityError(f"file {path} changed while it was copied (hash {actual[:12]}, expected {digest[:12]}); re-run the snapshot")
            final = self._path(actual)
            if _refresh(final):
                _unlink(tmp)
                return actual, n, False
            os.makedirs(os.path.dirname(final), exist_ok=True)
            self._commit(tmp, final)
            return actual, n, True
        except BaseException:
            _unlink(tmp)
            raise

    def put_stream_file(self, tmp_path: str) -> tuple[str, int, bool]:
        """Adopt a finished temporary file (e.g. a Parquet fragment just written) by moving it in."""
        digest, n = hash_file(tmp_path)
        if os.stat(tmp_path).st_dev != os.stat(self.objects_dir).st_dev:  # cannot rename across file systems
            digest, n, written = self.put_file(tmp_path, digest)
            _unlink(tmp_path)
            return digest, n, written
        final = self._path(digest)
        if _refresh(final):
            _unlink(tmp_path)
            return digest, n, False
        os.makedirs(os.path.dirname(final), exist_ok=True)
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        self._commit(tmp_path, final)
        return digest, n, True

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise MissingObjectError(f"object {digest[:12]} is missing from {self.location}; run `lakepkg verify` to find the versions that need it") from None

    def size(self, digest: str) -> int:
        try:
            return os.path.getsize(self._path(digest))
        except FileNotFoundError:
            raise MissingObjectError(f"object {digest[:12]} is missing from {self.location}") from None

    def delete(self, digest: str) -> None:
        _unlink(self._path(digest))

    def iter_objects(self) -> Iterator[ObjectInfo]:
        for sub in sorted(os.listdir(self.objects_dir)):
            d = os.path.join(self.objects_dir, sub)
            if len(sub) != 2 or not os.path.isdir(d):
                continue
            with os.scandir(d) as it:
                for e in it:
                    if e.name.startswith(".tmp-") or len(e.name) != 64:
                        continue
                    st = e.stat()
                    yield ObjectInfo(e.name, st.st_size, st.st_mtime)

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """Stray temporary files left by interrupted writes: (path, mtime)."""
        for dirpath, _dirs, files in os.walk(self.objects_dir):
            for name in files:
                if name.startswith(".tmp-"):
                    p = os.path.join(dirpath, name)
                    try:
                        yield p, os.path.getmtime(p)
                    except FileNotFoundError:
                        continue

    def clear_temporary(self, path: str) -> None:
        _unlink(path)


def _refresh(path: str) -> bool:
    """True when the object exists; its mtime is set to now, so gc's grace period protects an
    old unreferenced object that a publish in flight has just deduplicated onto."""
    try:
        os.utime(path)
        return True
    except FileNotFoundError:
        return False
    except OSError:  # not ours to touch (read-only mount): it exists, dedup still holds
        return os.path.exists(path)


def _unlink(path: str) -> None:
    try:
        os.chmod(path, 0o644)
        os.unlink(path)
    except FileNotFoundError:
        pass


