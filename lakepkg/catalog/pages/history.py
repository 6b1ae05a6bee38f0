"""A package's history: versions newest first (message, author, run, tags); pick two to compare."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

PER_PAGE = 100


def page(cat: Any, request: Request, name: str) -> Response:
    from lakepkg.catalog.params import int_param

    hist = cat.data.history(name)
    pages = max(1, -(-len(hist) // PER_PAGE))
    n = min(int_param(request, "page", 1, 1), pages)
    rows = [(r, hist.tags_of(r)) for r in hist[(n - 1) * PER_PAGE:n * PER_PAGE]]
    return cat.render(request, "history.html", name=name, rows=rows, total=len(hist), page=n, pages=pages)
