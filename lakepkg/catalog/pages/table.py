"""A table: the first rows with paging (a cursor, exact whatever the size), a filter box (the read
plan's filters from SQL WHERE text), column statistics from the manifest, the fragments; a fragment's rows."""
from __future__ import annotations

from typing import Any, Optional

from starlette.requests import Request
from starlette.responses import Response

ROWS_PER_PAGE = 50
FRAGMENTS_PER_PAGE = 50


def filters_of(where: str, table: Any) -> tuple[Optional[list[Any]], bool]:
    """(filters, can match) of SQL ``WHERE`` text for ``table``'s read plan."""
    from lakepkg.governance.predicate import parse_predicate

    if not where:
        return None, True
    f = parse_predicate(where, table.name).for_schema(table.schema)
    return f, f is not None


def page(cat: Any, request: Request, name: str, pkg: Any, t: Any) -> Response:
    from lakepkg.catalog.params import int_param

    data = cat.data
    where = request.query_params.get("where", "").strip()[:4000]
    after = request.query_params.get("after") or None
    skip = int_param(request, "skip", 0)
    n = int_param(request, "n", 1, 1)
    fpage = int_param(request, "fpage", 1, 1)
    error = None
    preview = None
    try:
        filters, can_match = filters_of(where, t)
        preview = data.preview(t, filters, after, skip, ROWS_PER_PAGE) if can_match else None
    except Exception as exc:  # a bad filter: one line beside the box, the page still shows
        from lakepkg.errors import LakepkgError

        if not isinstance(exc, LakepkgError):
            raise
        error = str(exc)
    entries = data.entries(t, (fpage - 1) * FRAGMENTS_PER_PAGE, FRAGMENTS_PER_PAGE)
    fpages = max(1, -(-t.node.fragments // FRAGMENTS_PER_PAGE))
    return cat.render(request, "table.html", name=name, pkg=pkg, t=t, where=where, preview=preview, error=error,
                      n=n, first_row=(n - 1) * ROWS_PER_PAGE, stats=data.column_stats(t), entries=entries,
                      fpage=fpage, fpages=fpages)


def fragment_page(cat: Any, request: Request, name: str, pkg: Any, t: Any) -> Response:
    from lakepkg.catalog.params import int_param
    from lakepkg.errors import ConfigError

    key = request.query_params.get("key")
    if not key:
        raise ConfigError("name the fragment: ?key=FRAGMENT-KEY (the table page lists them)")
    frag = cat.data.fragment(t, key)
    offset = int_param(request, "offset", 0)
    rows = frag.to_arrow()
    return cat.render(request, "fragment.html", name=name, pkg=pkg, t=t, frag=frag, total=rows.num_rows,
                      rows=rows.slice(offset, 100), offset=offset, per=100)
