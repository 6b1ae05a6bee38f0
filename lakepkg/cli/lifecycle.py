"""Lifecycle commands: rm, retain, where-used, redact, audit (a thin layer over lakepkg.lifecycle)."""
from __future__ import annotations

import sys
import warnings
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, registry
from lakepkg.sizes import human_bytes
from lakepkg.cli.output import make_output


def _need_reason(reason: Optional[str], what: str) -> str:
    from lakepkg.errors import ConfigError

    if not reason or not reason.strip():
        raise ConfigError(f"{what} needs --reason TEXT (it goes into the audit log)")
    return reason


def rm(
    ref: str = typer.Argument(..., help="The version to remove: NAME@HASH, NAME:TAG or NAME@TIME."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (recorded in the audit log). Required."),
    force: bool = typer.Option(False, "--force", help="Also delete tags (other than latest) that name the version."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove a version from its package's history (then `lakepkg gc` frees its objects)."""
    from lakepkg.lifecycle import rm as _rm

    rep = _rm(ref, reason=_need_reason(reason, "rm"), force=force, registry=registry(reg, create=False))
    lines = [rep.headline()] + [f"  deleted tag {t}" for t in rep.tags_deleted]
    lines += [f"  {n}:latest -> {h[:10] if h else 'none (no versions left)'}" for n, h in rep.latest.items()]
    make_output(as_json).data(rep.to_json(), "\n".join(lines))


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
    from lakepkg.errors import ConfigError
    from lakepkg.lifecycle import apply_retention, set_policy

    rules = keep_last is not None or keep_days is not None or keep_tagged or keep_lock
    out: dict[str, Any] = {}
    lines: list[str] = []
    if rules:
        if not name:
            raise ConfigError("give the package the policy is for: lakepkg retain NAME --keep-last N …")
        plan = set_policy(name, keep_last=keep_last, keep_days=keep_days, keep_tagged=keep_tagged,
                          keep_locks=tuple(keep_lock), force=force, registry=registry(reg, create=False))
        out["policy"] = plan.policy.to_json()
        lines.append(f"{name}: retention policy set ({plan.policy.describe()}); "
                     f"it keeps {len(plan.keep)} versions and removes {len(plan.remove)} when applied")
        if not apply:
            make_output(as_json).data({**out, "plan": plan.to_json()}, "\n".join(lines))
            return
    rep = apply_retention([name] if name else None, apply=apply, force=force, registry=registry(reg, create=False),
                          grace_seconds=grace * 3600)
    verb = "would remove" if rep.dry_run else "removed"
    for p in rep.plans:
        lines.append(f"{p.package} ({p.policy.describe()}): keeps {len(p.keep)}, {verb} {len(p.remove)}")
        lines += [f"  - {r.top_hash[:10]}  {r.created_at}  {r.message}" for r in p.remove]
    if not rep.plans:
        lines.append("no package has a retention policy; set one with `lakepkg retain NAME --keep-last N`")
    else:
        lines.append(rep.objects_line(human_bytes))
    make_output(as_json).data({**out, **rep.to_json()}, "\n".join(lines))


def where_used(
    digest: Optional[str] = typer.Argument(None, help="An object hash (6+ hex digits): root, table node, page, fragment or file."),
    source: Optional[str] = typer.Option(None, "--source", help="A source file path (or folder) a snapshot read."),
    table: Optional[str] = typer.Option(None, "--table", help="Table whose rows to look for (with --where)."),
    where: Optional[str] = typer.Option(None, "--where", help="SQL predicate, e.g. \"customer_id = 42\"."),
    package: List[str] = typer.Option([], "--package", "-p", help="Only this package. Repeatable."),
    all_: bool = typer.Option(False, "--all", help="Every package (the default)."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every package version and tag holding an object, a source file, or rows."""
    from lakepkg.lifecycle import where_used as _wu

    rep = _wu(digest=digest, source=source, table=table, where=where, packages=None if all_ else list(package) or None,
              registry=registry(reg, create=False))
    lines = []
    for v in rep.versions:
        tags = f" ({', '.join(v.tags)})" if v.tags else ""
        if table:
            lines.append(f"{v.package}@{v.top_hash[:10]}{tags}  {v.created_at}  {v.rows} rows in {len(v.hits)} fragments")
            continue
        lines.append(f"{v.package}@{v.top_hash[:10]}{tags}  {v.created_at}")
        for h in v.hits:
            lines.append(f"  {h['role']}" + (f" {h['table']}" if h.get("table") else "") + (f"/{h['key']}" if h.get("key") else "")
                         + f"  {h['object'][:12]}")
    lines += [f"{r['package']}@{r['top_hash'][:10]} was redacted on {str(r['redacted_at'])[:10]}: {r['reason']}; "
              f"its successor is {r['package']}@{str(r['successor'])[:10]}" for r in rep.redacted]
    extra = f"; {rep.fragments_read} of {rep.fragments_considered} fragments read" if table else ""
    lines.append(f"{len(rep.versions)} of {rep.versions_searched} versions in {len(rep.packages)} packages{extra}")
    make_output(as_json).data(rep.to_json(), "\n".join(lines))


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
    from lakepkg.errors import ConfigError
    from lakepkg.lifecycle import redact as _redact, resume

    if resume_only:
        rep = resume(registry(reg, create=False))
    else:
        if not table or not where:
            raise ConfigError("redact needs --table T and --where PREDICATE (or --resume)")
        rep = _redact(table, where, reason=_need_reason(reason, "redact"), packages=list(package) or None,
                      all_packages=all_, registry=registry(reg, create=False))
    lines = [f"finished the interrupted redaction {j}" for j in rep.resumed]
    if resume_only and not rep.resumed:
        lines.append("no interrupted redaction to finish")
    lines += [f"{v['package']}@{v['old'][:10]} -> @{v['new'][:10]}  -{v['rows_removed']} rows "
              f"({v['fragments_rewritten']} fragments rewritten, {v['fragments_dropped']} dropped)" for v in rep.versions]
    if rep.versions and not resume_only:
        lines.append(rep.headline())
    lines += [f"warning: {p}" for p in rep.problems]
    make_output(as_json).data(rep.to_json(), "\n".join(lines))


def audit(
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the audit log (removals, retention runs, redactions) and check its hash chain."""
    from lakepkg.lifecycle import check_log

    rep = check_log(registry(reg, create=False))
    lines = []
    for e in rep.entries:
        vs = ", ".join(f"{v['package']}@{str(v.get('top_hash', ''))[:10]}".rstrip("@") for v in e.get("versions", [])[:4])
        more = f" +{len(e['versions']) - 4}" if len(e.get("versions", [])) > 4 else ""
        lines.append(f"{e.get('seq'):>5} {str(e.get('at', ''))[:19]}  {e.get('who', '')}  {e.get('action', '')}  {vs}{more}"
                     f"  {len(e.get('objects', []))} objects  {e.get('reason', '')}")
    lines += [f"broken: {p}" for p in rep.problems]
    lines.append(f"{len(rep.entries)} entries; " + ("chain ok" if rep.ok else "CHAIN BROKEN"))
    make_output(as_json).data(rep.to_json(), "\n".join(lines))
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
