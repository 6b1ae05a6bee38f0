"""Lifecycle and privacy: remove versions, retention, where-used, redaction, and the audit log.

    from lakepkg import lifecycle
    lifecycle.rm("sales/orders@3fa2c1", reason="bad load")
    lifecycle.set_policy("sales/orders", keep_last=30, keep_tagged=True)
    lifecycle.apply_retention(apply=True)
    lifecycle.where_used(table="orders", where="customer_id = 42")
    lifecycle.redact("orders", "customer_id = 42", reason="GDPR #17", all_packages=True)
    lifecycle.check_log()

Every removal, retention run and redaction is written to the registry's hash-chained audit log
(:mod:`lakepkg.lifecycle.audit`). docs/lifecycle.md describes the guarantees.
"""
from __future__ import annotations


from lakepkg.lifecycle.audit import AuditReport
from lakepkg.lifecycle.audit import check_log as _check_log
from lakepkg.lifecycle.redact import RedactReport, redact, resume
from lakepkg.lifecycle.remove import RemoveReport, rm
from lakepkg.lifecycle.retention import (RetentionPlan, RetentionPolicy, RetentionReport, apply_retention,
                                         get_policy, set_policy)
from lakepkg.lifecycle.where_used import UsageReport, where_used
from lakepkg.registry import Registry


def check_log(registry: "Registry | str | None" = None) -> AuditReport:
    """Read the registry's audit log and check its hash chain."""
    from lakepkg.lifecycle.remove import open_reg

    return _check_log(open_reg(registry))


__all__ = ["rm", "redact", "resume", "where_used", "set_policy", "get_policy", "apply_retention", "check_log",
           "RemoveReport", "RedactReport", "UsageReport", "RetentionPolicy", "RetentionPlan", "RetentionReport",
           "AuditReport", "Optional"]
