"""SQL connector, URLs and secrets: parse a database URL (with the driver lakepkg reads it through), the
URL without its secrets (the only form that reaches provenance, logs and errors), and scrubbing of
secrets out of driver messages."""
from __future__ import annotations

import os
import re
from typing import Any, Sequence

from lakepkg.errors import ConfigError, one_line

SECRET_PARAMS = re.compile(r"(pass|pwd|secret|token|key|credential|auth|signature|sig)", re.I)


def _make_url(url: str) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"not a database URL ({one_line(_scrub(str(exc), [url]))}); use e.g. "
                          "postgresql://user@host:5432/db or mysql://user@host:3306/db") from None
    name = u.drivername
    if name in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif name == "mysql":
        u = u.set(drivername="mysql+pymysql")
    elif name == "mariadb":
        u = u.set(drivername="mariadb+pymysql")
    try:
        u.get_dialect()
    except Exception as exc:  # sqlalchemy's NoSuchModuleError, or a driver that is not installed
        raise ConfigError(f"cannot read {u.drivername}:// URLs ({one_line(str(exc))}); use postgresql://, "
                          "mysql://, mariadb://, sqlite:/// or another SQLAlchemy dialect whose driver is "
                          "installed") from None
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") \
            and not u.database.startswith("file:") and not os.path.exists(u.database):
        raise ConfigError(f"no SQLite database at {u.database}; check the path (a snapshot never creates one)")
    return u


def safe_url(url: "str | Any") -> str:
    """The URL with its password and any secret-looking query parameters removed."""
    u = _make_url(url) if isinstance(url, str) else url
    q = {k: v for k, v in u.query.items() if not SECRET_PARAMS.search(k)}
    from sqlalchemy.engine import URL

    clean = URL.create(u.drivername, username=u.username, password=None, host=u.host, port=u.port,
                       database=u.database, query=q)
    out = clean.render_as_string(hide_password=False)
    for s in _secrets(u):  # belt and braces: a secret can never come back out
        out = out.replace(s, "***")
    return out


def _secrets(u: Any) -> list[str]:
    out = []
    if u.password:
        out.append(str(u.password))
    for k, v in u.query.items():
        if SECRET_PARAMS.search(k):
            out.extend([v] if isinstance(v, str) else list(v))
    return [s for s in out if s]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, "***")
        try:
            from urllib.parse import quote

            text = text.replace(quote(s, safe=""), "***")
        except Exception:
            pass
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def _first_line(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    lines = [l for l in msg.splitlines() if l.strip()]
    keep = [lines[0]] if lines else [msg]
    # keep PostgreSQL's "LINE 1: ..." context out, but keep DETAIL/HINT out as well: one line
    return keep[0]
