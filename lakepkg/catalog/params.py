"""Reading a page's query parameters: whole numbers in a range, refused in one line otherwise."""
from __future__ import annotations

from starlette.requests import Request

from lakepkg.catalog.security import scrub
from lakepkg.errors import ConfigError


def int_param(request: Request, name: str, default: int, lo: int = 0, hi: int = 10**12) -> int:
    """``?name=`` as an int in ``lo..hi`` (``default`` when absent); ConfigError otherwise."""
    v = request.query_params.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise ConfigError(f"?{name}= must be a whole number, not {scrub(v, 40)!r}") from None
    if not lo <= n <= hi:
        raise ConfigError(f"?{name}= must be between {lo} and {hi}")
    return n
