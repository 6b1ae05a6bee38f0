"""Object store on S3 (AWS, MinIO or any S3-compatible endpoint): ``s3://bucket/prefix``.

Objects live under ``<prefix>/objects/<aa>/<sha256>``, write-once. An upload
carries ``x-amz-checksum-sha256`` (the object's own name, base64) so the
server refuses bytes that do not match; an object already present (HEAD) is
not sent again. Nothing depends on bucket versioning: a key's bytes never
change, so an unversioned bucket is as safe as a versioned one.

Reading goes through the local :class:`~lakepkg.store.cache.ObjectCache`: every
downloaded object is hash-checked before use, and a second read of the same
object does no network I/O. ``verified_path`` also re-hashes a cached file the
first time a process hands it out (a cache file damaged on disk is fetched
again); ``verify_object`` bypasses the cache and re-hashes the remote bytes.

A dedup hit on an object older than the renewal window is renewed by a
server-side copy onto itself (multipart for objects over 5 GB), so gc's grace
period covers it; the window defaults to half the configured gc grace
(setting ``gc_grace_hours``, default 24) and a publish racing a gc passes that
gc's own grace (see ``Registry.publish``).

Credentials come from the boto3 chain (environment, shared config/profile,
instance role) and are never stored. ``endpoint_url``, ``region`` and
``profile`` come from options, else ``LAKEPKG_S3_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION`` and ``AWS_PROFILE``.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import os
import threading
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator, Optional, cast
from urllib.parse import urlsplit, urlunsplit

from email.utils import parsedate_to_datetime

from lakepkg.config import setting
from lakepkg.errors import ConfigError, IntegrityError, MissingObjectError, StoreUnavailableError
from lakepkg.format.hashing import hash_bytes, hash_file
from lakepkg.store.base import ObjectInfo, ObjectStore, check_digest, corrupt_error
from lakepkg.store.verified import VERIFIED

SMALL = 64 * 1024 * 1024       # files up to this size are read once (hash and body from one read)
SINGLE_PUT_MAX = 5 * 1024 ** 3  # S3's limit for one PutObject (and one CopyObject)
COPY_PART = 1024 ** 3           # part size of a multipart server-side copy
CONDITIONAL_MAX = 1024 * 1024   # objects up to this size go up as one PUT If-None-Match: * (no HEAD first)
DEFAULT_GRACE_HOURS = 24.0


def renewal_window() -> float:
    """Seconds after which a dedup hit renews an object: half the configured gc grace."""
    try:
        hours = float(setting("gc_grace_hours", None, DEFAULT_GRACE_HOURS))
    except (TypeError, ValueError):
        raise ConfigError("setting gc_grace_hours is not a number of hours; fix it in the lakepkg config") from None
    return max(0.0, hours) * 3600 / 2


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ("bucket", "some/prefix") (prefix without slashes at the ends)."""
    if not url.startswith("s3://"):
        raise ConfigError(f"{url!r} is not an S3 location; use s3://bucket/prefix")
    rest = url[5:]
    bucket, _, prefix = rest.partition("/")
    if not bucket or "@" in bucket or ":" in bucket:
        raise ConfigError(f"{url!r} has no valid bucket name; use s3://bucket/prefix (credentials never go in the URL)")
    return bucket, prefix.strip("/")


def _safe_endpoint(url: Optional[str]) -> str:
    """The endpoint without any user:password part (for messages)."""
    if not url:
        return "AWS S3"
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    return urlunsplit((p.scheme, host, p.path, "", ""))


@dataclass
class TransferStats:
    """Requests and bytes moved by one connection (thread-safe counters)."""

    requests: int = 0
    puts: int = 0
    bytes_sent: int = 0
    gets: int = 0
    bytes_received: int = 0
    renewed: int = 0  # dedup hits on old objects copied onto themselves (see S3ObjectStore.keep)
    sent: dict[str, int] = field(default_factory=dict)  # HTTP requests sent, by operation (retries included)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_send(self, event_name: str = "", **_kw: Any) -> None:
        """botocore's ``before-send`` hook: one HTTP request is leaving (``before-send.s3.PutObject``)."""
        op = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.sent[op] = self.sent.get(op, 0) + 1

    def sent_snapshot(self) -> dict[str, int]:
        """HTTP requests sent so far, by S3 operation (``{"HeadObject": 12, "PutObject": 3, ...}``)."""
        with self._lock:
            return dict(self.sent)

    def add(self, **kw: int) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "puts": self.puts, "bytes_sent": self.bytes_sent,
                    "gets": self.gets, "bytes_received": self.bytes_received}


class S3Connection:
    """A boto3 client for one bucket/prefix plus the error mapping every S3 call goes through."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: Optional[str] = None,
                 region: Optional[str] = None, profile: Optional[str] = None,
                 max_pool: int = 32, connect_timeout: float = 5.0, read_timeout: float = 60.0,
                 retries: int = 3, aws_access_key_id: Optional[str] = None,
                 aws_secret_access_key: Optional[str] = None, aws_session_token: Optional[str] = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url or os.environ.get("LAKEPKG_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
        self.location = f"s3://{bucket}/{prefix}".rstrip("/")
        self.where = f"{self.location} ({_safe_endpoint(self.endpoint_url)})"
        try:
            session = boto3.Session(profile_name=profile or None, region_name=region or None,  # explicit keys: an orchestrator's connection
                                    aws_access_key_id=aws_access_key_id or None,
                                    aws_secret_access_key=aws_secret_access_key or None,
                                    aws_session_token=aws_session_token or None)
        except Exception as exc:  # ProfileNotFound
            raise ConfigError(f"AWS profile {profile!r} not found: {exc.__class__.__name__}; fix --profile or AWS_PROFILE") from None
        cfg = Config(max_pool_connections=max_pool, connect_timeout=connect_timeout, read_timeout=read_timeout,
                     retries={"max_attempts": retries, "mode": "standard"},
                     request_checksum_calculation="when_required", response_checksum_validation="when_required")
        self.client = session.client("s3", endpoint_url=self.endpoint_url, config=cfg,
                                     region_name=region or session.region_name or "us-east-1")
        self.stats = TransferStats()
        self.client.meta.events.register("before-send.s3", self.stats.on_send)  # counts what goes on the wire

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def call(self, op: str, what: str, **kw: Any) -> Any:
        """Run ``client.<op>(Bucket=..., **kw)``; failures become one-line lakepkg errors.

        A 404 / 412 / 409 is re-raised as :class:`S3Status` for the caller to interpret."""
        from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, EndpointConnectionError,
                                         NoCredentialsError, PartialCredentialsError, ReadTimeoutError,
                                         ConnectTimeoutError)

        self.stats.add(requests=1)
        try:
            return getattr(self.client, op)(Bucket=self.bucket, **kw)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in ("NoSuchBucket",):
                raise StoreUnavailableError(f"bucket {self.bucket!r} does not exist at {_safe_endpoint(self.endpoint_url)}; create it or fix the s3:// URL / endpoint") from None
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "AccessDenied", "AllAccessDisabled") or status == 403:
                raise StoreUnavailableError(f"S3 refused the credentials for {what} in {self.where} ({code or status}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY to a key allowed on this bucket") from None
            if status in (404, 409, 412) or code in ("NoSuchKey", "NotFound", "PreconditionFailed", "ConditionalRequestConflict"):
                raise S3Status(status or 404, code) from None
            raise StoreUnavailableError(f"S3 error on {what} in {self.where}: {code or status} {err.get('Message', '')}; re-run to finish the job".strip()) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise StoreUnavailableError(f"no AWS credentials found for {self.where}; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (lakepkg never stores them)") from None
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError) as exc:
            raise StoreUnavailableError(f"cannot reach S3 endpoint {_safe_endpoint(self.endpoint_url)} during {what} ({exc.__class__.__name__}); check the endpoint and network, then re-run: finished work is kept") from None
        except BotoCoreError as exc:
            raise StoreUnavailableError(f"S3 request {what} on {self.where} failed ({exc.__class__.__name__}); re-run to finish the job") from None

    def check_bucket(self) -> None:
        """Fail early and clearly on a missing bucket, bad credentials or a dead endpoint."""
        try:
            self.call("head_bucket", "opening the bucket")
        except S3Status as st:
            if st.status == 404:
                raise StoreUnavailableError(f"bucket {self.bucket!r} does not exist at {_safe_endpoint(self.endpoint_url)}; create it or fix the s3:// URL / endpoint") from None
            raise StoreUnavailableError(f"cannot open bucket {self.bucket!r} at {_safe_endpoint(self.endpoint_url)} ({st.status} {st.code})") from None

    def read_body(self, body: Any, what: str) -> bytes:
        """Read a streaming body, mapping a connection dying mid-read."""
        try:
            data = body.read()
        except Exception as exc:
            raise StoreUnavailableError(f"connection to {_safe_endpoint(self.endpoint_url)} broke while reading {what} ({exc.__class__.__name__}); re-run: finished work is kept") from None
        self.stats.add(gets=1, bytes_received=len(data))
        return data


class S3Status(Exception):
    """An S3 answer the caller interprets (404 missing, 412 precondition failed, 409 conflict)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


def b64_sha256(digest: str) -> str:
    return base64.b64encode(bytes.fromhex(digest)).decode("ascii")


class S3ObjectStore(ObjectStore):
    """Content-addressed objects in an S3 bucket, read through a local verified cache."""

    def __init__(self, conn: S3Connection, cache: Any = None) -> None:
        self.conn = conn
        self.location = conn.location
        self._cache = cache
        self._cache_args: tuple[Optional[str], Optional[int]] = (None, None)
        self.keep_refresh_after: float = renewal_window()

    @classmethod
    def from_url(cls, url: str, endpoint_url: Optional[str] = None, region: Optional[str] = None,
                 profile: Optional[str] = None, cache_dir: Optional[str] = None,
                 cache_max_bytes: Optional[int] = None, check: bool = True, **conn_options: Any) -> "S3ObjectStore":
        """Open ``s3://bucket/prefix``. ``check`` fails early on a missing bucket or bad credentials."""
        bucket, prefix = parse_s3_url(url)
        conn = S3Connection(bucket, prefix, endpoint_url=endpoint_url, region=region, profile=profile, **conn_options)
        if check:
            conn.check_bucket()
        store = cls(conn)
        store._cache_args = (cache_dir, cache_max_bytes)
        return store

    # -- helpers -----------------------------------------------------------
    @property
    def cache(self) -> Any:
        if self._cache is None:
            from lakepkg.store.cache import default_cache

            args = getattr(self, "_cache_args", (None, None))
            self._cache = default_cache(*args)
        return self._cache

    @property
    def stats(self) -> TransferStats:
        return self.conn.stats

    def _key(self, digest: str) -> str:
        check_digest(digest)
        return self.conn.key(f"objects/{digest[:2]}/{digest}")

    def _missing(self, digest: str) -> MissingObjectError:
        return MissingObjectError(f"object {digest[:12]} is missing from {self.location}; run `lakepkg verify --registry {self.location}` and re-push the versions that need it")

    # -- ObjectStore -------------------------------------------------------
    def _head(self, digest: str) -> Optional[dict[str, Any]]:
        """The HEAD response of an object, or None when it is not stored."""
        try:
            return self.conn.call("head_object", f"checking object {digest[:12]}", Key=self._key(digest))  # type: ignore[no-any-return]
        except S3Status as st:
            if st.status == 404:
                return None
            raise

    def has(self, digest: str) -> bool:
        return self._head(digest) is not None

    def keep(self, digest: str, max_age: Optional[float] = None) -> bool:
        """A dedup hit. An object older than ``max_age`` seconds (default: the store's renewal
        window) is copied onto itself (server-side: no bytes sent; multipart above 5 GB) so its
        LastModified, which ``gc`` ages it by, is now: S3 has no cheaper way to renew it. Younger
        objects are left alone, so a publish that reuses them costs one HEAD. The age is measured
        on the server's clock (the response's Date), so clock skew cannot shorten it."""
        window = self.keep_refresh_after if max_age is None else max_age
        key = self._key(digest)
        head = self._head(digest)
        if head is None:
            return False
        # both times are whole seconds of the server's clock: err on the old side (renew more, never less)
        age = (server_now(head) - head["LastModified"]).total_seconds() + 1.0
        if window <= 0 or age > window:
            try:
                self._self_copy(digest, key, int(head["ContentLength"]))
            except S3Status as st:
                if st.status == 404:  # deleted (by gc) since the HEAD
                    return False
                raise
            self.conn.stats.add(renewed=1)
        return True

    def _self_copy(self, digest: str, key: str, size: int) -> None:
        """Renew an object's LastModified by copying it onto itself on the server."""
        what = f"renewing object {digest[:12]}"
        if size <= SINGLE_PUT_MAX:
            self.conn.call("copy_object", what, Key=key, CopySource={"Bucket": self.conn.bucket, "Key": key},
                           MetadataDirective="REPLACE", ContentType="application/octet-stream", ChecksumAlgorithm="SHA256")
            return
        self._multipart_copy(self.conn.bucket, key, key, size, what)

    def _multipart_copy(self, src_bucket: str, src_key: str, key: str, size: int, what: str) -> None:
        """Server-side copy of an object over 5 GB: UploadPartCopy in ranges, then complete."""
        up = self.conn.call("create_multipart_upload", what, Key=key, ContentType="application/octet-stream")
        uid = up["UploadId"]
        parts = []
        try:
            for n, start in enumerate(range(0, size, COPY_PART), start=1):
                end = min(start + COPY_PART, size) - 1
                r = self.conn.call("upload_part_copy", what, Key=key, UploadId=uid, PartNumber=n,
                                   CopySource={"Bucket": src_bucket, "Key": src_key}, CopySourceRange=f"bytes={start}-{end}")
                parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
            self.conn.call("complete_multipart_upload", what, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                self.conn.call("abort_multipart_upload", "aborting a copy", Key=key, UploadId=uid)
            except Exception:
                pass
            raise

    def delete_if_stale(self, digest: str, cutoff: float) -> bool:
        """Delete unless renewed since ``cutoff`` (server clock), judged by a HEAD just before."""
        head = self._head(digest)
        if head is None:
            return False
        if head["LastModified"].timestamp() >= cutoff:
            return False
        self.delete(digest)
        return True

    def size(self, digest: str) -> int:
        try:
            r = self.conn.call("head_object", f"checking object {digest[:12]}", Key=self._key(digest))
        except S3Status:
            raise self._missing(digest) from None
        return int(r["ContentLength"])

    def _put(self, digest: str, body: "bytes | BinaryIO", size: int) -> None:
        self.conn.call("put_object", f"uploading object {digest[:12]}", Key=self._key(digest), Body=body,
                       ContentLength=size, ChecksumAlgorithm="SHA256", ChecksumSHA256=b64_sha256(digest),
                       ContentType="application/octet-stream")
        self.conn.stats.add(puts=1, bytes_sent=size)

    def _put_if_absent(self, digest: str, data: bytes) -> bool:
        """One request for a small object: PUT with ``If-None-Match: *``; False when it was there
        already (412), so a new object costs one request instead of a HEAD and a PUT."""
        try:
            self.conn.call("put_object", f"uploading object {digest[:12]}", Key=self._key(digest), Body=data,
                           ContentLength=len(data), ChecksumAlgorithm="SHA256", ChecksumSHA256=b64_sha256(digest),
                           ContentType="application/octet-stream", IfNoneMatch="*")
        except S3Status as st:
            if st.status == 412:
                self.conn.stats.add(bytes_sent=len(data))  # sent, then refused: the object was there
                return False
            if st.status == 409 and self.has(digest):  # another writer's PUT of the same bytes in flight
                return False
            if st.status not in (409, 404):
                raise
            self._put(digest, data, len(data))
            return True
        self.conn.stats.add(puts=1, bytes_sent=len(data))
        return True

    def put_bytes(self, data: bytes, digest: Optional[str] = None) -> str:
        actual = hash_bytes(data)
        if digest is not None and digest != actual:
            raise IntegrityError(f"bytes given for object {digest[:12]} hash to {actual[:12]}; refusing to store them")
        if not self.keep(actual):  # a HEAD first: a dedup hit sends no bytes, and an old one is renewed
            self._put(actual, data, len(data))
        return actual

    def put_file(self, path: str, digest: Optional[str] = None) -> tuple[str, int, bool]:
        """Upload a local file unless present. The file is hashed first (the hash is its
        name and the checksum the server verifies), so corrupt source bytes never go up."""
        size = os.path.getsize(path)
        if digest is not None and self.keep(digest):
            return digest, size, False
        return self._upload(path, size, digest, check_first=digest is None, conditional=False)

    def _upload(self, path: str, size: int, digest: Optional[str], check_first: bool,
                conditional: bool) -> tuple[str, int, bool]:
        """Hash and upload ``path``. ``check_first``: a HEAD first (a dedup hit sends no bytes);
        ``conditional``: an object up to :data:`CONDITIONAL_MAX` goes as one PUT If-None-Match: *
        (for objects that are most likely new: a copy of what no record of the destination names)."""
        if conditional and size <= CONDITIONAL_MAX:
            with open(path, "rb") as f:
                small = f.read()
            actual = hash_bytes(small)
            if digest is not None and digest != actual:
                raise IntegrityError(f"file {path} hashes to {actual[:12]}, not {digest[:12]}; the local copy is corrupt or changed, run `lakepkg verify`")
            return actual, len(small), self._put_if_absent(actual, small)
        data: Optional[bytes]
        if size <= SMALL:
            with open(path, "rb") as f:
                data = f.read()
            actual = hash_bytes(data)
        else:
            data = None
            actual, size = hash_file(path)
        if digest is not None and digest != actual:
            raise IntegrityError(f"file {path} hashes to {actual[:12]}, not {digest[:12]}; the local copy is corrupt or changed, run `lakepkg verify`")
        if check_first and self.keep(actual):
            return actual, size, False
        if data is not None:
            self._put(actual, data, size)
        elif size <= SINGLE_PUT_MAX:
            with open(path, "rb") as f:
                self._put(actual, f, size)
        else:
            self._put_multipart(actual, path, size)
        return actual, size, True

    def _put_multipart(self, digest: str, path: str, size: int) -> None:
        """Objects over 5 GB: multipart upload, each part with its SHA-256 checksum."""
        part_size = max(256 * 1024 ** 2, -(-size // 9000))
        key = self._key(digest)
        up = self.conn.call("create_multipart_upload", f"uploading object {digest[:12]}", Key=key, ChecksumAlgorithm="SHA256")
        uid = up["UploadId"]
        parts = []
        try:
            with open(path, "rb") as f:
                n = 1
                while True:
                    chunk = f.read(part_size)
                    if not chunk:
                        break
                    cs = b64_sha256(hash_bytes(chunk))
                    r = self.conn.call("upload_part", f"uploading object {digest[:12]}", Key=key, UploadId=uid,
                                       PartNumber=n, Body=chunk, ChecksumSHA256=cs)
                    parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": cs})
                    self.conn.stats.add(bytes_sent=len(chunk))
                    n += 1
            self.conn.call("complete_multipart_upload", f"uploading object {digest[:12]}", Key=key, UploadId=uid,
                           MultipartUpload={"Parts": parts})
            self.conn.stats.add(puts=1)
        except BaseException:
            try:
                self.conn.call("abort_multipart_upload", "aborting an upload", Key=key, UploadId=uid)
            except Exception:
                pass
            raise

    def open(self, digest: str) -> BinaryIO:
        """The remote bytes as a stream (not verified, not cached)."""
        try:
            r = self.conn.call("get_object", f"reading object {digest[:12]}", Key=self._key(digest))
        except S3Status:
            raise self._missing(digest) from None
        return cast(BinaryIO, _CountingBody(r["Body"], self.conn, digest))  # a RawIOBase is a binary stream

    def local_path(self, digest: str) -> Optional[str]:
        """A local copy from the cache (downloaded, and hash-checked, on first use only)."""
        return self.cache.get(digest, lambda tmp: self.fetch_to(digest, tmp))

    def local_root(self) -> Optional[str]:
        return None

    def open_options(self) -> dict[str, str]:
        return {"endpoint_url": self.conn.endpoint_url} if self.conn.endpoint_url else {}

    def verified_path(self, digest: str, what: Optional[str] = None) -> str:
        """A cached copy known to hash to ``digest``: checked when downloaded, and re-hashed the first
        time this process hands out a cache hit (a cache file damaged on disk is fetched again)."""
        path = self.local_path(digest)
        assert path is not None
        if VERIFIED.is_verified(path, digest):
            return path
        actual, _ = hash_file(path)
        if actual != digest:
            self.cache.discard(digest)
            path = self.local_path(digest)  # fetched again and checked on the way in
            assert path is not None
            actual, _ = hash_file(path)
            if actual != digest:
                self.cache.discard(digest)
                raise corrupt_error(digest, self.location, actual, what)
        VERIFIED.remember(path, digest)
        return path

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        """Whole object through the cache (verified on download; with ``verify`` a hit is re-checked too)."""
        path = self.verified_path(digest) if verify else self.local_path(digest)
        with open(path, "rb") as f:  # type: ignore[arg-type]
            return f.read()

    def forget_local(self, digest: str) -> None:
        if self._cache is not None:
            self.cache.discard(digest)

    def copy_from(self, src: ObjectStore, digest: str) -> tuple[bool, int]:
        """From a bucket on the same endpoint: a server-side copy whose SHA-256 the server computes
        and this store checks against the name. From anywhere else: a verified local copy, uploaded
        with its checksum."""
        if isinstance(src, S3ObjectStore) and src.conn.endpoint_url == self.conn.endpoint_url:
            if self.keep(digest):
                return False, 0
            return True, self._server_copy(src, digest)
        # a local object is read once: the upload hashes the bytes it sends and refuses a mismatch
        # (a damaged local copy never goes up), so it is not hashed a second time beforehand
        path = src.local_path(digest) if src.local_root() is not None else src.verified_path(digest)
        assert path is not None
        size = os.path.getsize(path)
        if size > CONDITIONAL_MAX and self.keep(digest):
            return False, 0
        _, n, written = self._upload(path, size, digest, check_first=False, conditional=True)  # one request
        return written, n if written else 0

    def _server_copy(self, src: "S3ObjectStore", digest: str) -> int:
        size = src.size(digest)
        key = self._key(digest)
        what = f"copying object {digest[:12]}"
        if size <= SINGLE_PUT_MAX:
            r = self.conn.call("copy_object", what, Key=key, CopySource={"Bucket": src.conn.bucket, "Key": src._key(digest)},
                               MetadataDirective="REPLACE", ContentType="application/octet-stream", ChecksumAlgorithm="SHA256")
            got = (r.get("CopyObjectResult") or {}).get("ChecksumSHA256")
            if got is None:  # the server did not say: check the copy's own checksum
                got = self.conn.call("head_object", what, Key=key, ChecksumMode="ENABLED").get("ChecksumSHA256")
            if got is not None and got != b64_sha256(digest):
                self.delete(digest)
                raise corrupt_error(digest, src.location)
            if got is None and not self.verify_object(digest):
                self.delete(digest)
                raise corrupt_error(digest, src.location)
        else:
            self._multipart_copy(src.conn.bucket, src._key(digest), key, size, what)
            if not self.verify_object(digest):
                self.delete(digest)
                raise corrupt_error(digest, src.location)
        self.conn.stats.add(puts=1)
        return size

    def iter_temporaries(self) -> Iterator[tuple[str, float]]:
        """Unfinished multipart uploads under ``objects/`` (a killed upload of a large object)."""
        kw: dict[str, Any] = {"Prefix": self.conn.key("objects/")}
        while True:
            r = self.conn.call("list_multipart_uploads", "listing unfinished uploads", **kw)
            for u in r.get("Uploads", []):
                yield f"{u['Key']}\n{u['UploadId']}", u["Initiated"].timestamp()
            if not r.get("IsTruncated"):
                return
            kw.update(KeyMarker=r.get("NextKeyMarker"), UploadIdMarker=r.get("NextUploadIdMarker"))

    def clear_temporary(self, name: str) -> None:
        key, _, uid = name.partition("\n")
        if not key.startswith(self.conn.key("objects/")) or not uid:
            return
        try:
            self.conn.call("abort_multipart_upload", "aborting an unfinished upload", Key=key, UploadId=uid)
        except S3Status:
            pass

    def delete(self, digest: str) -> None:
        try:
            self.conn.call("delete_object", f"deleting object {digest[:12]}", Key=self._key(digest))
        except S3Status:
            pass

    def iter_objects(self) -> Iterator[ObjectInfo]:
        base = self.conn.key("objects/")
        token = None
        while True:
            kw: dict[str, Any] = {"Prefix": base}
            if token:
                kw["ContinuationToken"] = token
            r = self.conn.call("list_objects_v2", "listing objects", **kw)
            for o in r.get("Contents", []):
                name = o["Key"].rsplit("/", 1)[-1]
                if len(name) == 64:
                    yield ObjectInfo(name, int(o["Size"]), o["LastModified"].timestamp())
            if not r.get("IsTruncated"):
                return
            token = r.get("NextContinuationToken")


def server_now(response: dict[str, Any]) -> dt.datetime:
    """The server's clock from a response's Date header (the local clock when it has none)."""
    date = (response.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get("date")
    if date:
        try:
            return parsedate_to_datetime(date)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.timezone.utc)


class _CountingBody(io.RawIOBase):
    """Wraps a botocore streaming body: counts bytes, maps a connection dying mid-read."""

    def __init__(self, body: Any, conn: S3Connection, digest: str) -> None:
        self._b = body
        self._conn = conn
        self._digest = digest

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        try:
            data = self._b.read() if n is None or n < 0 else self._b.read(n)
        except Exception as exc:
            raise StoreUnavailableError(f"connection to {_safe_endpoint(self._conn.endpoint_url)} broke while reading object {self._digest[:12]} ({exc.__class__.__name__}); re-run: finished work is kept") from None
        self._conn.stats.add(bytes_received=len(data))
        return data

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._b.close()
        finally:
            super().close()
