"""Moving a tag (``--allow-write`` only): a form POST carrying the CSRF token, applied as a
compare-and-swap (the tag moves only if it still names the version the form showed)."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def page(cat: Any, request: Request, name: str) -> Response:
    import anyio.from_thread

    from lakepkg.catalog.render import u_version

    if request.method != "POST":
        return cat.error(request, 405, "moving a tag is a POST from a version page's tag form")
    if not cat.allow_write:
        return cat.error(request, 403, "this catalog is read-only; start it with --allow-write to move tags")
    async def read_form() -> Any:
        return await request.form()

    form = anyio.from_thread.run(read_form)
    guard = request.app.state.guard
    if not guard.csrf_ok(form.get("csrf")):
        return cat.error(request, 403, "the form's CSRF token is missing or wrong; reload the page and try again")
    tag, target, expect = str(form.get("tag", "")), str(form.get("target", "")), str(form.get("expect", "") or "none")
    res = cat.data.move_tag(name, tag, target, expect)
    return RedirectResponse(u_version(name, res.top_hash) + f"?moved={tag}", status_code=303)
