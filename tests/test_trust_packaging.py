"""The README's install line (``pip install -e .``) gives a working ``spark.read.format("pkg")``.

A fresh virtualenv (no ``--system-site-packages``) gets lakepkg exactly as the README installs it,
``pip install -e <repo>``, with the build backend of pyproject.toml. Installing every dependency
into that virtualenv from the pip cache takes minutes (pyarrow, pandas, pyspark, boto3), so the
dependencies are lent instead: a ``.pth`` file in the new virtualenv names a folder of links to
the test virtualenv's site-packages *minus* everything of lakepkg's (its dist-info, its editable
finder, any ``pyspark_lakepkg``), and pip runs with ``--no-deps``. Folders named in a ``.pth``
file are added to ``sys.path`` but their own ``.pth`` files are not run, so nothing of the test
virtualenv's lakepkg install leaks in: what Spark finds is what this editable install provides.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv

import pandas as pd
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAKEPKG_OWN = ("lakepkg", "__editable__", "pyspark_lakepkg", "_lakepkg", "__pycache__")


def _lend_site_packages(view: str) -> None:
    site = sysconfig.get_paths()["purelib"]
    os.makedirs(view)
    for name in os.listdir(site):
        if name.lower().startswith(LAKEPKG_OWN) or name.endswith(".pth"):
            continue
        os.symlink(os.path.join(site, name), os.path.join(view, name))


@pytest.mark.timeout(600)
def test_readme_install_line_gives_format_pkg(tmp_path):
    from lakepkg.registry import open_registry
    from lakepkg.write.build import PackageBuilder

    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert "pip install -e ." in readme  # the line this test reproduces

    reg = open_registry(str(tmp_path / "reg"))
    b = PackageBuilder(reg)
    b.add_table("orders", pd.DataFrame({"id": range(40), "ds": ["a", "b"] * 20}), partition_cols=["ds"])
    rec = b.publish("shop/orders")

    src = tmp_path / "src"  # a clean copy: the checkout's build/ and egg-info may hold stale files
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "data",
                                                             "__pycache__", ".pytest_cache", "out"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(str(env_dir))
    py = str(env_dir / "bin" / "python")
    new_site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    view = str(tmp_path / "lent-deps")
    _lend_site_packages(view)
    with open(os.path.join(new_site, "zz_lent_deps.pth"), "w") as f:
        f.write(view + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    p = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "-e", str(src)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]

    script = textwrap.dedent(f"""
        import pkgutil, sys
        found = [m.name for m in pkgutil.iter_modules() if m.name.startswith("pyspark_")]
        assert found == ["pyspark_lakepkg"], found
        assert "lakepkg" not in sys.modules
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate())
        df = spark.read.format("pkg").option("registry", {str(tmp_path / 'reg')!r}).load("shop/orders@{rec.top_hash[:12]}/orders")
        print("ROWS", df.count(), df.filter("ds = 'a'").count())
        import lakepkg
        print("FROM", lakepkg.__file__)
        spark.stop()
    """)
    env["PYSPARK_PYTHON"] = py
    env["PYSPARK_DRIVER_PYTHON"] = py
    out = subprocess.run([py, "-c", script], env=env, capture_output=True, text=True, timeout=400, cwd=str(tmp_path))
    assert "ROWS 40 20" in out.stdout, out.stderr[-3000:]
    assert f"FROM {src}" in out.stdout, out.stdout  # the editable install's lakepkg, not the test venv's
