"""Core commands: build, ls, log, show, cat, diff, tag, verify, gc, demo."""
from __future__ import annotations

import json
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json, human_bytes, registry, show_progress


def _record_json(rec: Any, tags: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """A version record as JSON; ``tags``: tag → version record key (``Registry.tag_versions``)."""
    d = rec.to_json()
    if tags is not None:
        d["tags"] = sorted(t for t, key in tags.items() if key == rec.key)
    return d


def build(
    name: str = typer.Argument(..., help="Package name, namespace/name."),
    tables: List[str] = typer.Option([], "--table", "-t", help="TABLE=PATH: a Parquet/CSV file or folder (key=value folders are partitions). Repeatable."),
    files: List[str] = typer.Option([], "--file", "-f", help="KEY=PATH: a plain file (README.md documents the package). Repeatable."),
    message: str = typer.Option("", "--message", "-m", help="Version message."),
    meta: Optional[str] = typer.Option(None, "--meta", help="Package metadata as a JSON object."),
    tag: List[str] = typer.Option([], "--tag", help="Also set this tag. Repeatable."),
    full: bool = typer.Option(False, "--full", help="Re-read every file instead of reusing unchanged files (same path, size, mtime) of the latest version."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build a package version from local files and publish it."""
    from lakepkg.write.build import PackageBuilder
    from lakepkg.errors import ConfigError

    if not tables and not files:
        raise ConfigError("nothing to build: give --table NAME=PATH or --file KEY=PATH")
    try:
        md = json.loads(meta) if meta else {}
    except ValueError as exc:
        raise ConfigError(f"--meta is not valid JSON: {exc}") from None
    from lakepkg.format.names import validate_package_name
    from lakepkg.write.snapshotting import previous_version

    validate_package_name(name)
    b = PackageBuilder(registry(reg), meta=md, show_progress=show_progress(as_json))
    prev = None if full else previous_version(b.registry, name)
    for spec in tables:
        tname, sep, path = spec.partition("=")
        if not sep:
            raise ConfigError(f"--table {spec!r}: use NAME=PATH")
        b.add_path(tname, path, previous=prev)
    for spec in files:
        key, sep, path = spec.partition("=")
        if not sep:
            raise ConfigError(f"--file {spec!r}: use KEY=PATH")
        b.add_file(key, path)
    built = b.build()
    from lakepkg.config import author
    from lakepkg.write.run_context import collect

    rec, created = b.registry.publish(name, built.top_hash, message=message, author=author(), run=collect(),
                                      sources=built.sources, tags=tuple(tag))
    if as_json:
        emit_json({**rec.to_json(), "created": created, "stats": built.stats})
    else:
        verb = "published" if created else "unchanged (same top hash as latest)"
        console().print(f"{name}@{rec.top_hash[:10]} {verb}  top hash {rec.top_hash}")


def ls(
    prefix: str = typer.Argument("", help="Namespace prefix, e.g. sales/"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List packages with their latest version."""
    r = registry(reg)
    rows = []
    for n in r.list_packages(prefix):
        tags = r.tags(n)
        hist = r.history(n)
        rows.append({"name": n, "latest": tags.get("latest"), "versions": len(hist),
                     "updated": hist[-1].created.isoformat() if hist else None,
                     "tags": sorted(tags)})
    if as_json:
        emit_json(rows)
        return
    from rich.table import Table

    t = Table("package", "latest", "versions", "updated", "tags", box=None)
    for row in rows:
        t.add_row(row["name"], (row["latest"] or "")[:10], str(row["versions"]), row["updated"] or "", ",".join(row["tags"]))
    console().print(t)


def log(
    name: str = typer.Argument(..., help="Package name."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show the version history of a package, newest first."""
    r = registry(reg)
    from lakepkg.format.names import validate_package_name
    from lakepkg.errors import NotFoundError

    validate_package_name(name)
    recs = list(reversed(r.versions(name)))
    if not recs:
        raise NotFoundError(f"package {name} not found in {r.location}; `lakepkg ls` lists packages")
    tags = r.tag_versions(name)
    if as_json:
        emit_json([_record_json(x, tags) for x in recs])
        return
    c = console()
    for x in recs:
        t = [k for k, key in tags.items() if key == x.key]
        c.print(f"[yellow]{x.top_hash[:10]}[/yellow] {x.created_at}  {x.author}  {x.message}" + (f"  ({', '.join(sorted(t))})" if t else ""))


def show(
    ref: str = typer.Argument(..., help="ns/name, ns/name@HASH, ns/name:TAG or ns/name@TIME"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show a version: tree, schemas, sizes, row counts, provenance and run record."""
    from lakepkg.read.package import Package
    from lakepkg.format.names import parse_ref

    r = registry(reg)
    pr = parse_ref(ref)
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
    data = {"package": rec.package, "top_hash": rec.top_hash, "record": rec.to_json(), "meta": pkg.meta,
            "tables": tables, "files": files}
    if as_json:
        emit_json(data)
        return
    from rich.tree import Tree

    c = console()
    tree = Tree(f"[bold]{rec.package}[/bold]@{rec.top_hash[:10]}  {rec.created_at}  {rec.author}  {rec.message}")
    for t in tables:
        node = tree.add(f"[cyan]{t['name']}[/cyan]  {t['rows']:,} rows  {t['fragments']:,} fragments  {human_bytes(t['bytes'])}"
                        + (f"  partitioned by {', '.join(t['partition_columns'])}" if t["partition_columns"] else ""))
        sch = node.add("schema")
        for f in t["schema"]:
            sch.add(f"{f['name']}: {f['type']}{'' if f['nullable'] else ' not null'}")
        if t["provenance"]:
            pv = node.add("provenance")
            for k, v in t["provenance"].items():
                pv.add(f"{k}: {v if not isinstance(v, (dict, list)) else json.dumps(v)[:200]}")
    for f in files:
        tree.add(f"{f['key']}  {human_bytes(f['size'])}")
    if rec.run:
        run = tree.add("run")
        for k, v in rec.run.items():
            run.add(f"{k}: {v}")
    c.print(tree)


def cat(
    ref: str = typer.Argument(..., help="ns/name@ref/TABLE, ns/name@ref/TABLE/FRAGMENT-KEY or a file path inside the package"),
    rows: int = typer.Option(10, "--rows", "-n", help="Rows to print."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print the first rows of a table or fragment (or a plain file's text)."""
    from lakepkg.errors import InvalidRefError
    from lakepkg.read.package import File, Fragment, Table, load

    node = load(ref, registry(reg))
    if isinstance(node, File):
        data = node.read_bytes()
        if as_json:
            emit_json({"key": node.key, "size": node.size, "text": data.decode("utf-8", "replace")})
        else:
            typer.echo(data.decode("utf-8", "replace"))
        return
    if isinstance(node, Table):
        t = node.head(rows)
    elif isinstance(node, Fragment):
        t = node.to_arrow().slice(0, rows)
    else:
        raise InvalidRefError(f"{ref} names a whole package; add /<table>, e.g. {ref}/{node.tables[0] if node.tables else 'table'}")
    if as_json:
        emit_json(t.to_pylist())
        return
    import pandas as pd

    with pd.option_context("display.max_columns", 50, "display.width", 200):
        typer.echo(t.to_pandas().to_string())


def diff(
    old: str = typer.Argument(..., help="Older reference, e.g. sales/orders@3fa2c1"),
    new: str = typer.Argument(None, help="Newer reference (default: the latest version of the same package)"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
    rows: bool = typer.Option(False, "--rows", help="Row-level diff: rows added, removed and changed (by key)"),
    key: Optional[str] = typer.Option(None, "--key", help="Key columns for --rows (default: each table's own key)"),
) -> None:
    """Show what changed between two versions: tables, partitions, fragments, files (--rows: rows)."""
    from lakepkg.read.diff import diff_packages
    from lakepkg.format.names import parse_ref
    from lakepkg.read.package import load

    r = registry(reg)
    a = load(old, r)
    b = load(new or parse_ref(old).name, r)
    if rows:
        from lakepkg.cli.rows import print_row_diff

        print_row_diff(a.diff(b, rows=True, key=[k.strip() for k in key.split(",")] if key else None), as_json)
        return
    d = diff_packages(a, b)
    if as_json:
        emit_json(d.to_json())
        return
    c = console()
    if d.empty:
        c.print("identical")
        return
    for t in d.tables:
        if t.status != "changed":
            c.print(f"table {t.name}: {t.status}")
            continue
        c.print(f"table {t.name}: changed  +{len(t.fragments_added)} -{len(t.fragments_removed)} ~{len(t.fragments_changed)} fragments"
                f"  ({t.pages_compared} pages read, {t.pages_skipped} skipped)" + ("  schema changed" if t.schema_changed else ""))
        if t.same_rows:
            c.print("  same rows, different layout")
        for lab in t.partitions_added:
            c.print(f"  + partition {lab}")
        for lab in t.partitions_removed:
            c.print(f"  - partition {lab}")
        for lab in t.partitions_changed:
            c.print(f"  ~ partition {lab}")
    for k in d.files_added:
        c.print(f"+ file {k}")
    for k in d.files_removed:
        c.print(f"- file {k}")
    for k in d.files_changed:
        c.print(f"~ file {k}")


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
    r = registry(reg)
    if delete:
        r.delete_tag(name, tag_name)
        if as_json:
            emit_json({"package": name, "tag": tag_name, "deleted": True})
        else:
            console().print(f"deleted {name}:{tag_name}")
        return
    expected: Optional[str] = "*"
    if expect is not None:
        if expect == "none":
            expected = None
        else:
            expected = r.resolve(f"{name}@{expect}").top_hash
    rec = r.set_tag(name, tag_name, target, expected=expected)
    if as_json:
        emit_json({"package": name, "tag": tag_name, "top_hash": rec.top_hash})
    else:
        console().print(f"{name}:{tag_name} -> {rec.top_hash[:10]}")


def verify(
    ref: Optional[str] = typer.Argument(None, help="A version or package to check (default: the whole registry)."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Re-hash every object versions reference; name missing or corrupt ones with their versions."""
    from lakepkg.format.names import parse_ref
    from lakepkg.progress import progress_bar
    from lakepkg.maintain.verify import verify_registry

    r = registry(reg)
    recs = None
    if ref:
        pr = parse_ref(ref)
        recs = [r.resolve(pr)] if (pr.hash_prefix or pr.at or "@" in ref or ":" in ref) else r.versions(pr.name)
    with progress_bar("verifying", enabled=show_progress(as_json)) as bar:
        rep = verify_registry(r, recs, progress=bar)
    if as_json:
        emit_json(rep.to_json())
    else:
        c = console()
        c.print(f"{rep.versions} versions, {rep.objects_checked} objects, {human_bytes(rep.bytes_checked)} checked")
        for d, users in rep.missing.items():
            c.print(f"[red]missing[/red] {d}  used by {', '.join(users)}")
        for d, users in rep.corrupt.items():
            c.print(f"[red]corrupt[/red] {d}  used by {', '.join(users)}")
        for e in rep.errors:
            c.print(f"[red]error[/red] {e}")
        c.print("ok" if rep.ok else "[red]FAILED[/red]")
    if not rep.ok:
        raise typer.Exit(1)


def gc(
    grace: float = typer.Option(24.0, "--grace-hours", help="Keep unreferenced objects younger than this (an in-flight publish is never collected)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be removed."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove objects no version references (older than the grace period)."""
    from lakepkg.maintain.gc import collect_garbage

    rep = collect_garbage(registry(reg), grace_seconds=grace * 3600, dry_run=dry_run)
    if as_json:
        emit_json(rep.to_json())
    else:
        console().print(f"{'would remove' if dry_run else 'removed'} {rep.removed} objects ({human_bytes(rep.bytes_removed)}); "
                        f"{rep.referenced} referenced, {rep.kept_young} unreferenced kept inside the grace period")


def demo(
    folder: str = typer.Option(".lakepkg-demo", "--dir", help="Where the demo writes its data."),
    as_json: bool = JsonOpt,
) -> None:
    """Run the main job end to end on the embedded default registry: build, show, change, rebuild, diff, read."""
    from lakepkg.demo import run_demo

    out = run_demo(folder, echo=not as_json)
    if as_json:
        emit_json(out)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    for fn in (build, ls, log, show, cat, diff, tag, verify, gc, demo):
        app.command(fn.__name__)(fn)
