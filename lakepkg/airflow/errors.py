"""How the provider fails: one line that says what to fix, never a secret.

Deterministic mistakes (unknown connection, bad option, missing table, a failed
check) fail the task without retries (``AirflowFailException``); a source or
registry that cannot be reached fails it normally so Airflow's retries apply.
"""
from __future__ import annotations

from typing import Any, Iterable, NoReturn

from lakepkg.errors import ConfigError, InvalidNameError, InvalidRefError, LakepkgError, NotFoundError, one_line

__all__ = ["CheckFailedError", "connection", "fail", "scrub"]


class CheckFailedError(LakepkgError):
    """A write-audit-publish check did not pass (or raised); the tag was left where it was."""


_NO_RETRY = (ConfigError, InvalidNameError, InvalidRefError, NotFoundError, CheckFailedError)


def connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``; an unknown id is a one-line :class:`ConfigError`."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        env = "AIRFLOW_CONN_" + conn_id.upper()
        raise ConfigError(f"Airflow connection {conn_id!r} is not defined; add it (Admin > Connections, "
                          f"`airflow connections add {conn_id}` or ${env})") from None


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line with every secret value replaced by ``***``."""
    line = one_line(text, limit=500)
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        line = line.replace(s, "***")
        from urllib.parse import quote

        line = line.replace(quote(s, safe=""), "***")
    return line


def fail(exc: BaseException, secrets: Iterable[str] = (), prefix: str = "lakepkg") -> NoReturn:
    """Re-raise ``exc`` as an Airflow task failure with one scrubbed line."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    msg = f"{prefix}: {scrub(str(exc) or type(exc).__name__, secrets)}"
    if isinstance(exc, _NO_RETRY):
        raise AirflowFailException(msg) from None
    raise AirflowException(msg) from None
