"""Row hashes of stored fragments, kept on local disk between snapshots — a cache that proves what it is.

``<cache_dir>/row-hashes/<aa>/<identity>.rh`` holds the SHA-256 of every row of one fragment object
(:mod:`lakepkg.format.row_identity`; a fragment never changes, so neither do they). ``identity`` is
the SHA-256 of the canonical JSON ``{"columns": [[name, type tag hex], ...], "hash":
"lakepkg-row-v2", "object": <object digest>}``: the file is addressed by everything its hashes
depend on. The file itself repeats it, so a file moved, copied or swapped onto another name is
recognised:

    identity (32 bytes) | object digest (32) | rows (8, little-endian) | rows x 32 hash bytes
    | SHA-256 of everything before (32)

:meth:`RowHashCache.get` returns hashes only when the name, the identity, the object, the row count
and the checksum all match; anything else is recomputed from the fragment (and the file rewritten),
never trusted. A file forged consistently (right header, wrong hashes) passes these checks: the
delta index catches it by comparing the previous version's recorded ``rows-v2`` digest with the sum
of the hashes it loaded (:mod:`lakepkg.write.row_index`), and ``lakepkg verify --caches`` rehashes
every cache file from its object (:func:`check_caches`). ``LAKEPKG_ROW_HASH_CACHE=0`` turns the cache
off; gc removes the files of objects no version names (:func:`prune`, a ``lakepkg.gc_keepers`` entry
point).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Sequence, cast

import numpy as np
import pyarrow as pa

from lakepkg.format.canonical import canonical_json
from lakepkg.format.row_identity import HASH_BYTES, ROW_HASH_VERSION, type_tag

SUFFIX = ".rh"
_HEAD = 32 + 32 + 8


def cache_identity(object_digest: str, schema: pa.Schema, columns: Optional[Sequence[str]] = None) -> str:
    """The hex identity a cache file of ``object_digest``'s row hashes over ``columns`` is named by."""
    cols = list(columns) if columns is not None else list(schema.names)
    doc = {"columns": [[c, type_tag(schema.field(c).type).hex()] for c in cols], "hash": ROW_HASH_VERSION,
           "object": object_digest}
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def _enabled() -> bool:
    return os.environ.get("LAKEPKG_ROW_HASH_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_root() -> str:
    """``<cache_dir>/row-hashes`` (``cache_dir``: the setting, else ``$LAKEPKG_HOME/cache``)."""
    from lakepkg.config import home, setting

    root = setting("cache_dir") or os.path.join(home(), "cache")
    return os.path.join(str(root), "row-hashes")


def encode_file(identity: str, object_digest: str, hashes: np.ndarray) -> bytes:
    """The bytes of a cache file (see the module docstring)."""
    body = (bytes.fromhex(identity) + bytes.fromhex(object_digest) + int(len(hashes)).to_bytes(8, "little")
            + np.ascontiguousarray(hashes, dtype=np.uint8).tobytes())
    return body + hashlib.sha256(body).digest()


@dataclass
class CacheFile:
    """A parsed cache file: what it says it is, and its hashes (None when it is not well-formed)."""

    path: str
    identity: Optional[str] = None
    object: Optional[str] = None
    hashes: Optional[np.ndarray] = None
    problem: Optional[str] = None


def read_file(path: str) -> CacheFile:
    """Parse one cache file, checking its length and checksum (not what it should be for)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        return CacheFile(path, problem=f"cannot be read ({exc.strerror or exc})")
    if len(data) < _HEAD + 32:
        return CacheFile(path, problem="is truncated")
    rows = int.from_bytes(data[64:72], "little")
    if len(data) != _HEAD + rows * HASH_BYTES + 32:
        return CacheFile(path, problem="has the wrong length for its row count")
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        return CacheFile(path, problem="fails its checksum")
    hashes = np.frombuffer(data, np.uint8, count=rows * HASH_BYTES, offset=_HEAD).reshape(rows, HASH_BYTES)
    return CacheFile(path, data[:32].hex(), data[32:64].hex(), hashes)


class RowHashCache:
    """The local row-hash cache (``None`` root when ``LAKEPKG_ROW_HASH_CACHE=0``)."""

    def __init__(self, root: Optional[str] = None) -> None:
        self.root: Optional[str] = (root or cache_root()) if _enabled() else None
        self.rejected = 0      # files found but not trusted (wrong identity, object, rows, checksum)

    def path(self, identity: str) -> str:
        assert self.root is not None
        return os.path.join(self.root, identity[:2], identity + SUFFIX)

    def get(self, identity: str, object_digest: str, rows: int) -> Optional[np.ndarray]:
        """The (rows, 32) hashes of ``object_digest`` under ``identity``, or None (missing or untrusted)."""
        if self.root is None:
            return None
        p = self.path(identity)
        if not os.path.exists(p):
            return None
        cf = read_file(p)
        if (cf.hashes is None or cf.identity != identity or cf.object != object_digest
                or cf.hashes.shape[0] != rows):
            self.rejected += 1
            return None
        return cf.hashes

    def put(self, identity: str, object_digest: str, hashes: np.ndarray) -> None:
        """Write (or replace) the file; a cache that cannot be written is only slower."""
        if self.root is None:
            return
        path = self.path(identity)
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(encode_file(identity, object_digest, hashes))
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cache_files(root: Optional[str] = None) -> Iterator[str]:
    """Every cache file under ``root`` (default: this home's)."""
    root = root or cache_root()
    if not os.path.isdir(root):
        return
    for sub in sorted(os.listdir(root)):
        d = os.path.join(root, sub)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                if name.endswith(SUFFIX) or name.endswith(".npy"):
                    yield os.path.join(d, name)


@dataclass
class CacheReport:
    """What ``verify --caches`` found: files checked, and the problems (path -> what is wrong)."""

    checked: int = 0
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_caches(store: object, objects: Iterable[tuple[str, pa.Schema]], root: Optional[str] = None,
                 repair: bool = True) -> CacheReport:
    """Rehash every cache file of the given (object digest, schema) pairs from the object itself and
    compare. A file that does not match (or is malformed) is a problem, and is removed when
    ``repair`` (the next snapshot recomputes it)."""
    from lakepkg.format.row_identity import row_hash_matrix

    from lakepkg.read.arrow_scan import read_stored

    rep = CacheReport()
    cache = RowHashCache(root)
    if cache.root is None:
        return rep
    for digest, schema in objects:
        ident = cache_identity(digest, schema)
        p = cache.path(ident)
        if not os.path.exists(p):
            continue
        rep.checked += 1
        cf = read_file(p)
        problem = cf.problem
        if problem is None and (cf.identity != ident or cf.object != digest):
            problem = f"names object {str(cf.object)[:12]} but sits where object {digest[:12]}'s hashes belong"
        if problem is None:
            t = read_stored(cast(Any, store), {"key": digest[:12], "object": digest})  # the one reader: hashed first
            fresh = row_hash_matrix(t, schema.names)
            if cf.hashes is None or fresh.shape != cf.hashes.shape or not np.array_equal(fresh, cf.hashes):
                problem = "holds hashes that are not its object's rows"
        if problem is not None:
            rep.problems[p] = problem
            if repair:
                try:
                    os.unlink(p)
                except OSError:
                    pass
    return rep


def prune(store: object, live: set[str], cutoff: float, dry_run: bool) -> int:
    """gc keeper: remove cache files of objects not in ``live`` last written before ``cutoff``, and
    files of the old unchecked form (``<object>.v1.npy``). Returns how many it removed (or would)."""
    removed = 0
    for p in list(cache_files()):
        try:
            st = os.stat(p)
        except OSError:
            continue
        if st.st_mtime >= cutoff:
            continue
        if p.endswith(".npy"):
            obj: Optional[str] = None   # the v1 form: never read again
        else:
            cf = read_file(p)
            obj = cf.object
            if obj is not None and obj in live:
                continue
        removed += 1
        if not dry_run:
            try:
                os.unlink(p)
            except OSError:
                removed -= 1
    return removed
