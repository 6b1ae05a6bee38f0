"""Build without publish: ``lakepkg.Snapshot`` runs describe → build → publish(checks=…) as separate
steps (write-audit-publish); a failing check publishes nothing, and the published version is the
one built (the top hash ``lakepkg.snapshot`` gives for the same source)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import NotFoundError


def _folder(tmp_path) -> str:
    root = tmp_path / "events"
    for day in (1, 2):
        (root / f"ds={day}").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"e": [day * 10, day * 10 + 1]}), root / f"ds={day}" / "part-0.parquet")
    return str(root)


def test_build_publishes_nothing_and_a_failing_check_refuses(tmp_path, registry):
    job = lakepkg.Snapshot("files", "raw/events", registry=registry, tables={"events": _folder(tmp_path)})
    described = job.describe()
    assert [snap.name for _src, snap in described] == ["events"]
    assert [f.path.rsplit("/", 2)[-2] for f in described[0][1].files] == ["ds=1", "ds=2"]  # listed, not read
    built = job.build()
    assert built.tables["events"]["rows"] == 4
    with pytest.raises(NotFoundError):
        registry.resolve("raw/events")  # built: every object stored, nothing visible

    seen = []

    def no_rows_lost(b):
        seen.append(b.top_hash)
        if b.tables["events"]["rows"] != 5:
            raise ValueError("expected 5 rows")

    with pytest.raises(ValueError, match="expected 5 rows"):
        job.publish(checks=[no_rows_lost])
    assert seen == [built.top_hash]
    with pytest.raises(NotFoundError):
        registry.resolve("raw/events")  # the check refused: nothing published

    res = job.publish("audited", checks=[lambda b: None])
    assert res.created and res.top_hash == built.top_hash and res.record.message == "audited"
    again = lakepkg.snapshot("files", to="raw/events", registry=registry, tables={"events": _folder(tmp_path)})
    assert again.top_hash == built.top_hash and not again.created  # the one-call verb: the same version
