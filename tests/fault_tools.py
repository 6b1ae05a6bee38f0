"""Helpers of the fault-injection suite (tests/test_faults_*.py): raw access to a registry's bytes
behind lakepkg's back (a local folder or an S3 bucket), a seeded random source, and the list of
every object and metadata key a registry holds, by kind.

The suite prints its seed; ``LAKEPKG_FAULT_SEED=<n>`` replays a run.
"""
from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import lakepkg
from lakepkg.format.walk import walk

SEED_ENV = "LAKEPKG_FAULT_SEED"


def seeded(name: str) -> random.Random:
    """A random source for one test: the run's seed (printed, or taken from ``$LAKEPKG_FAULT_SEED``)
    mixed with the test's name, so each test replays alone."""
    seed = int(os.environ.get(SEED_ENV) or int(time.time()) % 100_000)
    print(f"[faults] {name}: seed {seed} (replay with {SEED_ENV}={seed})")
    return random.Random(f"{seed}:{name}")


class Raw:
    """Bytes of a registry by relative key (``objects/ab/<digest>``, ``meta/packages/...``), bypassing lakepkg."""

    def get(self, key: str) -> Optional[bytes]:
        raise NotImplementedError

    def put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def keys(self, prefix: str) -> list[str]:
        raise NotImplementedError


class LocalRaw(Raw):
    def __init__(self, root: str) -> None:
        self.root = root

    def _p(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def get(self, key: str) -> Optional[bytes]:
        try:
            with open(self._p(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        p = self._p(key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.exists(p):
            os.chmod(p, 0o644)
            os.unlink(p)  # a new inode, as a writer that replaces a file makes
        with open(p, "wb") as f:
            f.write(data)

    def delete(self, key: str) -> None:
        p = self._p(key)
        if os.path.exists(p):
            os.chmod(p, 0o644)
            os.unlink(p)

    def keys(self, prefix: str) -> list[str]:
        base = self._p(prefix)
        out = []
        for d, _, fs in os.walk(base):
            for f in fs:
                out.append(os.path.relpath(os.path.join(d, f), self.root).replace(os.sep, "/"))
        return sorted(out)


class S3Raw(Raw):
    def __init__(self, registry: Any) -> None:
        conn = registry.store.conn
        self.client, self.bucket, self.conn = conn.client, conn.bucket, conn

    def get(self, key: str) -> Optional[bytes]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.conn.key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.conn.key(key), Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.conn.key(key))

    def keys(self, prefix: str) -> list[str]:
        out, token = [], None
        base = self.conn.key("")
        while True:
            kw: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.conn.key(prefix)}
            if token:
                kw["ContinuationToken"] = token
            r = self.client.list_objects_v2(**kw)
            out += [o["Key"][len(base):] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return sorted(out)
            token = r["NextContinuationToken"]


def raw_for(registry: Any) -> Raw:
    return S3Raw(registry) if registry.location.startswith("s3://") else LocalRaw(registry.location)


def object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest}"


@dataclass
class Inventory:
    """What one version is made of, by kind, plus the data a correct read returns."""

    package: str
    top_hash: str
    record_key: str
    objects: dict[str, list[str]]      # kind (root, table, page, fragment, file) -> digests
    expected: dict[str, Any]           # table -> sorted rows (list of tuples); file key -> bytes


def inventory(registry: Any, package: str) -> Inventory:
    rec = registry.resolve(package)
    kinds: dict[str, list[str]] = {"root": [rec.top_hash], "table": [], "page": [], "fragment": [], "file": []}
    for item in walk(registry.store, rec.top_hash):
        if item.kind == "entry":
            k = "file" if item.table is None else "fragment"
        else:
            k = item.kind
        if k in kinds and item.digest not in kinds[k]:
            kinds[k].append(item.digest)
    pkg = lakepkg.load(f"{package}@{rec.top_hash}", registry)
    expected: dict[str, Any] = {}
    for t in pkg.tables:
        expected[t] = rows_of(pkg[t].to_arrow())
    for f in pkg.files:
        expected[f.key] = f.read_bytes()
    return Inventory(package, rec.top_hash, rec.key, kinds, expected)


def rows_of(table: Any) -> list[tuple]:
    cols = sorted(table.column_names)
    return sorted(zip(*[table.column(c).to_pylist() for c in cols]), key=repr)


def read_all(registry_location: str, inv: Inventory, fresh: Any) -> dict[str, Any]:
    """Read every table and file of ``inv``'s package *by name* (tags, records and the manifest all in
    play) through a freshly opened registry; return what came back."""
    reg = fresh(registry_location)
    pkg = lakepkg.load(inv.package, reg)
    out: dict[str, Any] = {}
    for t in pkg.tables:
        out[t] = rows_of(pkg[t].to_arrow())
    for f in pkg.files:
        out[f.key] = f.read_bytes()
    return out


def tag_keys(raw: Raw) -> list[str]:
    return [k for k in raw.keys("meta/packages/") if "/tags/" in k and k.endswith(".json")]


def record_keys(raw: Raw) -> list[str]:
    return [k for k in raw.keys("meta/packages/") if "/versions/" in k and k.endswith(".json")]


def altered_record(data: bytes) -> bytes:
    """A version record still valid JSON, with its author and message rewritten."""
    d = json.loads(data)
    d["author"] = "mallory"
    d["message"] = "rewritten"
    return json.dumps(d).encode()


def iter_kinds() -> Iterator[str]:
    yield from ("fragment", "page", "table", "root", "record", "tag")
