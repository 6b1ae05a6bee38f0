"""S3 metadata backend: version records and tags as small objects under ``<prefix>/meta/``.

* ``create``  = PutObject with ``If-None-Match: *`` (exactly one writer wins).
* ``replace`` = PutObject with ``If-Match: <ETag read>`` (``If-None-Match: *``
  when the key must not exist yet): a compare-and-swap; the token is the ETag.
* A 412 (precondition failed), 409 (conflicting conditional write in flight)
  or 404 (the key vanished) means someone else wrote first: return False and
  let the registry re-read and retry.

After a conditional write succeeds the backend reads the key back and checks
that its own ETag is there. On AWS S3 and MinIO conditional writes are atomic
and the read-back always agrees; on a server that checks the condition and
then writes in two steps (moto 5.2.5's standalone server does — see
docs/remote.md) the read-back turns most lost races into an ordinary retry.
Whatever happens to a tag, no version is ever lost: every version is its own
record, created once under a unique key, and the history is their listing.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterator, Optional

from lakepkg.store.s3 import S3Connection, S3ObjectStore, S3Status, server_now
from lakepkg.registry.backend import MetaBackend, check_key
from lakepkg.store.leftovers import TMP_PREFIX
from lakepkg.registry.core import Registry


def _etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


class S3MetaBackend(MetaBackend):
    """Small documents with atomic create and compare-and-swap, on S3 conditional writes."""

    def __init__(self, conn: S3Connection, verify_writes: bool = True) -> None:
        self.conn = conn
        self.location = conn.location
        self.base = conn.key("meta/")
        self.verify_writes = verify_writes

    def _key(self, key: str) -> str:
        return self.base + check_key(key)

    def read(self, key: str) -> Optional[tuple[bytes, str]]:
        try:
            r = self.conn.call("get_object", f"reading {key}", Key=self._key(key))
        except S3Status as st:
            if st.status == 404:
                return None
            raise
        data = self.conn.read_body(r["Body"], key)
        return data, str(r["ETag"])

    def _conditional_put(self, key: str, data: bytes, cond: dict[str, str]) -> bool:
        try:
            r = self.conn.call("put_object", f"writing {key}", Key=self._key(key), Body=data,
                               ContentType="application/json", **cond)
        except S3Status as st:
            if st.status in (404, 409, 412):
                return False
            raise
        self.conn.stats.add(puts=1, bytes_sent=len(data))
        if self.verify_writes:
            mine = str(r.get("ETag") or _etag(data))
            try:
                h = self.conn.call("head_object", f"checking {key}", Key=self._key(key))
            except S3Status:
                return False
            if str(h.get("ETag")) != mine:
                return False  # overwritten by a racing writer: the caller re-reads and decides again
        return True

    def create(self, key: str, data: bytes) -> bool:
        return self._conditional_put(key, data, {"IfNoneMatch": "*"})

    def replace(self, key: str, data: bytes, token: Optional[str]) -> bool:
        if token is None:
            return self._conditional_put(key, data, {"IfNoneMatch": "*"})
        return self._conditional_put(key, data, {"IfMatch": token})

    def _listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        """(key relative to meta/, LastModified) of every object under ``prefix``."""
        token = None
        while True:
            kw: dict[str, Any] = {"Prefix": self.base + prefix}
            if token:
                kw["ContinuationToken"] = token
            r = self.conn.call("list_objects_v2", f"listing {prefix or 'packages'}", **kw)
            for o in r.get("Contents", []):
                yield o["Key"][len(self.base):], o["LastModified"].timestamp()
            if not r.get("IsTruncated"):
                return
            token = r.get("NextContinuationToken")

    def list(self, prefix: str) -> Iterator[str]:
        return iter(sorted(k for k, _ in self._listing(prefix) if not k.rsplit("/", 1)[-1].startswith(TMP_PREFIX)))

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """``.tmp-*`` keys under ``meta/`` (a writer or tool killed mid-way): (key, LastModified)."""
        return ((k, t) for k, t in self._listing("") if k.rsplit("/", 1)[-1].startswith(TMP_PREFIX))

    def clear_temporary(self, name: str) -> None:
        if name.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
            self.delete(name)

    def delete(self, key: str) -> None:
        try:
            self.conn.call("delete_object", f"deleting {key}", Key=self._key(key))
        except S3Status:
            pass

    def listing(self, prefix: str) -> Iterator[tuple[str, float]]:
        """(key, LastModified) from the listing itself: one request per 1,000 keys, no HEADs."""
        return iter(sorted((k, t) for k, t in self._listing(prefix) if not k.rsplit("/", 1)[-1].startswith(TMP_PREFIX)))

    def server_time(self) -> float:
        """The server's clock (the Date of a HEAD on the bucket: the clock LastModified is in)."""
        r = self.conn.call("head_bucket", "reading the server's clock")
        return server_now(r).timestamp()

    def mtime(self, key: str) -> Optional[float]:
        """LastModified of ``key`` (the server's clock, whole seconds)."""
        try:
            h = self.conn.call("head_object", f"checking {key}", Key=self._key(key))
        except S3Status:
            return None
        return float(h["LastModified"].timestamp())


def open_s3_registry(url: str, **options: Any) -> Registry:
    """A registry on ``s3://bucket/prefix``: objects under ``objects/``, records and tags under ``meta/``.

    Options: ``endpoint_url``, ``region``, ``profile``, ``cache_dir``, ``cache_max_bytes``
    (and ``check=False`` to skip the early bucket check)."""
    store = S3ObjectStore.from_url(url, **options)
    meta = S3MetaBackend(store.conn)
    return Registry(store, meta, store.location)


__all__ = ["S3MetaBackend", "open_s3_registry"]
