"""The audit log: an append-only, hash-chained record of every removal, retention run and redaction.

Entries live in the registry under ``audit/<seq>.json`` (docs/format.md, "Registry"): each holds
``seq`` (1, 2, …), ``prev`` (the SHA-256 of the previous entry's bytes; 64 zeros for the first),
``at``, ``who``, ``action``, ``reason``, the ``versions`` and ``objects`` concerned and, for a
redaction, the ``predicate`` hash and row counts — never a removed value. ``audit/head.json``
names the newest entry, so dropping the tail of the log is detected too.

:func:`check_log` re-reads the chain and names the first entry that breaks it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

from lakepkg.registry import Registry
from lakepkg.registry.keys import AUDIT_GENESIS, audit_seq

ACTIONS = ("rm", "retain", "retention-policy", "redact")


def record_event(registry: Registry, action: str, *, reason: str, who: Optional[str] = None,
                 versions: Optional[list[dict[str, Any]]] = None, objects: Optional[list[str]] = None,
                 **details: Any) -> dict[str, Any]:
    """Append one entry to ``registry``'s audit log and return it (with ``seq`` and ``prev``)."""
    from lakepkg.config import author

    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = {"action": action, "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
             "who": who or author(), "reason": reason, "versions": versions or [],
             "objects": sorted(set(objects or [])), **details}
    return registry.append_audit(entry)


@dataclass
class AuditReport:
    """The log as read back, and whether its chain holds."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "problems": self.problems}


def check_log(registry: Registry) -> AuditReport:
    """Read every entry and check the chain: consecutive ``seq``, each ``prev`` the hash of the
    entry before, the key naming the entry's ``seq``, and ``audit/head.json`` not past the end."""
    rep = AuditReport()
    prev_hash, expect = AUDIT_GENESIS, 1
    last_hash: dict[int, str] = {}
    for key, data in registry.audit_raw():
        seq = audit_seq(key) or 0  # audit_raw lists only entry keys
        try:
            doc = json.loads(data)
        except ValueError:
            rep.problems.append(f"audit entry {seq} ({key}) is not JSON: it was altered")
            prev_hash, expect = hashlib.sha256(data).hexdigest(), seq + 1
            continue
        if seq != expect:
            rep.problems.append(f"audit entries {expect}..{seq - 1} are missing: the log was cut")
        if doc.get("seq") != seq:
            rep.problems.append(f"audit entry {key} says seq {doc.get('seq')}: it was altered or moved")
        if doc.get("prev") != prev_hash and seq == expect:
            rep.problems.append(f"audit entry {seq} does not chain to entry {seq - 1} (prev hash differs): "
                                f"entry {seq - 1} or {seq} was altered")
        rep.entries.append(doc)
        h = hashlib.sha256(data).hexdigest()
        last_hash[seq] = h
        prev_hash, expect = h, seq + 1
    head = registry.audit_head()
    if head is not None:
        hs = int(head.get("seq", 0))
        if hs >= expect:
            rep.problems.append(f"the audit head names entry {hs} but the log ends at {expect - 1}: entries were removed")
        elif hs in last_hash and last_hash[hs] != head.get("hash"):
            rep.problems.append(f"audit entry {hs} differs from what the head recorded: it was altered")
    elif len(rep.entries) > 1:  # (one entry and no head: a crash between the two writes)
        rep.problems.append("audit/head.json is missing: the log's head was removed")
    return rep
