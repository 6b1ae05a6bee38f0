"""No read returns bytes that do not hash to the object's address (issue 10, point 1).

One fragment of a published table is damaged behind lakepkg's back — replaced by another valid
fragment's bytes (the case that used to return other rows with exit 0), or truncated (the case
that used to print a raw ArrowInvalid traceback) — and every read path is tried: each raises one
line naming the object and ``lakepkg verify``, and none returns rows.
"""
from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import lakepkg
from lakepkg.cli import run
from lakepkg.errors import IntegrityError
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder


def _publish(reg, name, lo):
    b = PackageBuilder(reg)
    b.add_table("t", pd.DataFrame({"id": range(lo, lo + 400), "ds": ["a", "b"] * 200}), partition_cols=["ds"],
                rows_per_fragment=50)
    return b.publish(name)


@pytest.fixture(params=["replaced", "truncated"])
def damaged(request, tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEPKG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAKEPKG_REGISTRY", raising=False)
    loc = str(tmp_path / "reg")
    reg = open_registry(loc)
    _publish(reg, "v/good", 0)
    _publish(reg, "v/other", 10_000)
    target = lakepkg.load("v/good", reg)["t"].fragments()[0].object
    other = lakepkg.load("v/other", reg)["t"].fragments()[0].object
    p = os.path.join(reg.store.objects_dir, target[:2], target)
    os.chmod(p, 0o644)
    if request.param == "replaced":
        os.unlink(p)
        shutil.copyfile(os.path.join(reg.store.objects_dir, other[:2], other), p)
    else:
        data = open(p, "rb").read()
        os.unlink(p)
        open(p, "wb").write(data[: len(data) // 2])
    return loc, target


def _is_one_line_integrity(exc, digest):
    msg = str(exc)
    return isinstance(exc, IntegrityError) and digest[:12] in msg and "lakepkg verify" in msg and "\n" not in msg


READS = {
    "to_pandas": lambda t: t.to_pandas(),
    "to_arrow": lambda t: t.to_arrow(),
    "to_arrow_dataset": lambda t: t.to_arrow_dataset().to_table(),
    "head": lambda t: t.head(1000),
    "scan.to_batches": lambda t: list(t.scan().to_batches()),
    "scan.local_paths": lambda t: t.scan().local_paths(),
    "fragment.to_pandas": lambda t: [f.to_pandas() for f in t.fragments()],
    "filtered": lambda t: t.to_pandas(filters=[("ds", "in", ["a", "b"])]),
}


@pytest.mark.parametrize("how", sorted(READS))
def test_python_reads_refuse_the_damaged_fragment(damaged, how):
    loc, digest = damaged
    t = lakepkg.load("v/good", open_registry(loc))["t"]
    with pytest.raises(IntegrityError) as ei:
        READS[how](t)
    assert _is_one_line_integrity(ei.value, digest), str(ei.value)


def _cli(args, capsys):
    capsys.readouterr()
    rc = run(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cat_and_install_refuse_the_damaged_fragment(damaged, capsys, tmp_path):
    loc, digest = damaged
    rc, out, err = _cli(["cat", "v/good/t", "-n", "1000", "-r", loc], capsys)
    assert rc == 1 and out == "" and digest[:12] in err and "Traceback" not in err, err
    rc, out, err = _cli(["install", "v/good", "-r", loc, "--dest", str(tmp_path / "dest")], capsys)
    assert rc == 1 and digest[:12] in err and "Traceback" not in err, err
    laid = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "dest") for f in fs] if (tmp_path / "dest").exists() else []
    from lakepkg.format.hashing import hash_file

    assert digest not in {hash_file(p)[0] for p in laid}  # nothing laid out under the damaged fragment's name


def test_spark_reads_refuse_the_damaged_fragment(damaged, spark):
    loc, digest = damaged
    from pyspark.errors import PySparkException
    from py4j.protocol import Py4JJavaError

    t = lakepkg.load("v/good", open_registry(loc))["t"]
    df = spark.read.format("pkg").option("registry", loc).load("v/good/t".replace("/t", ":latest/t"))
    with pytest.raises((PySparkException, Py4JJavaError)) as ei:
        df.collect()
    assert digest[:12] in str(ei.value) and "lakepkg verify" in str(ei.value)
    with pytest.raises((IntegrityError, PySparkException, Py4JJavaError)) as ei:
        t.to_spark(spark).collect()
    assert digest[:12] in str(ei.value)
