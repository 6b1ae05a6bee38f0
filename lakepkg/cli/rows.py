"""Printing a row-level diff (``lakepkg diff OLD NEW --rows``): a summary line per table, or JSON."""
from __future__ import annotations

from typing import Any

from lakepkg.cli._common import console, emit_json


def print_row_diff(d: Any, as_json: bool) -> None:
    """One summary line per table that differs (``identical rows`` when none), or the JSON form."""
    if as_json:
        emit_json(d.to_json())
        return
    c = console()
    lines = [t.summary() for t in d.tables.values() if t.status != "identical"]
    for line in lines or ["identical rows"]:
        c.print(line, markup=False)
