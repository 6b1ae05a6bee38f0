"""``LakepkgVersionTrigger``: the deferrable half of :class:`~lakepkg.airflow.sensors.LakepkgVersionSensor`.

Runs in Airflow's triggerer: polls the registry (in a worker thread, the
registry client is synchronous) every ``poll_interval`` seconds and fires once
``package:tag`` names a version other than ``after``. It carries only the
connection id, never credentials (trigger arguments are stored in Airflow's
database).
"""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Optional

from airflow.triggers.base import BaseTrigger, TriggerEvent

from lakepkg.errors import one_line

__all__ = ["LakepkgVersionTrigger"]


class LakepkgVersionTrigger(BaseTrigger):
    """Fires ``{"status": "done", "version": {...}}`` (or ``{"status": "error", "message": ...}``)."""

    def __init__(self, package: str, tag: str = "latest", after: Optional[str] = None,
                 lakepkg_conn_id: Optional[str] = "lakepkg_default", poll_interval: float = 30.0) -> None:
        super().__init__()
        self.package, self.tag, self.after = package, tag, after
        self.lakepkg_conn_id, self.poll_interval = lakepkg_conn_id, float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("lakepkg.airflow.triggers.LakepkgVersionTrigger",
                {"package": self.package, "tag": self.tag, "after": self.after,
                 "lakepkg_conn_id": self.lakepkg_conn_id, "poll_interval": self.poll_interval})

    def _check(self) -> Optional[dict[str, Any]]:
        from lakepkg.airflow.hooks import LakepkgHook
        from lakepkg.airflow.versions import new_version

        return new_version(LakepkgHook(self.lakepkg_conn_id).get_registry(), self.package, self.tag, self.after)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                found = await asyncio.to_thread(self._check)
            except Exception as exc:  # reported to the task, which fails with this one line
                yield TriggerEvent({"status": "error", "message": one_line(exc)})
                return
            if found is not None:
                yield TriggerEvent({"status": "done", "version": found})
                return
            await asyncio.sleep(self.poll_interval)
