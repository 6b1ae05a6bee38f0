"""Rendering: the Jinja2 environment (autoescape on, templates shipped in the package), safe
Markdown, value formatting, and the catalog's URLs.

README Markdown goes through markdown-it-py with raw HTML off (HTML in a README is shown as text)
and its output through nh3 (an allow-list of tags, attributes and ``http``/``https``/``mailto``
links), so neither a ``<script>`` nor a ``javascript:`` link reaches the page.
"""
from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any, Optional
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from lakepkg.sizes import human_bytes

TAGS = {"a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
        "em", "strong", "del", "table", "thead", "tbody", "tr", "th", "td", "img"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
CELL_LIMIT = 200  # characters of a cell shown in a grid


def markdown_html(text: str) -> Markup:
    """``text`` (Markdown) as sanitised HTML."""
    import nh3
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
    raw = md.render(text)
    return Markup(nh3.clean(raw, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer nofollow"))


def cell(v: Any, limit: int = CELL_LIMIT) -> str:
    """A value as text for a grid cell (never HTML: the template escapes it)."""
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        s = "0x" + v[:limit // 2].hex()
    elif isinstance(v, (dict, list)):
        s = json.dumps(v, default=str, ensure_ascii=False)
    elif isinstance(v, (dt.datetime, dt.date, dt.time, decimal.Decimal)):
        s = str(v)
    else:
        s = str(v)
    return s if len(s) <= limit else s[:limit] + "…"


def when(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(v)


def number(v: Any) -> str:
    return "" if v is None else f"{v:,}" if isinstance(v, int) else str(v)


# -- URLs: one place builds them (package names are validated: [a-z0-9][a-z0-9._-]* segments) --------

def u_package(name: str) -> str:
    return f"/p/{quote(name)}/-/history"


def u_version(name: str, top_hash: str) -> str:
    return f"/p/{quote(name)}/@{top_hash}"


def u_table(name: str, top_hash: str, table: str, **params: Any) -> str:
    return _q(f"/p/{quote(name)}/@{top_hash}/t/{quote(table, safe='')}", params)


def u_fragment(name: str, top_hash: str, table: str, key: str, **params: Any) -> str:
    return _q(f"/p/{quote(name)}/@{top_hash}/t/{quote(table, safe='')}/fragment", {"key": key, **params})


def u_sql(name: str, top_hash: str, **params: Any) -> str:
    return _q(f"/p/{quote(name)}/@{top_hash}/sql", params)


def u_compare(name: str, a: str, b: str, **params: Any) -> str:
    return _q(f"/p/{quote(name)}/-/compare", {"a": a, "b": b, **params})


def u_page(path: str, **params: Any) -> str:
    return _q(path, params)


def _q(path: str, params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(kept) if kept else "")


def airflow_link(base: Optional[str], run: dict[str, Any]) -> Optional[str]:
    """The Airflow UI page of the run that made a version (Airflow 3 URLs), when its base URL is known
    (the run record's ``airflow_url`` or ``--airflow-url``) and is an http(s) address."""
    base = run.get("airflow_url") or base
    if not base or not str(base).startswith(("http://", "https://")) or not run.get("dag_id"):
        return None
    url = f"{str(base).rstrip('/')}/dags/{quote(str(run['dag_id']), safe='')}"
    if run.get("run_id"):
        url += f"/runs/{quote(str(run['run_id']), safe='')}"
        if run.get("task_id"):
            url += f"/tasks/{quote(str(run['task_id']), safe='')}"
    return url


def environment() -> Environment:
    env = Environment(loader=PackageLoader("lakepkg.catalog", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters.update(bytes=lambda v: "" if v is None else human_bytes(v), cell=cell, when=when, number=number,
                       markdown=markdown_html, short=lambda h: (h or "")[:10],
                       tojson_text=lambda v: json.dumps(v, default=str, ensure_ascii=False, indent=1))
    env.globals.update(u_package=u_package, u_version=u_version, u_table=u_table, u_fragment=u_fragment,
                       u_sql=u_sql, u_compare=u_compare, u_page=u_page)
    return env
