"""The registry: package names, versions, tags and history over any backend pair.

:class:`Registry` is assembled from parts with one job each (imports run downward):

* :mod:`~lakepkg.registry.keys` — every metadata key, built and parsed (the layout is in
  docs/format.md, "Registry"); nothing else writes keys;
* :mod:`~lakepkg.registry.records` — version records, history stubs, tag documents;
* :mod:`~lakepkg.registry.history` — the history (record listing), reading and creating records;
* :mod:`~lakepkg.registry.tags` — tags, moved by compare-and-swap;
* :mod:`~lakepkg.registry.refs` — resolving references, redaction redirects;
* :mod:`~lakepkg.registry.gc_window` — gc announcements and the window a publish renews against;
* :mod:`~lakepkg.registry.publish` — publish, import and successor records with confirmed objects;
* :mod:`~lakepkg.registry.checks` — metadata checks for ``verify``;
* :mod:`~lakepkg.registry.journals` — lifecycle documents (retention, journals, the redaction lock);
* :mod:`~lakepkg.registry.audit_log` — the hash-chained audit log.
"""
from __future__ import annotations

from lakepkg.registry.audit_log import AuditLog
from lakepkg.registry.checks import MetadataChecks
from lakepkg.registry.journals import LifecycleDocs
from lakepkg.registry.keys import (AUDIT_GENESIS, AUDIT_KEY_RE, JOURNAL_KEY_RE, JOURNAL_PREFIX, LATEST, REDACT_LOCK,
                                   parse_record_key, record_key, retention_key, stamp)
from lakepkg.registry.publish import Publishing
from lakepkg.registry.records import TagInfo, VersionRecord, VersionStub
from lakepkg.registry.refs import RedactedVersionWarning, redaction_notice


class Registry(Publishing, MetadataChecks, LifecycleDocs, AuditLog):
    """Packages over an object store (bytes) and a metadata backend (records, tags)."""


__all__ = ["Registry", "VersionRecord", "VersionStub", "TagInfo", "RedactedVersionWarning", "redaction_notice",
           "LATEST", "AUDIT_GENESIS", "AUDIT_KEY_RE", "JOURNAL_KEY_RE", "JOURNAL_PREFIX", "REDACT_LOCK",
           "parse_record_key", "record_key", "retention_key", "stamp"]
