"""Core commands: build, ls, log, show, cat, diff, tag, verify, gc, demo."""
from __future__ import annotations

import json
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import (GraceOpt, InputOpt, JsonOpt, MessageOpt, PrintRefOpt, RegistryOpt, TagOpt,
                                 registry)
from lakepkg.cli.output import make_output


def build(
    name: str = typer.Argument(..., help="Package name, namespace/name."),
    tables: List[str] = typer.Option([], "--table", "-t", help="TABLE=PATH: a Parquet/CSV file or folder (key=value folders are partitions). Repeatable."),
    files: List[str] = typer.Option([], "--file", "-f", help="KEY=PATH: a plain file (README.md documents the package). Repeatable."),
    message: str = MessageOpt,
    meta: Optional[str] = typer.Option(None, "--meta", help="Package metadata as a JSON object."),
    tag: List[str] = TagOpt,
    full: bool = typer.Option(False, "--full", help="Re-read every file instead of reusing unchanged files (same path, size, mtime) of the latest version."),
    input: List[str] = InputOpt,
    print_: Optional[str] = PrintRefOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build a package version from local files and publish it."""
    from lakepkg.cli.snapshot import _checked_print
    from lakepkg.errors import ConfigError

    out = make_output(as_json)
    _checked_print(print_, out)
    if not tables and not files:
        raise ConfigError("nothing to build: give --table NAME=PATH or --file KEY=PATH")
    try:
        md = json.loads(meta) if meta else {}
    except ValueError as exc:
        raise ConfigError(f"--meta is not valid JSON: {exc}") from None
    if not isinstance(md, dict):
        raise ConfigError(f"--meta must be a JSON object, e.g. '{{\"owner\": \"sales\"}}', not {type(md).__name__} {(meta or '')[:40]}")
    import lakepkg

    specs: dict[str, dict[str, str]] = {"--table": {}, "--file": {}}
    for opt, items, what in (("--table", tables, "NAME=PATH"), ("--file", files, "KEY=PATH")):
        for spec in items:
            key, sep, path = spec.partition("=")
            if not sep:
                raise ConfigError(f"{opt} {spec!r}: use {what}")
            if key in specs[opt]:
                raise ConfigError(f"{opt} {key!r} is given twice; give each its own name")
            specs[opt][key] = path
    res = lakepkg.build(name, tables=specs["--table"], files=specs["--file"], registry=registry(reg), message=message,
                        meta=md, tags=tuple(tag), inputs=list(input) or None, incremental=not full,
                        show_progress=out.progress)
    out.published(res, print_=print_)


def ls(
    prefix: str = typer.Argument("", help="Namespace prefix, e.g. sales/"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List packages with their latest version."""
    import lakepkg

    out = make_output(as_json)
    out.packages([p.to_json() for p in lakepkg.ls(prefix, registry=registry(reg, create=False))])


def log(
    name: str = typer.Argument(..., help="Package name."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the version history of a package, newest first."""
    import lakepkg

    out = make_output(as_json)
    hist = lakepkg.log(name, registry=registry(reg, create=False))
    out.history(list(hist), hist.tag_keys)


def show(
    ref: str = typer.Argument(..., help="ns/name, ns/name@HASH, ns/name:TAG or ns/name@TIME"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show a version: tree, schemas, sizes, row counts, provenance and run record."""
    import lakepkg

    out = make_output(as_json)
    out.version(lakepkg.show(ref, registry=registry(reg, create=False)).to_json())


def cat(
    ref: str = typer.Argument(..., help="ns/name[@ref]/TABLE, ns/name[@ref]/TABLE/FRAGMENT-KEY or a file path inside the package (no version: latest)"),
    rows: int = typer.Option(10, "--limit", "--rows", "-n", min=0, help="Rows to print."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the first rows of a table or fragment (or a plain file's text)."""
    import lakepkg
    from lakepkg.errors import InvalidRefError
    from lakepkg.read.package import File, Fragment, Table
    from lakepkg.read.ref_paths import package_or_path

    out = make_output(as_json)
    r = registry(reg, create=False)
    node = lakepkg.load(package_or_path(ref, r), r)
    if isinstance(node, File):
        out.file_text(node.key, node.size, node.read_bytes())
    elif isinstance(node, Table):
        out.rows(node.head(rows))
    elif isinstance(node, Fragment):
        out.rows(node.to_arrow().slice(0, rows))
    else:
        raise InvalidRefError(f"{ref} names a whole package; add /<table>, e.g. {ref}/{node.tables[0] if node.tables else 'table'}")


def diff(
    old: str = typer.Argument(..., help="Older reference, e.g. sales/orders@3fa2c1"),
    new: str = typer.Argument(None, help="Newer reference (default: the latest version of the same package)"),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit with 1 when the versions differ, 0 when identical (like git diff)."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
    rows: bool = typer.Option(False, "--rows", help="Row-level diff: rows added, removed and changed (by key)"),
    key: Optional[str] = typer.Option(None, "--key", help="Key columns for --rows (default: each table's own key)"),
) -> None:
    """Show what changed between two versions: tables, partitions, fragments, files (--rows: rows)."""
    import lakepkg

    out = make_output(as_json)
    d = lakepkg.diff(old, new, registry(reg, create=False), rows=rows,  # type: ignore[call-overload]
                     key=[k.strip() for k in key.split(",")] if key else None)
    if rows:  # the row-level diff (docs/deltas.md)
        out.row_diff(d)
    else:
        out.diff(d)
    if exit_code and not d.empty:
        raise typer.Exit(1)


def tag(
    name: str = typer.Argument(..., help="Package name."),
    tag_name: str = typer.Argument(..., help="Tag to set, e.g. prod."),
    target: str = typer.Argument("latest", help="Hash prefix or tag the tag should point to."),
    expect: Optional[str] = typer.Option(None, "--expect", help="Only move if the tag now holds this top hash (compare-and-swap); 'none' = tag must not exist."),
    delete: bool = typer.Option(False, "--delete", help="Remove the tag."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Point a tag at a version (compare-and-swap with --expect)."""
    import lakepkg

    out = make_output(as_json)
    res = lakepkg.tag(name, tag_name, target, expect=expect, delete=delete, registry=registry(reg, create=False))
    out.tag(res.package, res.tag, res.top_hash, deleted=res.deleted)


def verify(
    ref: Optional[str] = typer.Argument(None, help="A version or package to check (default: the whole registry)."),
    caches: bool = typer.Option(False, "--caches", help="Also rehash the local row-hash cache files of the versions' "
                                "fragments from the fragments; remove any that do not match."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Re-hash every object versions reference; name missing or corrupt ones with their versions. Exits 1 if any is."""
    import lakepkg
    from lakepkg.progress import progress_bar

    out = make_output(as_json)
    with progress_bar("verifying", enabled=out.progress) as bar:
        rep = lakepkg.verify(ref, registry=registry(reg, create=False), caches=caches, progress=bar)
    out.verify(rep)
    if not rep.ok:
        raise typer.Exit(1)


def gc(
    grace: float = GraceOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be removed."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove objects no version references (older than the grace period)."""
    import lakepkg

    out = make_output(as_json)
    out.gc(lakepkg.gc(grace_hours=grace, dry_run=dry_run, registry=registry(reg, create=False)), dry_run)


def demo(
    folder: str = typer.Option(".lakepkg-demo", "--dir", help="Where the demo writes its data."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the main job end to end on the embedded default registry: build, show, change, rebuild, diff, read."""
    from lakepkg.demo import run_demo

    out = make_output(as_json)
    out.demo(run_demo(folder, echo=out.echoes))  # the console form is narrated step by step as it runs


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    for fn in (build, ls, log, show, cat, diff, tag, verify, gc, demo):
        app.command(fn.__name__)(fn)
