"""The packages list: search over names, metadata and README text, paged."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

PER_PAGE = 50


def page(cat: Any, request: Request) -> Response:
    from lakepkg.catalog.params import int_param

    q = request.query_params.get("q", "").strip()[:200]
    names, indexed = cat.data.search(q) if q else (cat.data.package_names(), True)
    pages = max(1, -(-len(names) // PER_PAGE))
    n = min(int_param(request, "page", 1, 1), pages)
    rows = [cat.data.summary(x) for x in names[(n - 1) * PER_PAGE:n * PER_PAGE]]
    return cat.render(request, "packages.html", q=q, rows=rows, page=n, pages=pages, total=len(names),
                      indexed=indexed)
