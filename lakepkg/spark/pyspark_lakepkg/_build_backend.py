"""Build backend: setuptools, plus a real ``pyspark_lakepkg.py`` in editable installs.

Spark finds Python data sources by listing the top-level modules on ``sys.path`` whose names
start with ``pyspark_`` (``pkgutil.iter_modules()`` in ``pyspark/sql/worker/lookup_data_sources.py``).
A regular wheel installs the ``pyspark_lakepkg`` package into site-packages, so it is found. An
editable install (``pip install -e .``, the README's command) maps packages through an import
hook instead (our ``package-dir`` mapping rules out setuptools' plain ``.pth`` layout), and an
import hook is invisible to ``iter_modules``: ``spark.read.format("pkg")`` then fails with
``DATA_SOURCE_NOT_FOUND``. This backend adds one file to the editable wheel, a module
``pyspark_lakepkg.py`` at the wheel's root (so it lands in site-packages) that re-exports the
data source from the editable ``lakepkg``. Everything else is setuptools' ``build_meta``.

This module is loaded by pip from ``backend-path`` in a build environment where lakepkg and its
dependencies are not installed: it imports only the standard library and setuptools.
"""
from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from typing import Any, Optional

from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F401,F403  (the rest of the PEP 517 / 660 interface)

STUB_NAME = "pyspark_lakepkg.py"
STUB = b'''"""lakepkg's ``pkg`` data source for Spark (editable install; see lakepkg/spark/pyspark_lakepkg)."""
from lakepkg.spark.reader import PkgDataSource as DefaultSource

__all__ = ["DefaultSource"]
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}\n"


def add_stub(wheel_path: str) -> None:
    """Rewrite the wheel at ``wheel_path`` with ``pyspark_lakepkg.py`` added and listed in RECORD."""
    with zipfile.ZipFile(wheel_path) as src:
        if STUB_NAME in src.namelist():
            return
    tmp = wheel_path + ".tmp"
    with zipfile.ZipFile(wheel_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        for name in names:
            data = src.read(name)
            if name == record:
                data += _record_line(STUB_NAME, STUB).encode("utf-8")
            dst.writestr(src.getinfo(name), data)
        dst.writestr(STUB_NAME, STUB)
    os.replace(tmp, wheel_path)


def build_editable(wheel_directory: str, config_settings: Optional[dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    """setuptools' editable wheel, with the ``pyspark_lakepkg`` module Spark's scan can see."""
    name: str = _meta.build_editable(wheel_directory, config_settings, metadata_directory)
    add_stub(os.path.join(wheel_directory, name))
    return name
