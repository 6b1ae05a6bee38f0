"""Remote commands: push, pull, install, lock (each calls its :mod:`lakepkg.api` verb)."""
from __future__ import annotations

from typing import List, Optional

import typer

from lakepkg.cli._common import JsonOpt, LockFileOpt, OldRequirementOpt, WorkersOpt, connection_options, renamed
from lakepkg.cli.output import make_output

LocalRegOpt = typer.Option(None, "--registry", "-r", help="Local registry (path); default $LAKEPKG_REGISTRY or $LAKEPKG_HOME/registry.")


def push(
    ref: str = typer.Argument(..., help="Version to push: ns/name, ns/name@<hash>, ns/name:<tag>."),
    to: str = typer.Option(..., "--to", help="Destination registry: s3://bucket/prefix or a path."),
    reg: Optional[str] = typer.Option(None, "--registry", "-r", help="Source registry; default the configured one."),
    as_name: Optional[str] = typer.Option(None, "--as", help="Publish under another package name."),
    tag: List[str] = typer.Option([], "--tag", help="Move this tag on the destination (compare-and-swap). Repeatable."),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Push a version to another registry, sending only the objects it lacks; resumable."""
    import lakepkg

    out = make_output(as_json)
    rep = lakepkg.push(ref, to, registry=reg, as_name=as_name, tags=tuple(tag), workers=workers,
                       show_progress=out.progress, **connection_options())
    out.transfers("pushed", [rep])


def pull(
    ref: str = typer.Argument(..., help="Version to pull: ns/name, ns/name@<hash>, ns/name:<tag>."),
    source: str = typer.Option(..., "--from", help="Source registry: s3://bucket/prefix or a path."),
    reg: Optional[str] = typer.Option(None, "--registry", "-r", help="Destination registry; default the configured local one."),
    as_name: Optional[str] = typer.Option(None, "--as", help="Record under another package name."),
    tag: List[str] = typer.Option([], "--tag", help="Move this tag locally (compare-and-swap). Repeatable."),
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Pull a version from a remote registry into the local one, fetching only missing objects; resumable."""
    import lakepkg

    out = make_output(as_json)
    rep = lakepkg.pull(ref, source, registry=reg, as_name=as_name, tags=tuple(tag), workers=workers,
                       show_progress=out.progress, **connection_options())
    out.transfers("pulled", [rep])


def install(
    ref: Optional[str] = typer.Argument(None, help="Version to install (or use --lock-file LOCKFILE)."),
    lock_file: Optional[str] = LockFileOpt,
    requirement: Optional[str] = OldRequirementOpt,
    source: Optional[str] = typer.Option(None, "--from", help="Registry to install from (s3://bucket/prefix or a path); default: already in the local registry."),
    dest: Optional[str] = typer.Option(None, "--dest", help="Also lay the version out as plain files in this folder (DEST/<ns>/<name>/ with --lock-file)."),
    reg: Optional[str] = LocalRegOpt,
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Install a version (or every version of a lock file) into the local registry, optionally as plain files."""
    import lakepkg

    out = make_output(as_json)
    lock_file = renamed(lock_file, requirement, "--requirement/-R", "--lock-file/-l")
    reps = lakepkg.install(ref, lock_file=lock_file, source=source, dest=dest, registry=reg, workers=workers,
                           show_progress=out.progress, **connection_options())
    out.transfers("installed", reps, many=bool(lock_file))


def lock(
    refs: List[str] = typer.Argument(..., help="References to pin (tags, hash prefixes, times)."),
    reg: Optional[str] = typer.Option(None, "--registry", "-r", help="Registry to resolve in; default the configured one."),
    path: str = typer.Option("lakepkg.lock", "--file", "-f", help="Lock file to write or update."),
    as_json: bool = JsonOpt,
) -> None:
    """Pin package versions by exact top hash in a lock file (install it with `lakepkg install --lock-file`)."""
    import lakepkg

    out = make_output(as_json)
    entries = lakepkg.lock(list(refs), registry=reg, file=path, **connection_options())
    out.locked(path, entries)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    for fn in (push, pull, install, lock):
        app.command(fn.__name__)(fn)
