"""Lifecycle pages: where-used (an object, a source file, rows), the redaction and audit log, verify."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response


def where_used_page(cat: Any, request: Request) -> Response:
    from lakepkg.errors import LakepkgError

    p = request.query_params
    obj, source = p.get("object", "").strip(), p.get("source", "").strip()
    table, where = p.get("table", "").strip(), p.get("where", "").strip()
    report = error = None
    if obj or source or table or where:
        try:
            report = cat.data.where_used(digest=obj or None, source=source or None, table=table or None,
                                         where=where or None)
        except LakepkgError as exc:
            error = str(exc)
    from lakepkg.catalog.security import scrub

    return cat.render(request, "where_used.html", obj=obj, source=source, table=table, where=where, report=report,
                      error=scrub(error) if error else None)


def audit_page(cat: Any, request: Request) -> Response:
    rep = cat.data.audit()
    entries = list(reversed(rep.entries))
    return cat.render(request, "audit.html", rep=rep, entries=entries,
                      redactions=[e for e in entries if e.get("action") == "redact"])


def verify_page(cat: Any, request: Request) -> Response:
    ref = request.query_params.get("ref", "").strip() or None
    deep = request.query_params.get("deep") == "1"
    run = request.query_params.get("run") == "1"
    rep = cat.data.verify(ref, deep) if run else None
    return cat.render(request, "verify.html", ref=ref or "", deep=deep, rep=rep)
