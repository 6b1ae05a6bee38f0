"""``lakepkg clone`` and ``lakepkg merge``: clone a version, merge versions back (docs/merge.md)."""
from __future__ import annotations

from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, registry
from lakepkg.cli.output import make_output


def clone(
    src: str = typer.Argument(..., help="The version to clone: ns/name, ns/name@HASH or ns/name:TAG."),
    new: str = typer.Argument(..., help="The new package, namespace/name."),
    tables: List[str] = typer.Option([], "--table", "-t", help="Clone only this table (name or glob). Repeatable."),
    where: Optional[str] = typer.Option(None, "--where", help="Keep only the rows matching this SQL predicate (fragments keep their objects; the other rows go through deletion vectors)."),
    partition: Optional[str] = typer.Option(None, "--partition", help="Keep only the fragments of partitions matching this SQL predicate over partition columns, e.g. \"ds >= '2026-01-01'\"."),
    message: str = typer.Option("", "--message", "-m", help="Version message (default: clone of SRC)."),
    tag: List[str] = typer.Option([], "--tag", help="Also set this tag. Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Publish SRC (or a filtered part of it) as the first version of NEW, sharing its objects."""
    import lakepkg

    out = make_output(as_json)
    res = lakepkg.clone(src, new, registry=registry(reg, create=False), tables=list(tables) or None, where=where,
                        partitions=partition, message=message, tags=tuple(tag))
    out.published(res)




def _pairs(opt: str, items: List[str], what: str) -> dict[str, str]:
    from lakepkg.errors import ConfigError

    out: dict[str, str] = {}
    for spec in items:
        k, sep, v = spec.partition("=")
        if not sep or not k or not v:
            raise ConfigError(f"{opt} {spec!r}: use {what}")
        if k in out:
            raise ConfigError(f"{opt} {k!r} is given twice")
        out[k] = v
    return out


def merge(
    ours: str = typer.Argument(..., help="Our version: ns/name, ns/name@HASH or ns/name:TAG."),
    theirs: str = typer.Argument(..., help="Their version, merged into ours."),
    to: str = typer.Option(..., "--to", help="Publish the result as the newest version of this package."),
    base: Optional[str] = typer.Option(None, "--base", help="The common base, when the history has none."),
    strategy: str = typer.Option("fail", "--strategy", help="fail (default: publish nothing, write the conflicts), ours or theirs (settle every conflict that way)."),
    key: List[str] = typer.Option([], "--key", "-k", help="TABLE=COL[,COL...]: merge TABLE by this key. Repeatable."),
    resolve: List[str] = typer.Option([], "--resolve", help="TABLE=PATH: a Parquet/CSV file with the chosen rows of TABLE's conflicting keys. Repeatable."),
    conflicts_to: Optional[str] = typer.Option(None, "--conflicts-to", help="Where the conflicts package goes (default: TO-conflicts)."),
    expect: Optional[str] = typer.Option(None, "--expect", help="Publish only if TO's latest is still this version (hash prefix; 'none': TO must not exist). Default: TO is new or its latest is OURS."),
    message: str = typer.Option("", "--message", "-m", help="Version message."),
    tag: List[str] = typer.Option([], "--tag", help="Also set this tag on the result. Repeatable."),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Merge THEIRS into OURS (three-way, by key and cell) and publish the result as TO; exit 1 with the
    conflicts, written as a package of their own, when they do not merge."""
    import lakepkg

    out = make_output(as_json)
    keys = {t: [c.strip() for c in cols.split(",") if c.strip()]
            for t, cols in _pairs("--key", key, "TABLE=COL[,COL...]").items()}
    res = lakepkg.merge(ours, theirs, to, registry=registry(reg, create=False), base=base, strategy=strategy, key=keys,
                        resolve=dict(_pairs("--resolve", resolve, "TABLE=PATH")), message=message,
                        conflicts_to=conflicts_to, expect=expect if expect is not None else "auto", tags=tuple(tag))
    out.data(res.to_json(), "\n".join(res.lines()))
    if not res.ok:
        raise typer.Exit(1)


def register(app: Any, snapshot_app: Any) -> None:
    app.command("clone")(clone)
    app.command("merge")(merge)
