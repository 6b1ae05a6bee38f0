"""One folder source for `lakepkg build`, PackageBuilder.add_path and the `files` connector: the same
rules locally and on S3 (the stricter partition check), and the same package from every entry point."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.orc as po
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.errors import SourceError
from lakepkg.source.filesystems import filesystem_for


def _inconsistent(write, base):
    write(f"{base}/ds=1/a.parquet", pa.table({"v": [1]}))
    write(f"{base}/b.parquet", pa.table({"v": [2]}))  # outside the ds= folders


def test_inconsistent_partition_folders_are_refused_locally_and_on_s3(tmp_path, s3_bucket_url, s3_endpoint, registry):
    def local(path, table):
        import os

        os.makedirs(os.path.dirname(path), exist_ok=True)
        pq.write_table(table, path)

    opts = {"endpoint_url": s3_endpoint}
    fs, root = filesystem_for(s3_bucket_url.rstrip("/") + "/bad", opts)

    def remote(path, table):
        with fs.open_output_stream(path) as out:
            pq.write_table(table, out)

    _inconsistent(local, str(tmp_path / "bad"))
    _inconsistent(remote, root)
    for loc in (str(tmp_path / "bad"), s3_bucket_url.rstrip("/") + "/bad"):
        with pytest.raises(SourceError, match="do not all sit in the same key=value partition folders"):
            lakepkg.snapshot("files", to="f/bad", registry=registry, tables={"t": loc}, storage_options=opts)
    with pytest.raises(SourceError, match="do not all sit in the same"):
        lakepkg.build("f/bad", tables={"t": str(tmp_path / "bad")}, registry=registry)
    assert registry.list_packages() == []


def test_build_and_files_connector_give_the_same_package(tmp_path, registry):
    for k in (1, 2):
        (tmp_path / "csv" / f"k={k}").mkdir(parents=True)
        (tmp_path / "csv" / f"k={k}" / "part.csv").write_text(f"a,b\n{k},x{k}\n")
        (tmp_path / "orc" / f"k={k}").mkdir(parents=True)
        po.write_table(pa.table({"v": [f"o{k}"]}), str(tmp_path / "orc" / f"k={k}" / "data.orc"))
    built = lakepkg.build("f/a", tables={"csv": str(tmp_path / "csv"), "orc": str(tmp_path / "orc")}, registry=registry)
    snap = lakepkg.snapshot("files", to="f/b", registry=registry,
                            tables={"csv": str(tmp_path / "csv"), "orc": str(tmp_path / "orc")})
    assert built.top_hash == snap.top_hash
    pkg = lakepkg.load(built.ref, registry)
    assert pkg["csv"].partition_columns == ["k"] and sorted(pkg["csv"].to_pandas()["b"]) == ["x1", "x2"]
    assert pkg["csv"].provenance == {"source": "local", "format": "csv"}
    assert sorted(pkg["orc"].to_pandas()["v"]) == ["o1", "o2"] and pkg["orc"].provenance["format"] == "orc"
    assert sorted(f.key for f in pkg["orc"].fragments()) == ["k=1/data.parquet", "k=2/data.parquet"]
    with pytest.raises(SourceError, match="mixes csv and orc"):
        (tmp_path / "orc" / "k=1" / "x.csv").write_text("v\no9\n")
        lakepkg.build("f/c", tables={"orc": str(tmp_path / "orc")}, registry=registry)
