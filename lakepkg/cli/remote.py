"""Remote commands: push, pull, install, lock (a thin layer over lakepkg.maintain.transfer and lakepkg.maintain.lockfile)."""
from __future__ import annotations

from typing import List, Optional

import typer

from lakepkg.cli._common import JsonOpt, connection_options, show_progress
from lakepkg.cli.output import make_output

WorkersOpt = typer.Option(8, "--workers", "-j", min=1, max=64, help="Objects transferred in parallel.")
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
    from lakepkg.maintain.transfer import push as do_push

    out = make_output(as_json)
    rep = do_push(ref, to, registry=reg, as_name=as_name, tags=tuple(tag), workers=workers,
                  show_progress=show_progress(as_json), **connection_options())
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
    from lakepkg.maintain.transfer import pull as do_pull

    out = make_output(as_json)
    rep = do_pull(ref, source, registry=reg, as_name=as_name, tags=tuple(tag), workers=workers,
                  show_progress=show_progress(as_json), **connection_options())
    out.transfers("pulled", [rep])


def install(
    ref: Optional[str] = typer.Argument(None, help="Version to install (or use --requirement LOCKFILE)."),
    requirement: Optional[str] = typer.Option(None, "--requirement", "-R", help="Install every version pinned in this lock file (lakepkg.lock)."),
    source: Optional[str] = typer.Option(None, "--from", help="Registry to install from (s3://bucket/prefix or a path); default: already in the local registry."),
    dest: Optional[str] = typer.Option(None, "--dest", help="Also lay the version out as plain files in this folder (DEST/<ns>/<name>/ with -R)."),
    reg: Optional[str] = LocalRegOpt,
    workers: int = WorkersOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Install a version (or every version of a lock file) into the local registry, optionally as plain files."""
    from lakepkg.errors import ConfigError
    from lakepkg.maintain.lockfile import install_lockfile
    from lakepkg.maintain.transfer import install as do_install

    out = make_output(as_json)
    opts = connection_options()
    if requirement and ref:
        raise ConfigError("give either a package reference or --requirement LOCKFILE, not both")
    if not requirement and not ref:
        if reg and reg.endswith(".lock"):
            raise ConfigError(f"-r is --registry; to install a lock file use --requirement/-R {reg}")
        raise ConfigError("nothing to install: give ns/name[@hash] or --requirement lakepkg.lock")
    if requirement:
        reps = install_lockfile(requirement, source=source, registry=reg, dest=dest, workers=workers,
                                show_progress=show_progress(as_json), **opts)
    else:
        reps = [do_install(ref, source, registry=reg, dest=dest, workers=workers,  # type: ignore[arg-type]
                           show_progress=show_progress(as_json), **opts)]
    out.transfers("installed", reps, many=bool(requirement))


def lock(
    refs: List[str] = typer.Argument(..., help="References to pin (tags, hash prefixes, times)."),
    reg: Optional[str] = typer.Option(None, "--registry", "-r", help="Registry to resolve in; default the configured one."),
    path: str = typer.Option("lakepkg.lock", "--file", "-f", help="Lock file to write or update."),
    as_json: bool = JsonOpt,
) -> None:
    """Pin package versions by exact top hash in a lock file (install it with `lakepkg install --requirement`)."""
    from lakepkg.maintain.lockfile import lock as do_lock

    out = make_output(as_json)
    entries = do_lock(list(refs), reg, path, **connection_options())
    out.locked(path, entries)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    for fn in (push, pull, install, lock):
        app.command(fn.__name__)(fn)
