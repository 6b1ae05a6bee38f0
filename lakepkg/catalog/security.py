"""The catalog's guards: where it may listen, who may read, what may write, what a page may run.

* :func:`check_bind`: loopback by default; any other address needs a token (refuses to start).
* :class:`Guard` (ASGI middleware): the token (``Authorization: Bearer``, a cookie, or ``?token=``
  once, which sets the cookie and is dropped from the URL), a Host check on loopback (a DNS
  rebinding page cannot read the catalog), the CSRF token and same-origin check on every write,
  and headers that forbid scripts, framing and sniffing (``Content-Security-Policy:
  script-src 'none'``: the catalog runs no script at all).
* :func:`scrub`: credentials taken out of any text shown or logged (``user:password@``,
  ``password=…``, AWS keys).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qsl, urlencode

from lakepkg.errors import ConfigError, one_line

LOG = logging.getLogger("lakepkg.catalog")
TOKEN_COOKIE = "lakepkg_catalog_token"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'none'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin"),
           (b"cache-control", b"no-store")]

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]*:[^/@\s]*@")
_KEYVAL = re.compile(r"(?i)(?P<k>password|passwd|pwd|secret|token|aws_secret_access_key|aws_session_token)"
                     r"(?P<sep>\s*[=:]\s*)(?P<v>[^\s&;,'\"]+)")
_AWS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


def scrub(text: object, limit: int = 500) -> str:
    """``text`` on one line with credentials masked: what a page or a log line may show."""
    s = one_line(text, limit)
    s = _USERINFO.sub(lambda m: m.group("scheme") + "***@", s)
    s = _KEYVAL.sub(lambda m: m.group("k") + m.group("sep") + "***", s)
    return _AWS_KEY.sub("***", s)


def is_loopback(host: str) -> bool:
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: Optional[str]) -> None:
    """Refuse to listen on anything but loopback without a token (ConfigError, one line)."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to serve the catalog on {host}: any address but 127.0.0.1 needs a token; "
                          "give --token TOKEN or set LAKEPKG_CATALOG_TOKEN (readers then open ?token=TOKEN once)")
    if token is not None and len(token) < 16:
        raise ConfigError("the catalog token is shorter than 16 characters; use a long random one "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(24))')")


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class Guard:
    """ASGI middleware: token, Host check, CSRF on writes, security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, token: Optional[str], loopback_only: bool, csrf_secret: bytes) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only
        self.csrf_secret = csrf_secret

    def csrf_token(self) -> str:
        """The token every write form carries (derived from a secret made when the app starts)."""
        return hmac.new(self.csrf_secret, b"lakepkg-catalog-csrf", hashlib.sha256).hexdigest()

    def csrf_ok(self, given: Optional[str]) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.csrf_token())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if self.loopback_only and not is_loopback(host.rsplit(":", 1)[0] if not host.startswith("[")
                                                   else host.split("]")[0] + "]"):
            await _plain(send, 403, "this catalog answers only on its loopback address (Host header refused)")
            return
        query = scope.get("query_string", b"").decode("latin-1")
        if self.token is not None:
            params = parse_qsl(query, keep_blank_values=True)
            given = dict(params).get("token")
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                rest = urlencode([(k, v) for k, v in params if k != "token"])
                location = scope.get("path", "/") + (f"?{rest}" if rest else "")
                await send({"type": "http.response.start", "status": 303, "headers": HEADERS + [
                    (b"location", location.encode("latin-1", "replace")),
                    (b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode())]})
                await send({"type": "http.response.body", "body": b""})
                return
            if not self._authorised(headers):
                await _plain(send, 401, "this catalog needs its token: open it once with ?token=TOKEN "
                                        "(or send Authorization: Bearer TOKEN)")
                return
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin and origin.split("://", 1)[-1] != host:
                await _plain(send, 403, "cross-origin write refused")
                return
        scope.setdefault("state", {})["csrf"] = self.csrf_token()

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + HEADERS}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _authorised(self, headers: dict[str, str]) -> bool:
        assert self.token is not None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip().encode(), self.token.encode()):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            return False
        got = cookie.get(TOKEN_COOKIE)
        return got is not None and hmac.compare_digest(got.value.encode(), self.token.encode())


async def _plain(send: Any, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": HEADERS + [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": (text + "\n").encode()})


def new_secret() -> bytes:
    return secrets.token_bytes(32)
