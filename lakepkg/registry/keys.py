"""Every metadata key the registry writes, built and parsed here (docs/format.md, "Registry").

* ``packages/<name>/versions/<created>-<top hash>-<seal>.json`` — immutable
  version records, created once (create-if-absent); their listing is the
  history. ``<seal>`` is the SHA-256 of the record's bytes, so a record whose
  author, message or time was rewritten no longer matches its key (records of
  older registries, ``<created>-<top hash>.json``, stay readable, unsealed).
* ``packages/<name>/tags/<tag>.json`` — ``{"top_hash": ..., "version": <record key>}``,
  moved only by compare-and-swap.
* ``gc/active/<id>.json`` — a gc's announcement (grace, start and horizon in the store's clock,
  heartbeats, ``finished_at``), kept a day after it finished.
* ``leases/<id>.json`` — a writer's lease (``ttl_seconds``, ``started``), rewritten by its
  heartbeat, deleted when its version is recorded (docs/store.md, "gc and publish").
* lifecycle: ``packages/<name>/redirects/<old top hash>.json`` (a redacted version's
  successor), ``packages/<name>/retention.json`` (retention policy),
  ``audit/<seq>.json`` + ``audit/head.json`` (the hash-chained audit log),
  ``journal/<kind>-<stamp>-<id>.json`` (a committed, unfinished redaction) and
  ``journal/redact.lock``.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Optional

from lakepkg.errors import LakepkgError, NotFoundError
from lakepkg.format.hashing import hash_bytes
from lakepkg.format.names import validate_package_name

PKG_PREFIX = "packages/"
GC_PREFIX = "gc/active/"
LEASE_PREFIX = "leases/"
RECORD_KEY_RE = re.compile(r"packages/(?P<name>[a-z0-9][a-z0-9._/-]*)/versions/(?P<stamp>[0-9]{8}T[0-9]{6}\.[0-9]{6}Z)"
                           r"-(?P<hash>[0-9a-f]{64})(?:-(?P<seal>[0-9a-f]{64}))?\.json")
LATEST = "latest"
AUDIT_PREFIX = "audit/"
AUDIT_HEAD = "audit/head.json"
AUDIT_KEY_RE = re.compile(r"^audit/(?P<seq>[0-9]{12})\.json$")
AUDIT_GENESIS = "0" * 64
JOURNAL_PREFIX = "journal/"
JOURNAL_KEY_RE = re.compile(r"^journal/[a-z]+-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9a-f]{8}\.json$")
REDACT_LOCK = "journal/redact.lock"  # held from a redaction's commit to its end: one commits at a time


def utc_now() -> datetime:
    """The local clock, in UTC (record times, tag updates, gc announcements); read through
    ``time.time`` so one clock serves every module."""
    return datetime.fromtimestamp(time.time(), timezone.utc)


def stamp(dt: datetime) -> str:
    """Sortable UTC time stamp used in record keys: ``20261122T171100.123456Z``."""
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def parse_stamp(s: str) -> datetime:
    """The time a :func:`stamp` names."""
    return datetime.strptime(s, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=timezone.utc)


def record_key(name: str, created: datetime, top_hash: str, data: bytes) -> str:
    """The key of a version record: its creation time, top hash and seal (SHA-256 of ``data``)."""
    return f"{PKG_PREFIX}{name}/versions/{stamp(created)}-{top_hash}-{hash_bytes(data)}.json"


def parse_record_key(key: str) -> Optional[re.Match[str]]:
    """The parts of a record key (name, stamp, hash, seal), or None when ``key`` is not one."""
    if not isinstance(key, str):
        return None
    m = RECORD_KEY_RE.fullmatch(key)
    if m is None:
        return None
    try:
        validate_package_name(m.group("name"))
    except LakepkgError:
        return None
    return m


def lease_key(lease_id: str) -> str:
    """The key of writer lease ``lease_id``."""
    return f"{LEASE_PREFIX}{lease_id}.json"


def versions_prefix(name: str) -> str:
    """Where the version records of ``name`` are listed."""
    return f"{PKG_PREFIX}{name}/versions/"


def tags_prefix(name: str) -> str:
    """Where the tags of ``name`` are listed."""
    return f"{PKG_PREFIX}{name}/tags/"


def tag_key(name: str, tag: str) -> str:
    """The key of tag ``name:tag``."""
    return f"{tags_prefix(name)}{tag}.json"


def redirects_prefix(name: str) -> str:
    """Where the redirects of ``name``'s redacted versions are listed."""
    return f"{PKG_PREFIX}{name}/redirects/"


def redirect_key(name: str, old_top_hash: str) -> str:
    """The key naming the successor of the redacted version ``old_top_hash`` of ``name``."""
    return f"{redirects_prefix(name)}{old_top_hash}.json"


def retention_key(name: str) -> str:
    """Where the retention policy of package ``name`` is kept."""
    return f"{PKG_PREFIX}{validate_package_name(name)}/retention.json"


def audit_key(seq: int) -> str:
    """The key of audit log entry ``seq`` (1, 2, …)."""
    return f"{AUDIT_PREFIX}{seq:012d}.json"


def audit_seq(key: str) -> Optional[int]:
    """The sequence number of an audit entry's key, or None when ``key`` is not one."""
    m = AUDIT_KEY_RE.match(key)
    return int(m.group("seq")) if m else None


def journal_id(kind: str, planned: datetime, token: str) -> str:
    """The id of a journal: ``<kind>-<stamp>-<8 hex digits>`` (``redact-20261207T…Z-1a2b3c4d``)."""
    jid = f"{kind}-{stamp(planned)}-{token}"
    if not JOURNAL_KEY_RE.match(journal_key(jid)):
        raise ValueError(f"journal id {jid!r} is not <letters>-<stamp>-<8 hex digits>")
    return jid


def journal_key(jid: str) -> str:
    """The key of journal ``jid``."""
    return f"{JOURNAL_PREFIX}{jid}.json"


def is_journal_key(key: str, kind: Optional[str] = None) -> bool:
    """True when ``key`` is a journal's key (of ``kind``, when given)."""
    return bool(JOURNAL_KEY_RE.match(key)) and (kind is None or key.startswith(f"{JOURNAL_PREFIX}{kind}-"))


def is_lifecycle_key(key: str) -> bool:
    """True for the keys lifecycle documents live under (audit entries and head, journals, the
    redaction lock, retention policies)."""
    if AUDIT_KEY_RE.match(key) or key in (AUDIT_HEAD, REDACT_LOCK) or JOURNAL_KEY_RE.match(key):
        return True
    if key.startswith(PKG_PREFIX) and key.endswith("/retention.json"):
        try:
            validate_package_name(key[len(PKG_PREFIX):-len("/retention.json")])
            return True
        except LakepkgError:
            return False
    return False


def check_lifecycle_key(key: str) -> None:
    """NotFoundError unless ``key`` is a lifecycle key."""
    if not is_lifecycle_key(key):
        raise NotFoundError(f"{key!r} is not a lifecycle key (audit/<seq>.json, journal/<id>.json, packages/<name>/retention.json)")
