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


def register(app: Any, snapshot_app: Any) -> None:
    app.command("clone")(clone)
