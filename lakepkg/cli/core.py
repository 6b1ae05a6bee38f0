"""Core commands: build, ls, log, show, cat, diff, tag, verify, gc, demo."""
from __future__ import annotations

import json
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, registry, show_progress
from lakepkg.cli.output import make_output


def build(
    name: str = typer.Argument(..., help="Package name, namespace/name."),
    tables: List[str] = typer.Option([], "--table", "-t", help="TABLE=PATH: a Parquet/CSV file or folder (key=value folders are partitions). Repeatable."),
    files: List[str] = typer.Option([], "--file", "-f", help="KEY=PATH: a plain file (README.md documents the package). Repeatable."),
    message: str = typer.Option("", "--message", "-m", help="Version message."),
    meta: Optional[str] = typer.Option(None, "--meta", help="Package metadata as a JSON object."),
    tag: List[str] = typer.Option([], "--tag", help="Also set this tag. Repeatable."),
    full: bool = typer.Option(False, "--full", help="Re-read every file instead of reusing unchanged files (same path, size, mtime) of the latest version."),
    input: List[str] = typer.Option([], "--input", help="A package version the run read (ns/name@hash); recorded in the run record. Repeatable."),
    print_: Optional[str] = typer.Option(None, "--print", help="Print only the version's `ref` or `top_hash` as the last line of stdout (Airflow XCom)."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build a package version from local files and publish it."""
    from lakepkg.cli.snapshot import _checked_print
    from lakepkg.errors import ConfigError

    _checked_print(print_, as_json)

    if not tables and not files:
        raise ConfigError("nothing to build: give --table NAME=PATH or --file KEY=PATH")
    out = make_output(as_json)
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
                        show_progress=show_progress(as_json))
    out.published(res)
    if print_:
        out.data(None, res.ref if print_ == "ref" else res.top_hash)


def ls(
    prefix: str = typer.Argument("", help="Namespace prefix, e.g. sales/"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List packages with their latest version."""
    out = make_output(as_json)
    r = registry(reg, create=False)
    rows = []
    for n in r.list_packages(prefix):
        tags = r.tags(n)
        hist = r.history(n)
        rows.append({"name": n, "latest": tags.get("latest"), "versions": len(hist),
                     "updated": hist[-1].created.isoformat() if hist else None,
                     "tags": sorted(tags)})
    out.packages(rows)


def log(
    name: str = typer.Argument(..., help="Package name."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the version history of a package, newest first."""
    from lakepkg.errors import NotFoundError
    from lakepkg.format.names import validate_package_name

    out = make_output(as_json)
    validate_package_name(name)
    r = registry(reg, create=False)
    recs = list(reversed(r.versions(name)))
    if not recs:
        raise NotFoundError(f"package {name} not found in {r.location}; `lakepkg ls` lists packages")
    out.history(recs, r.tag_versions(name))


def show(
    ref: str = typer.Argument(..., help="ns/name, ns/name@HASH, ns/name:TAG or ns/name@TIME"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show a version: tree, schemas, sizes, row counts, provenance and run record."""
    from lakepkg.format.names import parse_ref
    from lakepkg.read.package import Package

    out = make_output(as_json)
    pr = parse_ref(ref, allow_path=False)
    r = registry(reg, create=False)
    rec = r.resolve(pr)
    pkg = Package(r, rec.top_hash, rec)
    tables = []
    for n in pkg.tables:
        t = pkg.table(n)
        tables.append({"name": n, "hash": t.hash, "rows": t.rows, "bytes": t.node.bytes,
                       "fragments": t.node.fragments, "pages": len(t.node.pages),
                       "partition_columns": t.partition_columns,
                       "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in t.schema],
                       "provenance": t.provenance, "meta": t.meta, "writer": t.node.writer,
                       "source": (rec.sources or {}).get(n)})
    files = [{"key": f.key, "object": f.object, "size": f.size} for f in pkg.files]
    out.version({"package": rec.package, "top_hash": rec.top_hash, "record": rec.to_json(), "meta": pkg.meta,
                 "tables": tables, "files": files})


def cat(
    ref: str = typer.Argument(..., help="ns/name[@ref]/TABLE, ns/name[@ref]/TABLE/FRAGMENT-KEY or a file path inside the package (no version: latest)"),
    rows: int = typer.Option(10, "--limit", "--rows", "-n", min=0, help="Rows to print."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the first rows of a table or fragment (or a plain file's text)."""
    from lakepkg.errors import InvalidRefError
    from lakepkg.read.package import File, Fragment, Table, load
    from lakepkg.read.ref_paths import package_or_path

    out = make_output(as_json)
    r = registry(reg, create=False)
    node = load(package_or_path(ref, r), r)
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
    from lakepkg.format.names import parse_ref
    from lakepkg.read.diff import diff_packages
    from lakepkg.read.package import Package, load

    out = make_output(as_json)
    old_ref = parse_ref(old, allow_path=False)
    if new is not None:
        parse_ref(new, allow_path=False)
    r = registry(reg, create=False)
    a, b = load(old, r, kind=Package), load(new or old_ref.name, r, kind=Package)
    if rows:  # the row-level diff (docs/deltas.md)
        from lakepkg.cli.rows import print_row_diff

        rd = a.diff(b, rows=True, key=[k.strip() for k in key.split(",")] if key else None)
        print_row_diff(rd, as_json)
        if exit_code and not rd.empty:
            raise typer.Exit(1)
        return
    d = diff_packages(a, b)
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
    from lakepkg.errors import InvalidRefError
    from lakepkg.format.names import HASH_PREFIX_RE, parse_ref, validate_package_name, validate_tag

    out = make_output(as_json)
    validate_package_name(name)
    validate_tag(tag_name)
    if not (HASH_PREFIX_RE.fullmatch(target) or _is_tag(target)):
        raise InvalidRefError(f"invalid target {target!r}: give a hash prefix (4+ hex digits) or a tag of {name}")
    r = registry(reg, create=False)
    if delete:
        r.delete_tag(name, tag_name)
        out.tag(name, tag_name, None, deleted=True)
        return
    expected: Optional[str] = "*"
    if expect is not None:
        expected = None if expect == "none" else r.resolve(parse_ref(f"{name}@{expect}", allow_path=False)).top_hash
    rec = r.set_tag(name, tag_name, target, expected=expected)
    out.tag(name, tag_name, rec.top_hash)


def _is_tag(text: str) -> bool:
    from lakepkg.errors import InvalidNameError
    from lakepkg.format.names import validate_tag

    try:
        validate_tag(text)
        return True
    except InvalidNameError:
        return False


def verify(
    ref: Optional[str] = typer.Argument(None, help="A version or package to check (default: the whole registry)."),
    caches: bool = typer.Option(False, "--caches", help="Also rehash the local row-hash cache files of the versions' "
                                "fragments from the fragments; remove any that do not match."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Re-hash every object versions reference; name missing or corrupt ones with their versions. Exits 1 if any is."""
    from lakepkg.errors import NotFoundError
    from lakepkg.format.names import parse_ref
    from lakepkg.maintain.verify import verify_registry
    from lakepkg.progress import progress_bar

    out = make_output(as_json)
    pr = parse_ref(ref, allow_path=False) if ref else None
    r = registry(reg, create=False)
    recs = None
    if pr is not None:
        recs = [r.resolve(pr)] if (pr.hash_prefix or pr.at or "@" in ref or ":" in ref) else r.versions(pr.name)  # type: ignore[operator]
        if not recs:
            raise NotFoundError(f"package {pr.name} not found in {r.location}; `lakepkg ls` lists packages")
    with progress_bar("verifying", enabled=show_progress(as_json)) as bar:
        rep = verify_registry(r, recs, progress=bar, caches=caches)
    out.verify(rep)
    if not rep.ok:
        raise typer.Exit(1)


def gc(
    grace: float = typer.Option(24.0, "--grace-hours", help="Keep unreferenced objects younger than this (an in-flight publish is never collected)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be removed."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove objects no version references (older than the grace period)."""
    import math

    from lakepkg.errors import ConfigError
    from lakepkg.maintain.gc import collect_garbage

    out = make_output(as_json)
    if not math.isfinite(grace) or grace < 0:
        raise ConfigError(f"--grace-hours {grace}: give a finite number of hours, 0 or more")
    rep = collect_garbage(registry(reg, create=False), grace_seconds=grace * 3600, dry_run=dry_run)
    out.gc(rep, dry_run)


def demo(
    folder: str = typer.Option(".lakepkg-demo", "--dir", help="Where the demo writes its data."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the main job end to end on the embedded default registry: build, show, change, rebuild, diff, read."""
    from lakepkg.demo import run_demo

    out = make_output(as_json)
    result = run_demo(folder, echo=not as_json)
    if as_json:  # the console form was printed step by step by the demo itself
        out.data(result)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    for fn in (build, ls, log, show, cat, diff, tag, verify, gc, demo):
        app.command(fn.__name__)(fn)
