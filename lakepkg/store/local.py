"""Object store in a local directory: ``<root>/objects/<aa>/<sha256>``.

Writes go to a temporary file in the same folder, are fsynced, then renamed
into place, so a reader never sees a partial object and a crash leaves at
most a stray temporary file (removed by gc). An object's mtime is its age as
gc sees it: a dedup hit renews it.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
import uuid
from typing import BinaryIO, Iterator, Optional

from lakepkg.errors import ConcurrentUpdateError, IntegrityError
from lakepkg.format.hashing import copy_hashing, hash_bytes, hash_file
from lakepkg.store.base import ObjectInfo, ObjectStore, check_digest
from lakepkg.store.file_modes import denied, file_mode, make_dirs
from lakepkg.store.leftovers import GC_ASIDE_PREFIX, TMP_PREFIX, find_temporaries, remove_temporary
from lakepkg.store.verified import VERIFIED

HASH_BUFFER = 8 * 1024 * 1024
# copy_file_range refused for this pair of files (another file system, a kernel without it)
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF}


def copy_file_hashing(src_path: str, out: BinaryIO) -> tuple[str, int]:
    """Copy the file ``src_path`` into ``out`` (opened for reading and writing, empty) and return the
    SHA-256 and size of what ``out`` now holds. The kernel copies (``os.copy_file_range``: no bytes
    through Python, no second buffer) and the copy is then hashed from the page cache into one
    reused buffer, so the name always matches the stored bytes even if the source changes meanwhile.
    Where the kernel cannot copy between these files, the bytes are read once and hashed as written."""
    with open(src_path, "rb") as src:
        st = os.fstat(src.fileno())
        if not stat.S_ISREG(st.st_mode):  # a pipe or device: read to its end
            return copy_hashing(src_path, out)
        size = st.st_size
        off = 0
        try:
            while off < size:
                n = os.copy_file_range(src.fileno(), out.fileno(), size - off, off, off)
                if n == 0:  # the source shrank: hash what was copied; the caller compares sizes
                    break
                off += n
        except OSError as exc:
            if off or exc.errno not in _NO_KERNEL_COPY:
                raise
            out.seek(0)
            out.truncate()
            return copy_hashing(src_path, out)
    out.flush()
    h = hashlib.sha256()
    buf = bytearray(HASH_BUFFER)
    view = memoryview(buf)
    total = 0
    out.seek(0)
    while True:
        k = out.readinto(buf)  # type: ignore[attr-defined]
        if not k:
            break
        h.update(view[:k])
        total += k
    return h.hexdigest(), total


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root/objects``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.location = self.root
        self.objects_dir = os.path.join(self.root, "objects")
        make_dirs(self.objects_dir)

    def _path(self, digest: str) -> str:
        check_digest(digest)
        return os.path.join(self.objects_dir, digest[:2], digest)

    def has(self, digest: str) -> bool:
        return os.path.exists(self._path(digest))

    def keep(self, digest: str, max_age: Optional[float] = None) -> bool:
        return _refresh(self._path(digest))  # a utime is cheap: always renew

    def local_path(self, digest: str) -> Optional[str]:
        p = self._path(digest)
        if not os.path.exists(p):
            raise self._missing(digest)
        return p

    def local_root(self) -> Optional[str]:
        return self.root

    def _tmp(self, digest_dir: str) -> tuple[int, str]:
        make_dirs(digest_dir)
        try:
            return tempfile.mkstemp(prefix=TMP_PREFIX, dir=digest_dir)
        except PermissionError:
            raise denied(digest_dir, "write an object in") from None

    def _commit(self, tmp: str, final: str, digest: str) -> None:
        make_dirs(os.path.dirname(final))
        try:
            os.chmod(tmp, file_mode(read_only=True))  # 0444 less the umask: objects never change
            os.replace(tmp, final)
        except FileNotFoundError:
            raise ConcurrentUpdateError(f"the temporary file of object {digest[:12]} was removed while it was written "
                                        "(a gc with a short grace?); nothing was published, re-run") from None
        VERIFIED.remember(final, digest)  # just hashed while written

    def put_bytes(self, data: bytes, digest: Optional[str] = None) -> str:
        actual = hash_bytes(data)
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
            self._commit(tmp, final, actual)
        except BaseException:
            _unlink(tmp)
            raise
        return actual

    def put_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        if digest is not None and _refresh(self._path(digest)):
            return digest, os.path.getsize(self._path(digest)), False
        # copy into a temporary file while hashing, then rename under the hash
        fd, tmp = self._tmp(os.path.join(self.objects_dir, "tmp"))
        try:
            with os.fdopen(fd, "w+b") as out:
                actual, n = copy_file_hashing(path, out)
                os.fsync(out.fileno())
            if digest is not None and digest != actual:
                raise IntegrityError(f"file {path} changed while it was copied (hash {actual[:12]}, expected {digest[:12]}); re-run the snapshot")
            final = self._path(actual)
            if _refresh(final):
                _unlink(tmp)
                return actual, n, False
            self._commit(tmp, final, actual)
            return actual, n, True
        except BaseException:
            _unlink(tmp)
            raise

    def adopt_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        """Move a finished local file in (a rename when it is on the same file system)."""
        actual, n = hash_file(path)
        if digest is not None and digest != actual:
            _unlink(path)
            raise IntegrityError(f"file {path} hashes to {actual[:12]}, not {digest[:12]}; refusing to store it")
        return self._move_in(path, actual, n)

    def _move_in(self, path: str, digest: str, n: int) -> tuple[str, int, bool]:
        """Move a file already hashed to ``digest`` under its name (copied when across file systems)."""
        if os.stat(path).st_dev != os.stat(self.objects_dir).st_dev:  # cannot rename across file systems
            return ObjectStore.adopt_file(self, path, digest)
        final = self._path(digest)
        if _refresh(final):
            _unlink(path)
            return digest, n, False
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        self._commit(path, final, digest)
        return digest, n, True

    def copy_from(self, src: ObjectStore, digest: str) -> tuple[bool, int]:
        """Stream the object from ``src`` into a temporary file here (hash-checked), then move it in."""
        if self.keep(digest):
            return False, 0
        fd, tmp = self._tmp(os.path.join(self.objects_dir, "tmp"))
        os.close(fd)
        try:
            n = src.fetch_to(digest, tmp)  # hash-checked while streamed
            _, _, written = self._move_in(tmp, digest, n)
        finally:
            _unlink(tmp)
        return written, n if written else 0

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise self._missing(digest) from None
        except PermissionError:
            raise denied(self._path(digest)) from None

    def size(self, digest: str) -> int:
        try:
            return os.path.getsize(self._path(digest))
        except FileNotFoundError:
            raise self._missing(digest) from None

    def delete(self, digest: str) -> None:
        _unlink(self._path(digest))

    def delete_if_stale(self, digest: str, cutoff: float) -> bool:
        """Move the object aside first, so a publish renewing it from now on finds it gone (and
        writes it again or fails); then look at its mtime: renewed since ``cutoff`` → put back."""
        final = self._path(digest)
        aside = os.path.join(os.path.dirname(final), f"{GC_ASIDE_PREFIX}{uuid.uuid4().hex[:8]}-{digest}")
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            return False
        try:
            fresh = os.stat(aside).st_mtime >= cutoff
        except FileNotFoundError:
            return False
        if fresh:
            try:
                os.link(aside, final)  # never clobbers a copy written meanwhile (same bytes anyway)
            except (FileExistsError, FileNotFoundError):
                pass
            _unlink(aside)
            return False
        _unlink(aside)
        return True

    def iter_objects(self) -> Iterator[ObjectInfo]:
        for sub in sorted(os.listdir(self.objects_dir)):
            d = os.path.join(self.objects_dir, sub)
            if len(sub) != 2 or not os.path.isdir(d):
                continue
            with os.scandir(d) as it:
                for e in it:
                    if e.name.startswith(TMP_PREFIX) or len(e.name) != 64:
                        continue
                    try:
                        st = e.stat()
                    except FileNotFoundError:
                        continue
                    yield ObjectInfo(e.name, st.st_size, st.st_mtime)

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """Stray temporary files left by interrupted writes (and by a gc killed mid-delete): (path, mtime)."""
        return find_temporaries(self.objects_dir)

    def clear_temporary(self, name: str) -> None:
        remove_temporary(self.objects_dir, name)


def _refresh(path: str) -> bool:
    """True when the object exists; its mtime is set to now, so gc's grace period protects an
    old unreferenced object that a publish in flight has just deduplicated onto."""
    try:
        return VERIFIED.touch(path)
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
