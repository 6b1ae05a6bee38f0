"""Restore a snapshotted table into the lake and the real metastore (read back by the connector;
Spark reading a restored table is in test_hive_spark.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

import lakepkg
from lakepkg.errors import ConfigError
from lakepkg_connectors.hive import connect, snapshot_hive
from lakepkg.metastore.restore import restore_table
from tests.test_hive_connector import _orders


@pytest.fixture()
def hdb(metastore):
    return "r" + uuid.uuid4().hex[:10]


def test_restore_registers_same_schema_partitions_and_bytes(metastore, hdb, tmp_path, registry):
    _orders(metastore, hdb, tmp_path, n=4)
    first = snapshot_hive([f"{hdb}.orders"], metastore=metastore, to="sales/orders", registry=registry)
    ref = f"sales/orders@{first.record.top_hash[:12]}"
    dest = tmp_path / "restored"
    res = restore_table(ref, table="orders", into=f"{hdb}.orders_restored", location=str(dest),
                        metastore=metastore, registry=registry)
    assert res.files == 4 and res.partitions == 4 and res.rows == 80
    with connect(metastore) as c:
        t = c.get_table(hdb, "orders_restored")
        parts = c.get_partitions(hdb, "orders_restored", -1)
    assert [(f.name, f.type) for f in t.sd.cols] == [("id", "bigint"), ("amt", "decimal(10,2)"), ("name", "string")]
    assert [(f.name, f.type) for f in t.partitionKeys] == [("ds", "string")]
    assert t.parameters["lakepkg.source"] == f"sales/orders@{first.record.top_hash}"
    assert sorted(p.values[0] for p in parts) == [f"2026-11-0{d}" for d in range(1, 5)]
    assert os.path.isfile(dest / "ds=2026-11-01" / "part-00000.parquet")
    # snapshot the restored table: same fragments (byte-identical files), same rows
    back = snapshot_hive([f"{hdb}.orders_restored"], metastore=metastore, to="sales/back", registry=registry)
    a = lakepkg.load(ref, registry)["orders"]
    b = lakepkg.load("sales/back", registry)["orders_restored"]
    assert sorted(f.object for f in a.fragments()) == sorted(f.object for f in b.fragments())
    assert b.schema.equals(a.schema)
    # refuses an existing table and a non-empty location, registers nothing
    with pytest.raises(ConfigError, match="already exists"):
        restore_table(ref, table="orders", into=f"{hdb}.orders_restored", location=str(tmp_path / "x"),
                      metastore=metastore, registry=registry)
    with pytest.raises(ConfigError, match="not empty"):
        restore_table(ref, table="orders", into=f"{hdb}.other", location=str(dest), metastore=metastore,
                      registry=registry)
    with connect(metastore) as c:
        assert "other" not in c.get_all_tables(hdb)


def test_restore_cli_json(metastore, hdb, tmp_path, home):
    _orders(metastore, hdb, tmp_path, n=2)
    env = {**os.environ, "LAKEPKG_HOME": str(home)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "lakepkg.cli", *a], capture_output=True, text=True, env=env)
    out = run("snapshot", "hive", f"{hdb}.orders", "--metastore", metastore, "--to", "sales/orders", "--json")
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout)["top_hash"]
    out = run("restore", f"sales/orders@{top[:10]}", "--table", "orders", "--into", f"{hdb}.back",
              "--location", str(tmp_path / "back"), "--metastore", metastore, "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["table"] == f"{hdb}.back" and d["partitions"] == 2 and d["rows"] == 40
    bad = run("restore", f"sales/orders@{top[:10]}", "--table", "nope", "--into", f"{hdb}.b2",
              "--location", str(tmp_path / "b2"), "--metastore", metastore)
    assert bad.returncode == 1 and "no table 'nope'" in bad.stderr and bad.stderr.count("\n") == 1
