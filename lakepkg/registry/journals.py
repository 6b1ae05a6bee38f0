"""Lifecycle documents (retention policies, redaction journals and their lock, audit entries): read,
created once or swapped on a token, only under the keys :mod:`lakepkg.registry.keys` allows; and the
records a committed, unfinished redaction is about to publish."""
from __future__ import annotations

from typing import Any, Iterator, Optional

from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.registry.base import RegistryBase
from lakepkg.registry.keys import JOURNAL_PREFIX, check_lifecycle_key, is_journal_key, is_lifecycle_key
from lakepkg.registry.records import VersionRecord


class LifecycleDocs(RegistryBase):
    """Documents of the lifecycle layer (:mod:`lakepkg.governance`)."""

    def read_doc(self, key: str) -> Optional[tuple[dict[str, Any], str]]:
        """A lifecycle document (retention policy, journal, audit entry) and its token, or None."""
        check_lifecycle_key(key)
        got = self.meta.read(key)
        if got is None:
            return None
        return load_json(got[0], key), got[1]

    def write_doc(self, key: str, doc: dict[str, Any], token: Optional[str] = None, *, create: bool = False) -> bool:
        """Write a lifecycle document: create-if-absent (``create``), else compare-and-swap on ``token``
        (``None``: only if absent)."""
        check_lifecycle_key(key)
        data = canonical_json(doc)
        return self.meta.create(key, data) if create else self.meta.replace(key, data, token)

    def delete_doc(self, key: str) -> None:
        check_lifecycle_key(key)
        self.meta.delete(key)

    def list_docs(self, prefix: str) -> list[str]:
        """Keys of lifecycle documents under ``prefix`` (``journal/``, ``audit/``), in order."""
        return [k for k in self.meta.list(prefix) if is_lifecycle_key(k)]

    def pending_records(self) -> Iterator[VersionRecord]:
        """Version records a committed, unfinished redaction (``journal/``) is about to publish: gc keeps
        their objects however old they are, so a re-run of the redaction finds them all."""
        for key in self.list_docs(JOURNAL_PREFIX):
            if not is_journal_key(key):
                continue
            got = self.read_doc(key)
            for v in (got[0].get("versions") or []) if got else []:
                if isinstance(v, dict) and isinstance(v.get("record"), dict):
                    yield VersionRecord.from_json(v["record"], key=str(v.get("successor_key", "")))

