"""Compare two versions: tables, partitions, fragments and files changed (``lakepkg.diff``), and the
row diff of one table by its key with changed cells highlighted (paged; added / removed / changed)."""
from __future__ import annotations

from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response

PER_PAGE = 50
LIST_LIMIT = 100
SHOW = ("changed", "added", "removed")


def sql_literal(v: Any) -> Optional[str]:
    """``v`` as a SQL literal the filter box parses (None: no literal for its kind)."""
    import datetime as dt

    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, dt.datetime):
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, dt.date):
        return f"DATE '{v.isoformat()}'"
    return None


def key_where(key: list[str], row: dict[str, Any]) -> Optional[str]:
    parts = []
    for k in key:
        lit = sql_literal(row.get(k))
        if lit is None:
            return None
        parts.append(f"{k} = {lit}")
    return " AND ".join(parts)


def page(cat: Any, request: Request, name: str) -> Response:
    from lakepkg.catalog.params import int_param
    from lakepkg.errors import ConfigError

    a_sel, b_sel = request.query_params.get("a", ""), request.query_params.get("b", "")
    if not a_sel or not b_sel:
        raise ConfigError("compare needs two versions: ?a=HASH&b=HASH (pick them on the history page)")
    a, b = cat.data.version(name, a_sel), cat.data.version(name, b_sel)
    d = cat.data.diff(a, b)
    from lakepkg.catalog.data import ROW_DIFF_AUTO_FRAGMENTS

    both = [t.name for t in d.tables if t.status == "changed"]
    asked = request.query_params.get("table")
    tname = asked or (both[0] if both else None)
    deferred = None
    if tname and not asked:  # a big change is diffed by row only when asked (it reads every touched fragment)
        td = next(t for t in d.tables if t.name == tname)
        touched = len(td.fragments_added) + len(td.fragments_removed) + len(td.fragments_changed)
        if touched > ROW_DIFF_AUTO_FRAGMENTS:
            deferred, tname = (tname, touched), None
    show = request.query_params.get("show", "changed")
    if show not in SHOW:
        raise ConfigError(f"?show= is one of {', '.join(SHOW)}")
    n = int_param(request, "page", 1, 1)
    rd = rows = None
    pages = 1
    links: list[Optional[str]] = []
    if tname:
        rd = cat.data.row_diff(a, b, tname)
        src = {"changed": rd.changed, "added": rd.added, "removed": rd.removed}[show]
        pages = max(1, -(-src.num_rows // PER_PAGE))
        rows = src.slice((n - 1) * PER_PAGE, PER_PAGE)
        if rd.key and show != "removed":
            links = [key_where(rd.key, r) for r in rows.to_pylist()]
    return cat.render(request, "compare.html", name=name, a=a, b=b, d=d, tname=tname, both=both, rd=rd, rows=rows,
                      show=show, page=n, pages=pages, links=links, limit=LIST_LIMIT, deferred=deferred)
