"""The `files` connector (local folders and S3 prefixes of Parquet/CSV/ORC) and location parsing."""
from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.orc as po
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import SourceError
from lakepkg.write.snapshotting import snapshot
from lakepkg.source.filesystems import filesystem_for, redact


def test_location_forms():
    assert filesystem_for("file:/tmp/x")[1] == "/tmp/x"
    assert filesystem_for("file:///tmp/x")[1] == "/tmp/x"
    assert isinstance(filesystem_for("/tmp/x")[0], pafs.LocalFileSystem)
    assert redact("s3://user:pw@bucket/p?X-Amz-Signature=abc") == "s3://bucket/p"


def test_files_connector_local_and_s3_orc(tmp_path, s3_bucket_url, s3_endpoint, registry):
    d = tmp_path / "pq" / "ds=1"
    d.mkdir(parents=True)
    pq.write_table(pa.table({"a": [1, 2]}), str(d / "f.parquet"))
    fs, path = filesystem_for(s3_bucket_url.rstrip("/") + "/orc", {"endpoint_url": s3_endpoint})
    for k in (1, 2):
        with fs.open_output_stream(f"{path}/k={k}/data.orc") as out:
            po.write_table(pa.table({"v": [f"x{k}"]}), out)
    _res = snapshot("files", to="raw/mixed", registry=registry,
                            tables={"pq": str(tmp_path / "pq"), "orc": s3_bucket_url.rstrip("/") + "/orc"},
                            storage_options={"endpoint_url": s3_endpoint})
    rec, created = _res.record, _res.created
    pkg = lakepkg.load("raw/mixed", registry)
    assert pkg["pq"].to_pandas()["a"].tolist() == [1, 2]
    o = pkg["orc"]
    assert o.partition_columns == ["k"] and sorted(o.to_pandas()["v"]) == ["x1", "x2"]
    assert sorted(f.key for f in o.fragments()) == ["k=1/data.parquet", "k=2/data.parquet"]
    with pytest.raises(SourceError, match="no Parquet"):
        snapshot("files", to="raw/none", registry=registry,
                 tables={"x": s3_bucket_url.rstrip("/") + "/nothing"}, storage_options={"endpoint_url": s3_endpoint})
