"""Lifecycle commands: rm, retain, where-used, redact, audit (each calls its :mod:`lakepkg.api` verb)."""
from __future__ import annotations

import sys
import warnings
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, PackagesOpt, ReasonOpt, RegistryOpt, registry
from lakepkg.cli.output import make_output


def rm(
    ref: str = typer.Argument(..., help="The version to remove: NAME@HASH, NAME:TAG or NAME@TIME."),
    reason: Optional[str] = ReasonOpt,
    force: bool = typer.Option(False, "--force", help="Also delete tags (other than latest) that name the version."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove a version from its package's history (then `lakepkg gc` frees its objects)."""
    import lakepkg

    out = make_output(as_json)
    out.removed(lakepkg.rm(ref, reason=reason, force=force, registry=registry(reg, create=False)))


def retain(
    name: Optional[str] = typer.Argument(None, help="Package (default with --apply or a dry run: every package with a policy)."),
    keep_last: Optional[int] = typer.Option(None, "--keep-last", help="Keep the last N versions."),
    keep_days: Optional[float] = typer.Option(None, "--keep-days", help="Keep versions younger than D days."),
    keep_tagged: bool = typer.Option(False, "--keep-tagged", help="Keep every version a tag names."),
    keep_lock: List[str] = typer.Option([], "--keep-lock", help="Keep versions this lock file pins. Repeatable."),
    apply: bool = typer.Option(False, "--apply", help="Remove the versions the policy does not keep (default: dry run)."),
    force: bool = typer.Option(False, "--force", help="Allow a policy that removes every version of a package."),
    grace: float = typer.Option(24.0, "--grace-hours", help="gc grace period after --apply."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Set a package's retention policy, or show (dry run) / --apply what the policies remove."""
    import lakepkg

    out = make_output(as_json)
    out.retained(lakepkg.retain(name, keep_last=keep_last, keep_days=keep_days, keep_tagged=keep_tagged,
                                keep_locks=tuple(keep_lock), apply=apply, force=force, grace_hours=grace,
                                registry=registry(reg, create=False)))


def where_used(
    digest: Optional[str] = typer.Argument(None, help="An object hash (6+ hex digits): root, table node, page, fragment or file."),
    source: Optional[str] = typer.Option(None, "--source", help="A source file path (or folder) a snapshot read."),
    table: Optional[str] = typer.Option(None, "--table", help="Table whose rows to look for (with --where)."),
    where: Optional[str] = typer.Option(None, "--where", help="SQL predicate, e.g. \"customer_id = 42\"."),
    package: List[str] = PackagesOpt,
    all_: bool = typer.Option(False, "--all", help="Every package (the default)."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every package version and tag holding an object, a source file, or rows."""
    import lakepkg

    out = make_output(as_json)
    out.usage(lakepkg.where_used(digest, source=source, table=table, where=where,
                                 packages=None if all_ else list(package) or None,
                                 registry=registry(reg, create=False)), rows=bool(table))


def redact(
    table: Optional[str] = typer.Option(None, "--table", help="The table whose rows to remove."),
    where: Optional[str] = typer.Option(None, "--where", help="SQL predicate of the rows to remove, e.g. \"customer_id = 42\"."),
    package: List[str] = typer.Option([], "--package", "-p", help="Redact this package. Repeatable."),
    all_: bool = typer.Option(False, "--all", help="Redact every package of the registry."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (recorded in the audit log and shown on old references). Required."),
    resume_only: bool = typer.Option(False, "--resume", help="Only finish redactions a crash interrupted."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove matching rows from every version holding them; old references resolve to the successors."""
    import lakepkg

    out = make_output(as_json)
    out.redacted(lakepkg.redact(table, where, reason=reason, packages=list(package) or None, all_packages=all_,
                                resume=resume_only, registry=registry(reg, create=False)), resume_only)


def audit(
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the audit log (removals, retention runs, redactions) and check its hash chain."""
    import lakepkg

    out = make_output(as_json)
    rep = lakepkg.audit(registry=registry(reg, create=False))
    out.audit_log(rep)
    if not rep.ok:
        from lakepkg.errors import IntegrityError

        raise IntegrityError(f"the audit log is broken: {rep.problems[0]}")


def _show_redaction_notices() -> None:
    """Print a redacted reference's notice as one line on stderr (``lakepkg: notice: …``)."""
    from lakepkg.registry.core import RedactedVersionWarning

    previous = warnings.showwarning

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if isinstance(category, type) and issubclass(category, RedactedVersionWarning):
            print(f"lakepkg: notice: {message}", file=sys.stderr)
            return
        previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    _show_redaction_notices()
    app.command("rm")(rm)
    app.command("retain")(retain)
    app.command("where-used")(where_used)
    app.command("redact")(redact)
    app.command("audit")(audit)
