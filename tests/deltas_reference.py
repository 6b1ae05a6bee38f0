"""Differential check for delta re-snapshots: the same source state snapshotted with deltas off
(``LAKEPKG_DELTAS=0``: every fragment cut from the source) must hold exactly the same rows."""
from __future__ import annotations

import os
import struct
import tempfile
from typing import Any, Callable


def _canon(v: Any) -> Any:
    if isinstance(v, float):
        return struct.pack("<d", v).hex()   # floats by their bits: -0.0 and NaN payloads count
    if isinstance(v, list):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    return v


def rows_of(registry: Any, top_hash: str, table: str) -> list[Any]:
    from lakepkg.read.package import Package

    t = Package(registry, top_hash)[table].to_arrow()
    return sorted((_canon(r) for r in t.to_pylist()), key=repr)


def assert_same_rows_as_deltas_off(result: Any, registry: Any, snapshot: Callable[[Any], Any]) -> None:
    """If ``result`` (a publish result) used a delta on any table, run ``snapshot(other_registry)`` with
    deltas off into a scratch registry and require the same rows in every table."""
    from lakepkg.registry import open_registry

    sources = result.record.sources or {}
    if not any((s.get("volatile") or {}).get("delta") for s in sources.values()):
        return
    old = os.environ.get("LAKEPKG_DELTAS")
    os.environ["LAKEPKG_DELTAS"] = "0"
    try:
        ref_reg = open_registry(tempfile.mkdtemp(prefix="lakepkg-deltas-off-"))
        ref = snapshot(ref_reg)
    finally:
        if old is None:
            os.environ.pop("LAKEPKG_DELTAS", None)
        else:
            os.environ["LAKEPKG_DELTAS"] = old
    for table in sources:
        if (sources[table].get("volatile") or {}).get("delta"):
            assert rows_of(registry, result.record.top_hash, table) == rows_of(ref_reg, ref.record.top_hash, table), \
                f"table {table}: the delta re-snapshot holds other rows than a snapshot with LAKEPKG_DELTAS=0"
