"""``LakepkgVersionSensor``: wait for a package's next version, or for a tag to move.

    wait = LakepkgVersionSensor(task_id="wait_orders", package="sales/orders",
                                after="{{ ti.xcom_pull('snapshot')['top_hash'] }}", deferrable=True)

Returns (XCom) ``{package, tag, top_hash, ref, created_at}`` of the version it saw.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Optional, Sequence

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from lakepkg.airflow.errors import fail
from lakepkg.airflow.hooks import LakepkgHook
from lakepkg.errors import SourceError

__all__ = ["LakepkgVersionSensor"]


class LakepkgVersionSensor(BaseSensorOperator):
    """Done when ``package:tag`` names a version other than ``after`` (see :func:`lakepkg.airflow.versions.new_version`).

    :param package: ``ns/name``.
    :param tag: ``latest`` (default: wait for a newer version) or a tag such as ``prod`` (wait for it to move).
    :param after: a top hash (prefix) or reference; default: done as soon as the tag exists.
    :param deferrable: wait in Airflow's triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("package", "tag", "after")

    def __init__(self, *, package: str, tag: str = "latest", after: Optional[str] = None,
                 lakepkg_conn_id: Optional[str] = LakepkgHook.default_conn_name, deferrable: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.package, self.tag, self.after = package, tag, after
        self.lakepkg_conn_id = lakepkg_conn_id
        self.deferrable = deferrable

    def _check(self) -> Optional[dict[str, Any]]:
        from lakepkg.airflow.versions import new_version

        return new_version(LakepkgHook(self.lakepkg_conn_id).get_registry(), self.package, self.tag, self.after or None)

    def poke(self, context: Any) -> PokeReturnValue:
        try:
            found = self._check()
        except Exception as exc:
            fail(exc)
        return PokeReturnValue(is_done=found is not None, xcom_value=found)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        try:
            found = self._check()
        except Exception as exc:
            fail(exc)
        if found is not None:
            return found
        from lakepkg.airflow.triggers import LakepkgVersionTrigger

        self.defer(trigger=LakepkgVersionTrigger(self.package, self.tag, self.after or None, self.lakepkg_conn_id,
                                                 float(self.poke_interval)),
                   method_name="execute_complete",
                   timeout=timedelta(seconds=float(self.timeout)) if self.timeout else None)

    def execute_complete(self, context: Any, event: Optional[dict[str, Any]] = None) -> Any:
        """Resumed by the trigger's event."""
        if not event or event.get("status") != "done":
            fail(SourceError((event or {}).get("message") or "the version trigger ended without an event"))
        return event["version"]
