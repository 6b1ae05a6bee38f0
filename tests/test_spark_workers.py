"""Spark's Python workers run the Python that runs the script (issue 23, item 8).

A script run as ``.venv/bin/python etl.py`` (cron, an Airflow task), with the venv not activated and
a ``PATH`` whose ``python3`` lacks lakepkg, reads a package through ``spark.read.format("pkg")`` on
``local[2]``; a worker Python the user chose that cannot import lakepkg is one lakepkg line naming
``PYSPARK_PYTHON`` / ``spark.pyspark.python``, with no py4j stack.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest

import lakepkg.spark
from lakepkg.errors import ConfigError
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder

SYSTEM_PYTHON = "/usr/bin/python3"
BARE_PATH = "/usr/bin:/bin"


def _system_python_lacks_lakepkg(cwd: str) -> None:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import lakepkg"], capture_output=True, cwd=cwd,
                           env={"PATH": BARE_PATH})
    assert probe.returncode != 0, "this test needs a python3 on PATH without lakepkg"


def test_a_script_run_by_the_venv_python_not_activated_reads_format_pkg(tmp_path):
    _system_python_lacks_lakepkg(str(tmp_path))
    loc = str(tmp_path / "registry")
    b = PackageBuilder(open_registry(loc))
    b.add_table("orders", pa.table({"id": list(range(12)), "ds": ["a"] * 5 + ["b"] * 7}),
                partition_cols=["ds"], rows_per_fragment=3)
    b.publish("shop/orders")
    script = textwrap.dedent(f"""
        from pyspark.sql import SparkSession
        import lakepkg.spark

        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.sql.shuffle.partitions", "2").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        lakepkg.spark.register(spark)
        df = spark.read.format("pkg").option("registry", {loc!r}).load("shop/orders/orders")
        print("ROWS", df.count(), flush=True)
        spark.stop()

        # the user's choice wins over the driver's Python; one without lakepkg is refused in one line
        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.pyspark.python", {SYSTEM_PYTHON!r}).getOrCreate())
        print("SECOND SESSION", flush=True)
        lakepkg.spark.register(spark)
        print("NOT REFUSED", flush=True)
    """)
    (tmp_path / "etl.py").write_text(script)
    venv_python = os.path.abspath(sys.executable)  # by absolute path; no VIRTUAL_ENV, no venv bin on PATH
    env = {"PATH": BARE_PATH, "HOME": os.environ.get("HOME", str(tmp_path)), "LAKEPKG_HOME": str(tmp_path / "home")}
    out = subprocess.run([venv_python, "etl.py"], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                         timeout=300)
    assert "ROWS 12" in out.stdout, out.stderr[-3000:]
    assert "SECOND SESSION" in out.stdout and "NOT REFUSED" not in out.stdout, out.stdout + out.stderr[-3000:]
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("lakepkg.errors.ConfigError: Spark's Python workers run /usr/bin/python3 "
                           "(spark.pyspark.python), which cannot import lakepkg; set PYSPARK_PYTHON"), last
    assert venv_python in last  # says which Python would do
    assert "py4j" not in out.stderr.lower() and "at org.apache" not in out.stderr


def test_a_user_set_pyspark_python_without_lakepkg_is_one_lakepkg_line(spark, monkeypatch, tmp_path):
    _system_python_lacks_lakepkg(str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the checkout is not on the probe's path
    before = spark.sparkContext.pythonExec
    monkeypatch.setenv("PYSPARK_PYTHON", SYSTEM_PYTHON)
    with pytest.raises(ConfigError) as ei:
        lakepkg.spark.register(spark)
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("Spark's Python workers run /usr/bin/python3 (PYSPARK_PYTHON), which cannot import lakepkg")
    assert "spark.pyspark.python" in msg and sys.executable in msg
    assert spark.sparkContext.pythonExec == before  # a refused choice changes nothing in the session
    # a user-set Python that has lakepkg is used as given
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    lakepkg.spark.register(spark)
    assert spark.sparkContext.pythonExec == sys.executable
