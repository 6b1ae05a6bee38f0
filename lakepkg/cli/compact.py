"""``lakepkg compact NAME``: rewrite fragments with deletion vectors into clean ones (docs/deltas.md)."""
from __future__ import annotations

from typing import Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json, registry


def compact(
    name: str = typer.Argument(..., help="Package (latest version) or ns/name@hash to compact"),
    table: Optional[list[str]] = typer.Option(None, "--table", "-t", help="Only these tables (repeatable)"),
    message: str = typer.Option("", "--message", "-m", help="Version message"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Compact a version: live rows of fragments with deletion vectors, re-sorted and re-cut; same rows, new layout."""
    from lakepkg.write.compaction import compact as impl

    res = impl(registry(reg), name, tables=table or None, message=message)
    if as_json:
        emit_json(res.to_json())
        return
    c = console()
    c.print(res.headline())
    for t, i in res.tables.items():
        if i["fragments_rewritten"]:
            c.print(f"  {t}: {i['fragments_rewritten']} of {i['fragments_before']} fragments rewritten, "
                    f"{i['fragments_after']} now")


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("compact")(compact)
