"""Helpers shared by the S3 tests (small packages, raw access to the bucket)."""
from __future__ import annotations

import pandas as pd

from lakepkg.store.s3 import parse_s3_url


def small_frame(seed: int, n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({"id": range(seed * 1000, seed * 1000 + n),
                         "value": [f"v{seed}-{i}" for i in range(n)],
                         "ds": [f"2026-11-{(i % 3) + 1:02d}" for i in range(n)]})


def build(reg, name: str, seed: int, message: str = ""):
    import lakepkg

    b = lakepkg.PackageBuilder(reg)
    b.add_table("orders", small_frame(seed), partition_cols=["ds"])
    b.add_file("README.md", f"# {name} {seed}\n".encode())
    return b.publish(name, message or f"seed {seed}")


def object_key(url: str, digest: str) -> tuple[str, str]:
    bucket, prefix = parse_s3_url(url)
    return bucket, f"{prefix}/objects/{digest[:2]}/{digest}"
