"""Issue 10, points 6, 7 and 9: each defect found by a careful user, now a one-line error (or fixed)."""
from __future__ import annotations

import json
import os
import threading

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import ConfigError, LakepkgError, SchemaMismatchError, SourceError
from lakepkg.write.build import PackageBuilder


@pytest.fixture()
def table(registry):
    b = PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"id": range(10), "ds": ["a", "b"] * 5,
                                   "ts": pd.date_range("2026-01-01", periods=10, freq="D")}), partition_cols=["ds"])
    b.publish("x/y")
    return lakepkg.load("x/y", registry)["t"]


def _cli(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line_error(rc, err):
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc != 0 and len(lines) == 1 and lines[0].startswith("lakepkg: error: ") and "Traceback" not in err, err
    return lines[0]


# -- point 6 -------------------------------------------------------------------------------------

def test_5000_character_package_name(home, tmp_path, capsys):
    pq.write_table(pa.table({"id": [1]}), tmp_path / "a.parquet")
    line = _one_line_error(*_cli(["build", "team/" + "x" * 5000, "-t", f"t={tmp_path / 'a.parquet'}"], capsys)[::2])
    assert "at most 255" in line and len(line) < 300
    line = _one_line_error(*_cli(["log", "team/" + "x" * 5000], capsys)[::2])
    assert "File name too long" not in line


def test_meta_must_be_an_object(home, tmp_path, capsys):
    pq.write_table(pa.table({"id": [1]}), tmp_path / "a.parquet")
    line = _one_line_error(*_cli(["build", "t/m", "-t", f"t={tmp_path / 'a.parquet'}", "--meta", "[1,2]"], capsys)[::2])
    assert "--meta must be a JSON object" in line
    from lakepkg.registry import open_registry

    assert open_registry().list_packages() == []  # nothing published


def test_install_dest_unwritable(home, table, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = _one_line_error(*_cli(["install", "x/y", "--dest", str(blocker / "sub")], capsys)[::2])
    assert str(blocker) in line


def test_wrong_filter_column(table):
    with pytest.raises(LakepkgError) as ei:
        table.to_pandas(filters=[("nope", "=", 1)])
    assert "nope" in str(ei.value) and "__fragment_index" not in str(ei.value) and "\n" not in str(ei.value)


def test_unknown_column_in_columns(table):
    with pytest.raises(LakepkgError) as ei:
        table.to_pandas(columns=["nope"])
    msg = str(ei.value)
    assert "nope" in msg and "__fragment_index" not in msg and "__filename" not in msg


@pytest.mark.parametrize("flt", [[("id", "=", "abc")], [("ds", "=", 5)], [("id", ">", "2026-01-01")],
                                 [("ts", ">", 3)], [("id", "in", ["a", "b"])]])
def test_type_mismatched_filter_value(table, flt):
    with pytest.raises(ConfigError) as ei:
        table.to_pandas(filters=flt)
    assert "compares column" in str(ei.value) and "\n" not in str(ei.value)


def test_filter_shapes(table):
    assert table.to_pandas(filters=("id", "=", 3))["id"].tolist() == [3]  # one tuple without its list
    assert sorted(table.to_pandas(filters=[("id", "in", [1, 2])])["id"]) == [1, 2]
    with pytest.raises(ConfigError, match="takes a list"):
        table.to_pandas(filters=[("id", "in", 3)])
    with pytest.raises(ConfigError, match="list of"):
        table.to_pandas(filters="id = 3")
    assert sorted(table.to_pandas(filters=[("ds", "=", "a"), ("id", ">=", 4)])["id"]) == [4, 6, 8]


def test_show_and_tag_refuse_paths(home, table, capsys):
    line = _one_line_error(*_cli(["show", "x/y:latest/../etc"], capsys)[::2])
    assert ".." in line or "path" in line
    _one_line_error(*_cli(["show", "x/y:latest/t"], capsys)[::2])  # show takes a version, not a table
    _one_line_error(*_cli(["tag", "x/y", "prod", "../../x"], capsys)[::2])
    _one_line_error(*_cli(["tag", "x/../y", "prod"], capsys)[::2])
    _one_line_error(*_cli(["tag", "x/y", "pr/od"], capsys)[::2])


def test_ls_of_a_registry_that_does_not_exist(home, tmp_path, capsys):
    line = _one_line_error(*_cli(["ls", "--registry", str(tmp_path / "nonexistent")], capsys)[::2])
    assert "no registry at" in line
    rc, out, err = _cli(["ls", "--json"], capsys)  # the default registry on first use: empty, not an error
    assert rc == 0 and json.loads(out) == []


def test_spark_format_pkg_errors_are_one_line(spark, table, registry):
    from pyspark.errors import AnalysisException

    for ref in ("x/nosuch:latest/t", "x/y:latest/nope"):
        with pytest.raises(AnalysisException) as ei:
            spark.read.format("pkg").option("registry", registry.location).load(ref).schema
        msg = str(ei.value)
        assert "lakepkg: " in msg and "Traceback" not in msg and 'File "' not in msg, msg


# -- point 7 (not store-related) ------------------------------------------------------------------

def test_add_table_refuses_options_it_cannot_honour(registry, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), folder / "a.parquet")
    b = PackageBuilder(registry)
    with pytest.raises(ConfigError, match="partition_cols"):
        b.add_table("t", str(folder), partition_cols=["id"])
    with pytest.raises(ConfigError, match="rows_per_fragment"):
        b.add_table("t", str(folder), rows_per_fragment=1)
    batches = pa.table({"id": [1, 2]}).to_batches()
    with pytest.raises(ConfigError, match="record batches"):
        b.add_table("t", iter(batches), partition_cols=["id"])
    with pytest.raises(ConfigError, match="positive"):
        b.add_table("t", pd.DataFrame({"id": [1]}), rows_per_fragment=0)
    node = b.add_table("t", pd.DataFrame({"id": range(10)}), rows_per_fragment=3)  # honoured for frames
    assert node.fragments == 4


def test_ingest_schema_check_is_not_lost_between_threads(registry, tmp_path):
    """Many files, two schemas, four worker threads: the mismatch is always found."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(24):
        t = pa.table({"id": pa.array([i], pa.int64())}) if i % 2 else pa.table({"id": pa.array([str(i)])})
        pq.write_table(t, folder / f"f{i:03d}.parquet")
    for _ in range(3):
        b = PackageBuilder(registry)
        with pytest.raises(SchemaMismatchError):
            b.add_table("t", str(folder))
    same = tmp_path / "same"
    same.mkdir()
    for i in range(40):
        pq.write_table(pa.table({"id": pa.array([i + 1000], pa.int64())}), same / f"f{i:03d}.parquet")
    b = PackageBuilder(registry)
    b.add_table("t", str(same))
    built = b.build()
    facts = getattr(built, "tables", None) or getattr(built, "stats")
    assert facts["t"]["files_read"] == 40 and facts["t"]["objects_written"] == 40


def test_iceberg_provenance_keeps_an_absolute_sqlite_uri(registry, tmp_path):
    from pyiceberg.catalog.sql import SqlCatalog

    from lakepkg.write.snapshotting import snapshot

    uri = f"sqlite:///{tmp_path}/catalog.db"
    assert uri.startswith("sqlite:////")
    props = {"uri": uri, "warehouse": f"file://{tmp_path}/warehouse"}
    cat = SqlCatalog("lake", **props)
    cat.create_namespace("sales")
    tbl = cat.create_table("sales.orders", schema=pa.schema([("id", pa.int64())]))
    tbl.append(pa.table({"id": pa.array([1, 2], pa.int64())}))
    snapshot("iceberg", "lake/orders", registry=registry, catalog=props, catalog_name="lake", tables=["sales.orders"])
    prov = json.dumps(lakepkg.load("lake/orders", registry)["orders"].provenance)
    assert uri in prov and "sqlite://" + str(tmp_path).lstrip("/") not in prov.replace(uri, "")


def test_mistyped_iceberg_catalog_uri_creates_nothing(registry, tmp_path):
    from lakepkg.write.snapshotting import snapshot

    typo = tmp_path / "catalgo.db"
    with pytest.raises(SourceError, match="no SQLite Iceberg catalog"):
        snapshot("iceberg", "lake/x", registry=registry, catalog={"uri": f"sqlite:///{typo}"}, tables=["a.b"])
    assert not typo.exists()
    with pytest.raises(SourceError) as ei:
        snapshot("iceberg", "lake/x", registry=registry, catalog={"type": "sql"}, tables=["a.b"])
    assert "--uri" not in str(ei.value) and "--catalog-uri" in str(ei.value)


def test_author_is_the_airflow_dag_owner(monkeypatch):
    from lakepkg.config import author

    for var in ("LAKEPKG_AUTHOR", "USER", "LOGNAME", "USERNAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LAKEPKG_CONFIG", "/nonexistent/config.yaml")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_OWNER", "data-eng")
    assert author() == "data-eng"
    monkeypatch.setenv("LAKEPKG_AUTHOR", "alice")
    assert author() == "alice"  # an explicit setting wins
    monkeypatch.delenv("LAKEPKG_AUTHOR")
    monkeypatch.delenv("AIRFLOW_CTX_DAG_OWNER")
    import getpass

    assert author() == getpass.getuser()  # no login variable: the account the process runs as (issue 23)


def test_a_record_missing_or_mistyping_a_field_is_an_integrity_error_not_a_traceback(registry):
    """Found by the corruption fuzzer (seed 58121): a record whose JSON parses but lacks ``top_hash``
    reached verify as a TypeError from the dataclass."""
    from lakepkg.errors import IntegrityError
    from lakepkg.maintain.verify import verify_registry
    from lakepkg.registry.core import VersionRecord

    with pytest.raises(IntegrityError, match="version record k lacks top_hash"):
        VersionRecord.from_json({"package": "a/b", "created_at": "2026-01-01T00:00:00+00:00"}, key="k")
    with pytest.raises(IntegrityError, match="has run of the wrong kind"):
        VersionRecord.from_json({"package": "a/b", "top_hash": "0" * 64, "created_at": "2026-01-01T00:00:00",
                                 "run": "x"}, key="k")
    with pytest.raises(IntegrityError, match="created_at of the wrong kind"):
        VersionRecord.from_json({"package": "a/b", "top_hash": "0" * 64, "created_at": "yesterday"}, key="k")
    res = lakepkg.build("t/rec", tables={"x": pd.DataFrame({"a": [1, 2]})}, registry=registry)
    key = res.record.key
    doc = json.loads(registry.meta.read(key)[0])
    del doc["top_hash"]
    path = os.path.join(registry.location, "meta", *key.split("/"))
    os.chmod(path, 0o644)
    os.unlink(path)  # a new inode, as a writer that replaces a file makes
    with open(path, "w") as f:
        json.dump(doc, f)
    rep = verify_registry(registry)
    assert not rep.ok and any("lacks top_hash" in e for e in rep.errors)


def test_a_lock_written_to_a_device_leaves_the_device_a_device(registry, tmp_path):
    """Found by this round's suite: the fault fuzzer's ``lock NAME --file /dev/null`` replaced the
    machine's /dev/null with a regular file (an atomic rename over it), and initdb of the exact engine
    then failed. A device or pipe is written to, never replaced."""
    import stat

    from lakepkg.maintain.lockfile import lock
    from lakepkg.write.build import PackageBuilder

    b = PackageBuilder(registry)
    b.add_table("t", pd.DataFrame({"k": [1, 2]}))
    b.publish("dev/null-lock")
    node = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a null device of the test's own
    else:
        os.mkfifo(node)  # a pipe: reading or replacing it would hang or break the reader
        import threading

        threading.Thread(target=lambda: open(node, "rb").read(), daemon=True).start()
    lock(["dev/null-lock"], registry, str(node))
    mode = os.stat(node).st_mode
    assert stat.S_ISCHR(mode) or stat.S_ISFIFO(mode), "the lock replaced the device with a regular file"
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
