"""Governance of versions and rows: remove versions, retention, where-used, redaction, the audit log
(named `lakepkg.lifecycle` before 0.2, an alias kept for one release).

    from lakepkg import governance
    governance.rm("sales/orders@3fa2c1", reason="bad load")
    governance.set_policy("sales/orders", keep_last=30, keep_tagged=True)
    governance.apply_retention(apply=True)
    governance.where_used(table="orders", where="customer_id = 42")
    governance.redact("orders", "customer_id = 42", reason="GDPR #17", all_packages=True)
    governance.check_log()

Every removal, retention run and redaction is written to the registry's hash-chained audit log
(:mod:`lakepkg.governance.audit`). docs/lifecycle.md describes the guarantees.
"""
from __future__ import annotations


from lakepkg.governance.audit import AuditReport
from lakepkg.governance.audit import check_log as _check_log
from lakepkg.governance.redact import RedactReport, redact, resume
from lakepkg.governance.remove import RemoveReport, rm
from lakepkg.governance.retention import (RetentionPlan, RetentionPolicy, RetentionReport, apply_retention,
                                         get_policy, set_policy)
from lakepkg.governance.where_used import UsageReport, where_used
from lakepkg.registry import Registry


def check_log(registry: "Registry | str | None" = None) -> AuditReport:
    """Read the registry's audit log and check its hash chain."""
    from lakepkg.governance.remove import open_reg

    return _check_log(open_reg(registry))


__all__ = ["rm", "redact", "resume", "where_used", "set_policy", "get_policy", "apply_retention", "check_log",
           "RemoveReport", "RedactReport", "UsageReport", "RetentionPolicy", "RetentionPlan", "RetentionReport",
           "AuditReport"]
