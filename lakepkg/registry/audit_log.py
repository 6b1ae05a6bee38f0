"""The audit log: an append-only, hash-chained list of entries (``audit/<seq>.json``, each naming the
SHA-256 of the one before) and ``audit/head.json``; the chain is checked by :mod:`lakepkg.governance.audit`."""
from __future__ import annotations

import hashlib
import time
from typing import Any, Iterator, Optional

from lakepkg.errors import ConcurrentUpdateError
from lakepkg.format.canonical import canonical_json, load_json
from lakepkg.registry.base import RegistryBase
from lakepkg.registry.keys import AUDIT_GENESIS, AUDIT_HEAD, AUDIT_PREFIX, audit_key, audit_seq


class AuditLog(RegistryBase):
    """Appending to and reading the audit log."""

    def append_audit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append ``entry`` to the hash-chained audit log: it gets ``seq`` (1, 2, …) and ``prev`` (the
        SHA-256 of the previous entry's bytes), is created once under ``audit/<seq>.json``, and
        ``audit/head.json`` is moved forward. Two writers racing both land, one after the other."""
        for i in range(200):
            keys = self.audit_keys()
            if keys:
                last = self.meta.read(keys[-1])
                if last is None:
                    continue
                seq = (audit_seq(keys[-1]) or 0) + 1
                prev = hashlib.sha256(last[0]).hexdigest()
            else:
                seq, prev = 1, AUDIT_GENESIS
            doc = {**entry, "seq": seq, "prev": prev}
            data = canonical_json(doc)
            if self.meta.create(audit_key(seq), data):
                self._advance_audit_head(seq, hashlib.sha256(data).hexdigest())
                return doc
            time.sleep(min(0.001 * (2 ** min(i, 8)), 0.2))
        raise ConcurrentUpdateError("could not append to the audit log after 200 attempts; re-run")

    def _advance_audit_head(self, seq: int, digest: str) -> None:
        for _ in range(200):
            cur = self.meta.read(AUDIT_HEAD)
            if cur is not None and int(load_json(cur[0], AUDIT_HEAD).get("seq", 0)) >= seq:
                return
            if self.meta.replace(AUDIT_HEAD, canonical_json({"seq": seq, "hash": digest}), cur[1] if cur else None):
                return

    def audit_keys(self) -> list[str]:
        """Keys of the audit log's entries, oldest first."""
        return [k for k in self.meta.list(AUDIT_PREFIX) if audit_seq(k) is not None]

    def audit_raw(self) -> Iterator[tuple[str, bytes]]:
        """(key, bytes) of every audit entry, oldest first (the chain is checked by lakepkg.governance.audit)."""
        for k in self.audit_keys():
            got = self.meta.read(k)
            if got is not None:
                yield k, got[0]

    def audit_head(self) -> Optional[dict[str, Any]]:
        got = self.meta.read(AUDIT_HEAD)
        return load_json(got[0], AUDIT_HEAD) if got else None
