"""Which Python Spark's workers run, for the sessions lakepkg starts or registers with.

Spark starts its Python workers (the ``pkg`` data source's planner and readers) with
``PYSPARK_PYTHON``, else ``python3`` from ``PATH``. A script run as ``.venv/bin/python etl.py``
(cron, an Airflow task) without the venv activated then has workers on a ``python3`` that lacks
lakepkg, and Spark says only ``DATA_SOURCE_NOT_FOUND``. So, on a local master:

* the user's choice wins: the ``spark.pyspark.python`` conf, else the ``PYSPARK_PYTHON`` variable;
* otherwise the workers run the driver's own interpreter (``sys.executable``);
* a chosen worker Python that cannot import lakepkg is a one-line :class:`ConfigError` naming the
  setting and how to fix it, before Spark runs anything.

On a cluster master the executors' Python lives on other hosts: Spark's own choice is kept and
nothing is checked from the driver.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any, Mapping, Optional

from lakepkg.errors import ConfigError

CONF = "spark.pyspark.python"
ENV = "PYSPARK_PYTHON"
#: worker interpreters already found able to import lakepkg (path -> True), checked once per process
_checked: dict[str, bool] = {}


def chosen_python(conf: Optional[str], env: Mapping[str, str]) -> Optional[tuple[str, str]]:
    """The worker Python the user chose, with where it was set (``spark.pyspark.python`` or
    ``PYSPARK_PYTHON``), or None when they chose none."""
    if conf:
        return conf, CONF
    if env.get(ENV):
        return env[ENV], ENV
    return None


def use_worker_python(spark: Any) -> str:
    """Point ``spark``'s Python workers at the user's chosen interpreter, else at this one, and
    check that it can import lakepkg (local masters only). Returns the interpreter workers run."""
    sc = spark.sparkContext
    if not str(sc.master).startswith("local"):
        return str(sc.pythonExec)
    chosen = chosen_python(sc.getConf().get(CONF, None), os.environ)
    exe, where = chosen if chosen is not None else (sys.executable, "")
    if where:
        check_imports_lakepkg(exe, where)
    sc.pythonExec = exe  # what every Python data source and UDF registered from now on is started with
    return exe


def check_imports_lakepkg(exe: str, where: str) -> None:
    """Raise a one-line :class:`ConfigError` when the interpreter ``exe`` (set by ``where``)
    cannot import lakepkg, as Spark's workers started with it could not."""
    path = shutil.which(exe) or exe
    if _same_interpreter(path) or _checked.get(path):
        return
    fix = (f"set {ENV} (or the {CONF} conf) to a Python that has lakepkg installed, e.g. {sys.executable}, "
           f"or unset it so that lakepkg uses the driver's Python")
    probe = "import importlib.util as u, sys; sys.exit(0 if u.find_spec('lakepkg') else 3)"
    try:
        done = subprocess.run([path, "-c", probe], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"Spark's Python workers would run {exe} ({where}), which cannot start "
                          f"({type(exc).__name__}); {fix}") from None
    if done.returncode != 0:
        raise ConfigError(f"Spark's Python workers run {exe} ({where}), which cannot import lakepkg; {fix}")
    _checked[path] = True


def _same_interpreter(path: str) -> bool:
    # by path, not by inode: a venv's python is a symlink to the system one, with other packages
    return os.path.abspath(path) == os.path.abspath(sys.executable)
