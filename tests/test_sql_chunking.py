"""Content-defined chunking: the key hash follows its written spec, boundaries are stable and local."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lakepkg.write.chunking import ChunkingParams, cut, key_hashes

M = (1 << 64) - 1


def _smix(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def _ref_hash(row: list, kinds: list[str]) -> int:
    """The hash written in lakepkg/chunking.py's docstring, in plain Python integers."""
    h = 0x243F6A8885A308D3
    for v, kind in zip(row, kinds):
        if v is None:
            u = 0x6A09E667F3BCC908
        elif kind == "int":
            u = v & M
        else:
            b = v.encode() if isinstance(v, str) else v
            u = sum(x * pow(0x100000001B3, i, 1 << 64) for i, x in enumerate(b)) & M
            u ^= (len(b) * 0x9E3779B97F4A7C15) & M
        h = _smix(h ^ u)
    return h


def test_key_hash_matches_spec_for_ints_strings_nulls():
    rng = np.random.default_rng(7)
    ints = [int(x) for x in rng.integers(-2**62, 2**62, 50)] + [None, 0, -1]
    strs = [f"k-{i}-é" * (i % 5) for i in range(len(ints))]
    strs[3] = None
    t = pa.table({"a": pa.array(ints, pa.int64()), "s": pa.array(strs, pa.string())})
    got = key_hashes(t.slice(1), ["a", "s"])  # a sliced (offset) batch too
    want = [_ref_hash([a, s], ["int", "str"]) for a, s in zip(ints[1:], strs[1:])]
    assert [int(x) for x in got] == want
    # int width does not matter, only the value
    assert list(key_hashes(pa.table({"a": pa.array([1, -5], pa.int16())}), ["a"])) == \
        [_ref_hash([1], ["int"]), _ref_hash([-5], ["int"])]


def _cuts(table: pa.Table, key, params, batch: int) -> list[pa.Table]:
    return list(cut(table.to_batches(max_chunksize=batch), table.schema, key, params))


def test_boundaries_independent_of_batching_and_respect_min_max():
    n = 40_000
    t = pa.table({"id": pa.array(np.arange(n) * 3), "v": pa.array(np.arange(n) % 7)})
    p = ChunkingParams(mask_bits=8, min_rows=64, max_rows=700)
    ref = _cuts(t, ["id"], p, 40_000)
    for b in (1, 97, 5_000):
        if b == 1:
            got = _cuts(t.slice(0, 3000), ["id"], p, 1)
            assert [f.num_rows for f in got] == [f.num_rows for f in _cuts(t.slice(0, 3000), ["id"], p, 3000)]
            continue
        assert [f.column("id")[0] for f in _cuts(t, ["id"], p, b)] == [f.column("id")[0] for f in ref]
    sizes = [f.num_rows for f in ref]
    assert sum(sizes) == n
    assert all(p.min_rows <= s <= p.max_rows for s in sizes[:-1]) and sizes[-1] <= p.max_rows
    assert 20 < len(ref) < 400  # about n / (min + 2**mask_bits)
    assert all(f.column("id").num_chunks == 1 for f in ref)


def test_append_and_update_touch_only_fragments_near_the_change():
    n = 30_000
    p = ChunkingParams(mask_bits=8, min_rows=64, max_rows=2048)
    base = pa.table({"id": pa.array(np.arange(n)), "v": pa.array(np.zeros(n))})
    frags = {f.to_pandas().to_json() for f in _cuts(base, ["id"], p, 4096)}
    # append 300 rows and change 50 rows among the newest 1,000
    v = np.zeros(n + 300)
    v[n - 900: n - 850] = 1.0
    new = pa.table({"id": pa.array(np.arange(n + 300)), "v": pa.array(v)})
    new_frags = [f.to_pandas().to_json() for f in _cuts(new, ["id"], p, 4096)]
    changed = [f for f in new_frags if f not in frags]
    assert 1 <= len(changed) <= 6, len(changed)
    assert len(new_frags) > 50


def test_unkeyed_is_fixed_size():
    t = pa.table({"x": pa.array(np.arange(2500))})
    sizes = [f.num_rows for f in cut(t.to_batches(max_chunksize=333), t.schema, None, fixed_rows=1000)]
    assert sizes == [1000, 1000, 500]


def test_bad_params_rejected():
    with pytest.raises(ValueError):
        ChunkingParams(mask_bits=10, min_rows=100, max_rows=50)
