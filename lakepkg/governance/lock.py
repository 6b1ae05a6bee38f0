"""The redaction lock: one redaction runs on a registry at a time.

``journal/redact.lock`` (docs/format.md, "Registry") holds ``{"id", "at", "host", "pid"}``. It is
created-if-absent when a redaction starts and deleted when it ends; the holder renews ``at``
while it works (compare-and-swap). A lock is *stale*, and taken over, when its holder is a dead
process on this host, or when it was not renewed for ``STALE_SECONDS`` (a holder on another
machine that died). Two redactions planned at the same time would otherwise each rewrite the
versions the other is replacing — and the later one could bring the other's rows back.
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from datetime import datetime, timezone
from typing import Any, Optional

from lakepkg.errors import ConcurrentUpdateError
from lakepkg.registry import Registry
from lakepkg.registry.keys import REDACT_LOCK
from lakepkg.processes import pid_alive

STALE_SECONDS = 120.0
BEAT_SECONDS = 10.0



class RedactionLock:
    """Held for the whole of one redaction run (``with RedactionLock(reg):``)."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.id = secrets.token_hex(8)
        self._token: Optional[str] = None
        self._beat = 0.0

    def _doc(self) -> dict[str, Any]:
        return {"id": self.id, "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                "host": socket.gethostname(), "pid": os.getpid()}

    def _stale(self, held: dict[str, Any]) -> bool:
        if held.get("host") == socket.gethostname() and isinstance(held.get("pid"), int):
            if not pid_alive(int(held["pid"])):
                return True
        try:
            at = datetime.fromisoformat(str(held.get("at")))
        except ValueError:
            return True
        return (datetime.now(timezone.utc) - at).total_seconds() > STALE_SECONDS

    def acquire(self) -> "RedactionLock":
        for _ in range(50):
            if self.reg.write_doc(REDACT_LOCK, self._doc(), create=True):
                break
            got = self.reg.read_doc(REDACT_LOCK)
            if got is None:
                continue
            held, token = got
            if not self._stale(held):
                raise ConcurrentUpdateError(
                    f"another redaction is running on {self.reg.location} (since {str(held.get('at'))[:19]}, "
                    f"{held.get('host')} pid {held.get('pid')}); re-run when it is done")
            if self.reg.write_doc(REDACT_LOCK, self._doc(), token):  # a dead holder's lock: take it over
                break
        else:
            raise ConcurrentUpdateError(f"the redaction lock of {self.reg.location} kept changing; re-run")
        got = self.reg.read_doc(REDACT_LOCK)
        if got is None or got[0].get("id") != self.id:
            raise ConcurrentUpdateError(f"another redaction took the lock of {self.reg.location}; re-run when it is done")
        self._token, self._beat = got[1], time.monotonic()
        return self

    def beat(self) -> None:
        """Renew the lock (at most every ``BEAT_SECONDS``); fails if another process took it over."""
        if time.monotonic() - self._beat < BEAT_SECONDS:
            return
        if not self.reg.write_doc(REDACT_LOCK, self._doc(), self._token):
            raise ConcurrentUpdateError(f"the redaction lock of {self.reg.location} was taken over; re-run to finish")
        got = self.reg.read_doc(REDACT_LOCK)
        self._token, self._beat = (got[1] if got else None), time.monotonic()

    def release(self) -> None:
        got = self.reg.read_doc(REDACT_LOCK)
        if got is not None and got[0].get("id") == self.id:
            self.reg.delete_doc(REDACT_LOCK)

    def __enter__(self) -> "RedactionLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
