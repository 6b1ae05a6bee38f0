"""Fast canonical JSON for manifest entries: the same bytes as :func:`lakepkg.format.canonical.canonical_json`.

A million-fragment build encodes a million entry lines; the normative encoder (``json`` with
``sort_keys``) takes ~10 µs a line on this project's machines, orjson under 1 µs. orjson's sorted,
compact output is byte-identical to canonical JSON for strings, integers, booleans, null, lists and
dicts with string keys (tests/test_entry_json.py compares the two on many entries, edge values
included); it differs only in how it writes floats (``1e+16`` vs ``1e16``) and in what it accepts
(datetimes, UUIDs, enums, dataclasses, integers past 64 bits). So :func:`canonical_line`:

* walks the value once, checking each type exactly (the walk stops at the first unusual value);
* writes each finite float as ``float.__repr__`` (what ``json`` writes) through ``orjson.Fragment``;
* hands everything it is not sure of to the normative encoder, so the bytes never differ and the
  errors stay the normative encoder's (NaN, Infinity, objects JSON has no form for).
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable, Optional

_ENC = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

_dumps: Optional[Callable[..., bytes]]
try:
    import orjson as _orjson

    _dumps = _orjson.dumps
    _Fragment: Any = _orjson.Fragment
    _OPTS = (_orjson.OPT_SORT_KEYS | _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME
             | _orjson.OPT_PASSTHROUGH_SUBCLASS)
except (ImportError, AttributeError):  # pragma: no cover - orjson is a dependency; the normative path still works
    _dumps = None
    _Fragment = None
    _OPTS = 0


class _Unusual(Exception):
    """A value the fast path does not encode: the normative encoder takes the whole line."""


_SIMPLE = frozenset({str, int, bool, type(None)})  # written alike by orjson and json (orjson refuses
# integers past 64 bits and non-string keys: a TypeError, and the line goes the normative way)


def _float(v: float) -> Any:
    if not math.isfinite(v):
        raise _Unusual
    return _Fragment(float.__repr__(v).encode("ascii"))


def _plain(v: Any) -> Any:
    """``v`` with every float as its canonical text (the same object when it holds no float);
    raises :class:`_Unusual` at a value of any other type than JSON's own."""
    t = type(v)
    if t in _SIMPLE:
        return v
    if t is float:
        return _float(v)
    if t is dict:
        out = None
        for k, x in v.items():
            if type(x) in _SIMPLE:
                continue
            y = _plain(x)
            if y is not x:
                if out is None:
                    out = dict(v)
                out[k] = y
        return v if out is None else out
    if t is list or t is tuple:
        items = [_plain(x) for x in v]
        return v if all(a is b for a, b in zip(items, v)) else items
    raise _Unusual


def _simple(d: dict[str, Any]) -> bool:
    """True when ``d`` holds only strings, integers, booleans and nulls, in dicts up to three deep
    (an entry without floats: key, sizes, partition values, statistics), checked without a call per value."""
    simple = _SIMPLE
    for x in d.values():
        if type(x) in simple:
            continue
        if type(x) is not dict:
            return False
        for y in x.values():
            if type(y) in simple:
                continue
            if type(y) is not dict:
                return False
            for z in y.values():
                if type(z) not in simple:
                    return False
    return True


def canonical_line(d: dict[str, Any]) -> bytes:
    """``canonical_json(d) + b"\\n"``, byte for byte, for a JSON-able dict (an entry's ``to_json()``);
    what canonical JSON rejects raises the same exception type as the normative encoder
    (``ValueError`` for NaN/Infinity, ``TypeError`` for what JSON cannot hold)."""
    if _dumps is not None:
        try:
            return _dumps(d if _simple(d) else _plain(d), option=_OPTS) + b"\n"
        except (_Unusual, TypeError):
            pass
    return _ENC.encode(d).encode("utf-8") + b"\n"
