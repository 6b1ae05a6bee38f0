"""The SQL console of a version: ``lakepkg.query``'s engine, in the source's dialect, results paged."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

PER_PAGE = 100


def page(cat: Any, request: Request, name: str, pkg: Any) -> Response:
    from lakepkg.catalog.params import int_param
    from lakepkg.errors import LakepkgError

    q = request.query_params.get("q", "").strip()
    n = int_param(request, "page", 1, 1)
    result = dialect = error = None
    if q:
        try:
            result, dialect = cat.data.query(pkg, q)
        except LakepkgError as exc:
            error = str(exc)
    pages = max(1, -(-result.num_rows // PER_PAGE)) if result is not None else 1
    rows = result.slice((n - 1) * PER_PAGE, PER_PAGE) if result is not None else None
    example = ""
    if pkg.tables:
        t = pkg.table(pkg.tables[0])
        src = (t.provenance or {}).get("table") or (t.provenance or {}).get("source_table") or pkg.tables[0]
        example = f"SELECT count(*) FROM {src}"
    from lakepkg.catalog.security import scrub

    return cat.render(request, "sql.html", name=name, pkg=pkg, q=q, rows=rows, total=None if result is None else result.num_rows,
                      dialect=dialect, error=scrub(error) if error else None, page=n, pages=pages, example=example,
                      first_row=(n - 1) * PER_PAGE)
