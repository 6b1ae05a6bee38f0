"""Test DAG: a deferrable sensor waits for a newer version, a poking one for the prod tag to move.
A first task starts a thread that publishes the new version ~1 s later (the in-process dag.test()
run keeps it alive), so the trigger really has to wait."""
from __future__ import annotations

import os
import threading
import time

import pendulum
from airflow.sdk import DAG, task

from lakepkg.airflow.sensors import LakepkgVersionSensor

PKG = os.environ.get("LP_SENSOR_PACKAGE", "sense/orders")
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _publish_later(registry_path: str) -> None:
    import pyarrow as pa

    import lakepkg

    time.sleep(1.5)
    reg = lakepkg.open_registry(registry_path)
    b = lakepkg.PackageBuilder(reg)
    b.add_table("orders", pa.table({"id": [1, 2, 3]}))
    res = b.publish(PKG, message="arrives while the sensor waits")
    top = getattr(res, "top_hash", None) or res.record.top_hash
    reg.set_tag(PKG, "prod", top)


with DAG("lp_sensor", schedule=None, start_date=START, catchup=False, params={"after": ""}):
    @task
    def start_publisher():
        threading.Thread(target=_publish_later, args=(os.environ["LP_REGISTRY"],), daemon=True).start()
        return "started"

    newer = LakepkgVersionSensor(task_id="wait_newer", package=PKG, after="{{ params.after }}", deferrable=True,
                                 poke_interval=0.3, timeout=60)
    moved = LakepkgVersionSensor(task_id="wait_prod_moved", package=PKG, tag="prod", after="{{ params.after }}",
                                 mode="poke", poke_interval=0.3, timeout=60)
    start_publisher() >> newer >> moved
