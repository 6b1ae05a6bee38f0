"""``lakepkg compact NAME``: rewrite fragments with deletion vectors into clean ones (docs/deltas.md)."""
from __future__ import annotations

from typing import Optional

import typer

from lakepkg.cli._common import JsonOpt, MessageOpt, RegistryOpt, registry
from lakepkg.cli.output import make_output


def compact(
    name: str = typer.Argument(..., help="Package (latest version) or ns/name@hash to compact"),
    table: Optional[list[str]] = typer.Option(None, "--table", "-t", help="Only these tables (repeatable)"),
    message: str = MessageOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Compact a version: live rows of fragments with deletion vectors, re-sorted and re-cut; same rows, new layout."""
    import lakepkg

    out = make_output(as_json)
    out.compacted(lakepkg.compact(name, tables=table or None, message=message, registry=registry(reg)))


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("compact")(compact)
