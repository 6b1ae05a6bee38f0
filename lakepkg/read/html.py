"""Small HTML building blocks for the notebook views (``_repr_html_``) of packages, tables,
histories and diffs. Every value is escaped; the markup is plain tables, no scripts or styles
beyond a few inline rules, so it renders the same in Jupyter, VS Code and a saved notebook."""
from __future__ import annotations

import html
import json
from typing import Any, Iterable, Sequence

_TABLE = 'style="border-collapse:collapse;text-align:left;margin:2px 0"'
_CELL = 'style="padding:1px 8px;text-align:left;vertical-align:top"'


def esc(v: Any) -> str:
    """``v`` as escaped text (dicts and lists as compact JSON)."""
    if isinstance(v, (dict, list)):
        v = json.dumps(v, sort_keys=True, default=str)
    return html.escape("" if v is None else str(v))


def grid(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A table with a header row; cells are escaped."""
    head = "".join(f"<th {_CELL}>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of name → value, leaving out empty values."""
    rows = "".join(f"<tr><th {_CELL}>{esc(k)}</th><td {_CELL}>{esc(v)}</td></tr>"
                   for k, v in pairs if v not in (None, "", {}, []))
    return f"<table {_TABLE}><tbody>{rows}</tbody></table>"


def section(title: str, body: str, open_: bool = False) -> str:
    """A collapsible section (``<details>``)."""
    return f"<details{' open' if open_ else ''}><summary>{esc(title)}</summary>{body}</details>"


def card(title: str, *parts: str) -> str:
    """The outer block of a view: a bold title line, then its parts."""
    return f"<div><div><strong>{esc(title)}</strong></div>{''.join(parts)}</div>"


def schema_grid(schema: Any, partition_columns: Sequence[str] = ()) -> str:
    """A pyarrow schema as a table: column, type, nullable, partition."""
    return grid(["column", "type", "nullable", "partition"],
                [(f.name, str(f.type), "yes" if f.nullable else "no", "yes" if f.name in partition_columns else "")
                 for f in schema])
