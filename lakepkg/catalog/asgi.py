"""The catalog's ASGI app: :func:`create_app` wires the data layer, the pages and the guards.

URLs (stable; a version is always named by its full top hash)::

    /                                   packages (?q= search, ?page=)
    /p/NS/NAME                          → the latest version (redirect)
    /p/NS/NAME/:TAG                     → the version the tag names (redirect)
    /p/NS/NAME/@HASH                    a version
    /p/NS/NAME/@HASH/t/TABLE            a table (?where=, ?after=&skip= rows cursor, ?fpage= fragments)
    /p/NS/NAME/@HASH/t/TABLE/fragment   a fragment's rows (?key=, ?offset=)
    /p/NS/NAME/@HASH/sql                SQL console (?q=, ?page=)
    /p/NS/NAME/-/history                versions newest first, pick two to compare
    /p/NS/NAME/-/compare                two versions (?a=&b=&table=&show=&page=)
    /p/NS/NAME/-/tag                    POST: move a tag (--allow-write, CSRF token, compare-and-swap)
    /where-used  /audit  /verify        lifecycle pages
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from typing import Any, AsyncIterator, Callable, Optional

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lakepkg.catalog.data import CatalogData
from lakepkg.catalog.render import environment, u_version
from lakepkg.catalog.security import Guard, new_secret, scrub
from lakepkg.errors import ConcurrentUpdateError, LakepkgError, NotFoundError
from lakepkg.registry import Registry, open_registry

LOG = logging.getLogger("lakepkg.catalog")

_PATH = re.compile(r"(?P<name>[a-z0-9][a-z0-9._/-]*?)"
                   r"(?:/(?:@(?P<hash>[0-9a-f]{4,64})|:(?P<tag>[A-Za-z0-9][A-Za-z0-9._-]*))(?P<rest>/.*)?"
                   r"|/-/(?P<page>history|compare|tag))?/?")
_VREST = re.compile(r"/t/(?P<table>[^/]+)(?P<fragment>/fragment)?/?|/sql/?|/?")


class Catalog:
    """What every page gets: the data layer, the templates and the app's settings."""

    def __init__(self, data: CatalogData, *, allow_write: bool, airflow_url: Optional[str]) -> None:
        self.data = data
        self.env = environment()
        self.allow_write = allow_write
        self.airflow_url = airflow_url

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            request=request, registry=scrub(self.data.location), allow_write=self.allow_write,
            csrf=request.scope.get("state", {}).get("csrf", ""), **values)
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status=status, message=scrub(message), status_code=status)


def _preload() -> None:
    """Import what the pages use once, when the app starts: a first request must not pay for
    importing pandas, pyarrow's compute and dataset modules, sqlglot or DuckDB (about a second)."""
    import pyarrow.dataset  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import lakepkg.api  # noqa: F401
    import lakepkg.governance  # noqa: F401
    import lakepkg.governance.predicate  # noqa: F401
    import lakepkg.query.api  # noqa: F401
    import lakepkg.read.row_diff  # noqa: F401


def create_app(registry: "Registry | str | None" = None, *, token: Optional[str] = None, allow_write: bool = False,
               airflow_url: Optional[str] = None, cache_seconds: Optional[float] = None,
               loopback_only: bool = True) -> Any:
    """The catalog as an ASGI app over ``registry`` (a Registry, a path or ``s3://bucket/prefix``;
    None: the configured one). ``token``: required on every request when given; ``allow_write``:
    enables moving a tag; ``airflow_url``: the Airflow web UI runs link back to;
    ``loopback_only``: answer only requests addressed to a loopback host (set False behind a proxy
    or when serving on another address with a token)."""
    from lakepkg.catalog.pages import compare, history, lifecycle, packages, sql, table, tags, version

    reg = open_registry(registry)
    cat = Catalog(CatalogData(reg, cache_seconds=cache_seconds), allow_write=allow_write, airflow_url=airflow_url)
    for name in cat.env.list_templates(extensions=["html"]):  # compiled once, at start, not on a first request
        cat.env.get_template(name)
    _preload()
    cat.data.start()

    def page(fn: Callable[..., Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            began = time.perf_counter()
            try:
                resp = fn(cat, request)
            except NotFoundError as exc:
                resp = cat.error(request, 404, str(exc))
            except ConcurrentUpdateError as exc:  # a tag moved meanwhile: the compare-and-swap refused
                resp = cat.error(request, 409, str(exc))
            except LakepkgError as exc:
                resp = cat.error(request, 400, str(exc))
            except Exception as exc:  # a bug: one line on the page, the type in the log, no traceback shown
                if os.environ.get("LAKEPKG_DEBUG"):
                    raise
                LOG.error("catalog: internal error on %s: %s", request.url.path, scrub(f"{type(exc).__name__}: {exc}"))
                resp = cat.error(request, 500, f"internal error (a bug in lakepkg): {type(exc).__name__}")
            ms = (time.perf_counter() - began) * 1000
            resp.headers["server-timing"] = f"app;dur={ms:.1f}"
            LOG.info("%s %s %d %.1f ms", request.method, request.url.path, resp.status_code, ms)
            return resp
        return endpoint

    def package_path(c: Catalog, request: Request) -> Response:
        m = _PATH.fullmatch(request.path_params["rest"])
        if m is None:
            raise NotFoundError(f"no catalog page at {request.url.path}")
        name = m.group("name")
        if m.group("page"):
            if request.method == "POST" and m.group("page") != "tag":
                return c.error(request, 405, "this page takes no POST")
            return {"history": history.page, "compare": compare.page, "tag": tags.page}[m.group("page")](c, request, name)
        if request.method == "POST":
            return c.error(request, 405, "this page takes no POST")
        sel = m.group("hash") or (":" + m.group("tag") if m.group("tag") else None)
        pkg = c.data.version(name, sel)
        if m.group("hash") is None or len(m.group("hash")) != 64:  # name, tag or prefix: to the stable URL
            return RedirectResponse(u_version(name, pkg.top_hash) + (m.group("rest") or "").rstrip("/")
                                    + (f"?{request.url.query}" if request.url.query else ""), status_code=303)
        vrest = _VREST.fullmatch(m.group("rest") or "")
        if vrest is None:
            raise NotFoundError(f"no catalog page at {request.url.path}")
        if vrest.group("table"):
            t = c.data.table(pkg, vrest.group("table"))
            if vrest.group("fragment"):
                return table.fragment_page(c, request, name, pkg, t)
            return table.page(c, request, name, pkg, t)
        if (m.group("rest") or "").startswith("/sql"):
            return sql.page(c, request, name, pkg)
        return version.page(c, request, name, pkg, m.group("hash"))

    routes = [
        Route("/", page(packages.page)),
        Route("/p/{rest:path}", page(package_path), methods=["GET", "POST"]),
        Route("/where-used", page(lifecycle.where_used_page)),
        Route("/audit", page(lifecycle.audit_page)),
        Route("/verify", page(lifecycle.verify_page)),
        Mount("/static", StaticFiles(packages=[("lakepkg.catalog", "static")]), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        cat.data.close()  # the background index builds stop with the server

    inner = Starlette(routes=routes, lifespan=lifespan)
    guard = Guard(inner, token=token, loopback_only=loopback_only, csrf_secret=new_secret())
    inner.state.guard = guard
    inner.state.catalog = cat
    return guard
