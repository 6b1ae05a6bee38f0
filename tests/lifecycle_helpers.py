"""Shared by the lifecycle tests: packages with a planted marker value, and byte scans for it."""
from __future__ import annotations

import os
import uuid
import warnings
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]


def new_marker() -> str:
    # sorts after every other customer value, so it is a fragment's max statistic (visible in footers and pages)
    return f"zz-marker-{uuid.uuid4().hex}"


def orders(version: int, marker: str, n: int = 40) -> pd.DataFrame:
    """ds=2026-11-01: the same rows in every version (marker at rows 3 and 17); ds=2026-11-02: changes with
    ``version`` (marker at row 5); ds=2026-11-03: changes with ``version``, no marker."""
    rows = []
    for i in range(n):
        rows.append({"id": i, "customer": marker if i in (3, 17) else f"c{i % 13:02d}", "amount": float(i), "ds": DAYS[0]})
        rows.append({"id": 1000 + i, "customer": marker if i == 5 else f"c{i % 11:02d}", "amount": float(i * version + 1), "ds": DAYS[1]})
        rows.append({"id": 2000 + i, "customer": f"c{i % 7:02d}", "amount": float(i + version * 100), "ds": DAYS[2]})
    return pd.DataFrame(rows)


def build(reg: Any, name: str, frame: pd.DataFrame, message: str = "", tables: str = "orders", **kw: Any) -> Any:
    import lakepkg

    b = lakepkg.PackageBuilder(reg)
    b.add_table(tables, frame, partition_cols=["ds"])
    b.add_table("notes", pd.DataFrame({"note": [f"{name} {message}"]}))
    return b.publish(name, message or name, run={"dag_id": "nightly", "run_id": message, "inputs": ["src/raw@1234abcd"]}, **kw)


def populate(reg: Any, marker: str) -> dict[str, list[Any]]:
    """sales/orders (3 versions, v1 tagged prod), crm/orders (2 versions, one partition holding only
    marker rows), sales/orders-eu (derived by a partition filter from sales/orders v2), ops/other
    (no orders table)."""
    import lakepkg

    out: dict[str, list[Any]] = {"sales/orders": [], "crm/orders": []}
    for v in range(3):
        out["sales/orders"].append(build(reg, "sales/orders", orders(v, marker), f"v{v}"))
    reg.set_tag("sales/orders", "prod", out["sales/orders"][1].top_hash)
    for v in range(2):
        f = orders(v + 7, marker, n=20)
        only = pd.DataFrame({"id": [9000 + v, 9001 + v], "customer": [marker, marker], "amount": [1.0, 2.0], "ds": ["2026-11-05"] * 2})
        out["crm/orders"].append(build(reg, "crm/orders", pd.concat([f, only], ignore_index=True), f"crm{v}"))
    src = lakepkg.load(f"sales/orders@{out['sales/orders'][2].top_hash}", reg)
    out["sales/orders-eu"] = [src.filter("orders", partitions=[("ds", "in", DAYS[:2])]).publish("sales/orders-eu")]
    b = lakepkg.PackageBuilder(reg)
    b.add_table("events", pd.DataFrame({"x": [1, 2, 3]}))
    out["ops/other"] = [b.publish("ops/other", "other")]
    return out


def rows_of(reg: Any, ref: str, table: str = "orders") -> list[tuple]:
    """Every row of ``table`` at ``ref``, sorted (as strings, so NaN and types compare simply)."""
    import lakepkg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = lakepkg.load(ref, reg)[table].to_pandas()
    cols = sorted(df.columns)
    return sorted(tuple(str(r[c]) for c in cols) for _, r in df.iterrows())


def all_versions(reg: Any) -> list[Any]:
    return [r for n in reg.list_packages() for r in reg.versions(n)]


def files_holding(folders: Iterable[str], marker: str) -> list[str]:
    """Files under ``folders`` whose bytes hold ``marker``, or that are Parquet files with a cell holding it,
    and files or folders whose name holds it."""
    needle = marker.encode()
    hits = []
    for folder in folders:
        for dirpath, dirs, files in os.walk(folder):
            hits.extend(os.path.join(dirpath, d) for d in dirs if marker in d)  # names count too (partition folders)
            for f in files:
                p = os.path.join(dirpath, f)
                if marker in f:
                    hits.append(p)
                if os.path.islink(p):
                    continue
                with open(p, "rb") as fh:
                    data = fh.read()
                if needle in data or (data[:4] == b"PAR1" and parquet_holds(pa.BufferReader(data), marker)):
                    hits.append(p)
    return hits


def parquet_holds(source: Any, marker: str) -> bool:
    t = pq.read_table(source)
    for col in t.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            if marker in col.to_pylist():
                return True
    return False


def bucket_objects_holding(client: Any, bucket: str, marker: str) -> list[str]:
    needle = marker.encode()
    hits = []
    token = None
    while True:
        kw = {"Bucket": bucket, **({"ContinuationToken": token} if token else {})}
        r = client.list_objects_v2(**kw)
        for o in r.get("Contents", []):
            data = client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            if needle in data or (data[:4] == b"PAR1" and parquet_holds(pa.BufferReader(data), marker)):
                hits.append(o["Key"])
        if not r.get("IsTruncated"):
            return hits
        token = r["NextContinuationToken"]
