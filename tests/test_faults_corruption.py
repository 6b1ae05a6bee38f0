"""Injected corruption: every kind of object and metadata, five ways, on a local registry and on S3.

Kinds: fragment, page, table node, root, version record, tag. Ways: flip a byte, truncate, delete,
swap with another object (or record/tag), replace with another valid object (or a valid-looking
record/tag). 102 trials on the local registry (17 per kind, cycling through the five ways), 6 on
S3 (1 per kind, the way rotating with the kind, a smaller registry: every read goes through moto's HTTP server, ~20 ms a request). After each one:

* ``verify`` of the registry reports a problem (it is never "ok" with a corrupted byte in it);
* reading every package by name (tags, records, manifests and data all in play) through a freshly
  opened registry either raises a lakepkg error or returns exactly the data that was published —
  never other rows, never a raw ``ArrowInvalid``/``OSError``/``TypeError``;
* the damage is undone and the next trial starts from a clean registry.

The seed is printed; ``LAKEPKG_FAULT_SEED=<n>`` replays a run.
"""
from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from lakepkg.errors import LakepkgError
from lakepkg.maintain.verify import verify_registry
from lakepkg.registry import open_registry
from lakepkg.write.build import PackageBuilder

from tests.fault_tools import (altered_record, inventory, object_key, raw_for, read_all, record_keys, seeded,
                               tag_keys)

WAYS = ("flip", "truncate", "delete", "swap", "replace")
KINDS = ("fragment", "page", "table", "root", "record", "tag")
PACKAGES = ("g/a", "g/b", "g/c")
S3_PACKAGES = ("g/a", "g/b")


def _populate(reg, tmp, packages=PACKAGES, rows=120, extras=True):
    readme = tmp / "README.md"
    readme.write_text("# g\n")
    for i, name in enumerate(packages):
        for v in range(2 if name == "g/a" else 1):
            b = PackageBuilder(reg)
            n = rows + 40 * v + 10 * i
            b.add_table("orders", pd.DataFrame({"id": range(i * 1000, i * 1000 + n), "ds": ["d1", "d2", "d3"] * (n // 3) + ["d1"] * (n % 3),
                                                "amount": [float(x) * 0.5 for x in range(n)]}),
                        partition_cols=["ds"], rows_per_fragment=30)
            if extras:
                b.add_table("small", pd.DataFrame({"k": [f"{name}-{v}-{j}" for j in range(5)]}))
                b.add_file("README.md", str(readme))
            b.publish(name, f"v{v}")


def _objects_of(invs, kind):
    key = {"table": "table"}.get(kind, kind)
    out = []
    for inv in invs.values():
        out += [d for d in inv.objects[key] if d not in out]
    return out


class Damage:
    """One corruption, undoable."""

    def __init__(self, raw):
        self.raw = raw
        self.saved: dict[str, bytes | None] = {}

    def _save(self, key):
        if key not in self.saved:
            self.saved[key] = self.raw.get(key)

    def write(self, key, data):
        self._save(key)
        self.raw.put(key, data)

    def delete(self, key):
        self._save(key)
        self.raw.delete(key)

    def undo(self):
        for key, data in self.saved.items():
            if data is None:
                self.raw.delete(key)
            else:
                self.raw.put(key, data)


def _corrupt_bytes(rnd, way, data, other):
    if way == "flip":
        i = rnd.randrange(len(data))
        return data[:i] + bytes([data[i] ^ (1 << rnd.randrange(8))]) + data[i + 1:]
    if way == "truncate":
        return data[: rnd.randrange(len(data))]
    if way in ("swap", "replace"):
        return other
    raise AssertionError(way)


def _inject(rnd, raw, invs, kind, way):
    """Apply one corruption; return (Damage, description)."""
    dmg = Damage(raw)
    if kind in ("fragment", "page", "table", "root"):
        pool = _objects_of(invs, kind)
        target = rnd.choice(pool)
        key = object_key(target)
        data = raw.get(key)
        others = [d for d in pool if d != target] or [d for d in _objects_of(invs, "fragment") if d != target]
        other_digest = rnd.choice(others)
        other = raw.get(object_key(other_digest))
        if way == "delete":
            dmg.delete(key)
        else:
            dmg.write(key, _corrupt_bytes(rnd, way, data, other))
            if way == "swap":
                dmg.write(object_key(other_digest), data)
        return dmg, f"{way} {kind} {target[:12]}"
    if kind == "record":
        recs = record_keys(raw)
        tagged = {"meta/" + json.loads(raw.get(k))["version"] for k in tag_keys(raw)}
        target = rnd.choice(sorted(set(recs) & tagged if way == "delete" else recs))
        data = raw.get(target)
        if way == "delete":
            dmg.delete(target)
        elif way == "replace":
            dmg.write(target, altered_record(data))
        elif way == "swap":
            other_key = rnd.choice([k for k in recs if k != target])
            dmg.write(target, raw.get(other_key))
            dmg.write(other_key, data)
        else:
            dmg.write(target, _corrupt_bytes(rnd, way, data, b""))
        return dmg, f"{way} record {target}"
    if kind == "tag":
        tags = [k for k in tag_keys(raw) if k.endswith("/latest.json")]
        target = rnd.choice(tags)
        data = raw.get(target)
        if way == "delete":
            dmg.delete(target)
        elif way == "replace":
            doc = json.loads(data)
            bad = rnd.choice([b"[]", b"{}", b"null", json.dumps({**doc, "version": "../../../../etc/passwd"}).encode(),
                              json.dumps({**doc, "top_hash": "0" * 64}).encode()])
            dmg.write(target, bad)
        elif way == "swap":  # this package's latest now names another package's record
            other_key = rnd.choice([k for k in tags if k.split("/tags/")[0] != target.split("/tags/")[0]])
            dmg.write(target, raw.get(other_key))
        else:  # a flip or cut that leaves a tag naming the same record is no damage (e.g. in updated_at)
            for _ in range(100):
                bad = _corrupt_bytes(rnd, way, data, b"")
                if not _same_tag(data, bad):
                    break
            dmg.write(target, bad)
        return dmg, f"{way} tag {target}"
    raise AssertionError(kind)


def _same_tag(good, bad):
    try:
        a, b = json.loads(good), json.loads(bad)
    except ValueError:
        return False
    return isinstance(b, dict) and all(b.get(k) == a.get(k) for k in ("top_hash", "version"))


def _check_reads(loc, invs, fresh, what):
    """Every package read by name gives its published data or a lakepkg error: never other data."""
    for name, inv in invs.items():
        try:
            got = read_all(loc, inv, fresh)
        except LakepkgError:
            continue
        except Exception as exc:  # a dependency's error reached the user
            raise AssertionError(f"after {what}: reading {name} raised {type(exc).__name__}: {exc}") from None
        assert got == inv.expected, f"after {what}: reading {name} returned data that is not what was published"


def _run_trials(reg, loc, fresh, rnd, kind, trials, packages=PACKAGES):
    raw = raw_for(reg)
    invs = {n: inventory(reg, n) for n in packages}
    assert verify_registry(fresh(loc)).ok
    missed = []
    for i in range(trials):
        way = WAYS[(i + KINDS.index(kind)) % len(WAYS)]
        dmg, what = _inject(rnd, raw, invs, kind, way)
        try:
            rep = verify_registry(fresh(loc))
            if rep.ok:
                missed.append(what)
            _check_reads(loc, invs, fresh, what)
        finally:
            dmg.undo()
    assert verify_registry(fresh(loc)).ok, "the registry is not clean after undoing every corruption"
    assert not missed, f"verify reported ok after: {missed}"


@pytest.fixture(scope="module")
def local_world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults-corrupt")
    loc = str(tmp / "registry")
    _populate(open_registry(loc), tmp)
    return loc


@pytest.mark.parametrize("kind", KINDS)
def test_local_corruption_detected_and_never_read(local_world, kind):
    rnd = seeded(f"corrupt-local-{kind}")
    _run_trials(open_registry(local_world), local_world, open_registry, rnd, kind, 17)


@pytest.fixture(scope="module")
def s3_world(s3_endpoint, tmp_path_factory):
    from tests.fixtures.s3 import new_bucket

    tmp = tmp_path_factory.mktemp("faults-corrupt-s3")
    url = f"s3://{new_bucket(s3_endpoint)}/faults"
    _populate(open_registry(url), tmp, S3_PACKAGES, rows=30, extras=False)  # small: every GET goes to moto
    return url, tmp


@pytest.mark.parametrize("kind", KINDS)
def test_s3_corruption_detected_and_never_read(s3_world, kind):
    url, tmp = s3_world
    rnd = seeded(f"corrupt-s3-{kind}")
    n = [0]

    def fresh(loc):  # a new, empty cache each time: reads go to the bucket, not to earlier good copies
        n[0] += 1
        return open_registry(loc, cache_dir=str(tmp / f"cache-{kind}-{n[0]}"))

    _run_trials(fresh(url), url, fresh, rnd, kind, 1, S3_PACKAGES)
