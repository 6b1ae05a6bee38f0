"""Deletion vectors: which rows of a stored fragment a version no longer holds.

A deletion vector is an object of its own (named by the SHA-256 of its bytes,
like every object) that an entry names in its ``deletes`` field::

    {"key": "part-….parquet", "object": "<fragment>", "rows": 15873,
     "deletes": {"object": "<vector>", "count": 127, "size": 139}, ...}

``rows`` is then the number of rows the fragment still holds (its Parquet file
has ``rows + count`` rows). The vector's bytes (version 1, normative; see
docs/format.md):

* the 8 bytes ``LPKGDV1\\n``;
* ``rows`` of the Parquet file, then ``count`` of deleted rows, each as an
  unsigned LEB128 varint;
* one encoding byte and its payload, whichever of the two is shorter (the
  positions list on a tie):

  - ``0x01`` positions: the deleted row positions (0-based, strictly
    increasing) as LEB128 varints, the first as is, each next one as its
    difference from the previous;
  - ``0x02`` bitmap: ``ceil(rows / 8)`` bytes, row ``i`` deleted when bit
    ``i % 8`` (least significant first) of byte ``i // 8`` is set; unused high
    bits of the last byte are zero.

No compression library is involved, so the same positions give the same
bytes (and the same hash) on every machine.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from lakepkg.errors import IntegrityError

MAGIC = b"LPKGDV1\n"
ENC_POSITIONS = 1
ENC_BITMAP = 2


def _leb128(values: np.ndarray) -> bytes:
    """Unsigned LEB128 of each value, concatenated (vectorised)."""
    v = np.asarray(values, dtype=np.uint64)
    if len(v) == 0:
        return b""
    n = np.ones(len(v), dtype=np.int64)
    t = v >> np.uint64(7)
    while bool((t > 0).any()):
        n += (t > 0)
        t = t >> np.uint64(7)
    ends = np.cumsum(n)
    starts = ends - n
    out = np.zeros(int(ends[-1]), dtype=np.uint8)
    for k in range(int(n.max())):
        sel = n > k
        byte = ((v[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        more = (n[sel] > k + 1).astype(np.uint8) << np.uint8(7)
        out[starts[sel] + k] = byte | more
    return out.tobytes()


def _unleb128(data: bytes, count: int, what: str) -> tuple[np.ndarray, int]:
    """The first ``count`` varints of ``data`` and the number of bytes they take."""
    if count == 0:
        return np.zeros(0, dtype=np.uint64), 0
    b = np.frombuffer(data, dtype=np.uint8)
    last = np.flatnonzero((b & 0x80) == 0)
    if len(last) < count:
        raise IntegrityError(f"{what} is truncated; run `lakepkg verify`")
    end = int(last[count - 1]) + 1
    b = b[:end]
    last = last[:count]
    starts = np.concatenate([[0], last[:-1] + 1])
    group = np.repeat(np.arange(count), last - starts + 1)
    shift = (np.arange(end) - starts[group]).astype(np.uint64) * np.uint64(7)
    if shift.size and int(shift.max()) > 56:
        raise IntegrityError(f"{what} holds a value that is too large; run `lakepkg verify`")
    # each value's bytes are contiguous and its 7-bit groups do not overlap: OR them together
    vals = np.bitwise_or.reduceat((b & 0x7F).astype(np.uint64) << shift, starts)
    return vals, end


def encode(positions: np.ndarray, rows: int) -> bytes:
    """The vector bytes for deleted ``positions`` (sorted, unique, < ``rows``) of a ``rows``-row file."""
    pos = np.asarray(positions, dtype=np.uint64)
    if len(pos) and (int(pos[-1]) >= rows or bool((np.diff(pos.astype(np.int64)) <= 0).any())):
        raise ValueError("deletion positions must be strictly increasing and below the fragment's row count")
    head = MAGIC + _leb128(np.array([rows, len(pos)], dtype=np.uint64))
    deltas = np.diff(pos, prepend=np.uint64(0)) if len(pos) else pos
    if len(pos):
        deltas[0] = pos[0]
    listed = _leb128(deltas)
    bits = np.zeros(rows, dtype=bool)
    bits[pos.astype(np.int64)] = True
    bitmap = np.packbits(bits, bitorder="little").tobytes()
    if len(listed) <= len(bitmap):
        return head + bytes([ENC_POSITIONS]) + listed
    return head + bytes([ENC_BITMAP]) + bitmap


def decode(data: bytes, what: str = "deletion vector") -> tuple[int, np.ndarray]:
    """(rows of the fragment, sorted deleted positions as int64) from a vector's bytes."""
    if not data.startswith(MAGIC):
        raise IntegrityError(f"{what} is not a lakepkg deletion vector; run `lakepkg verify`")
    body = data[len(MAGIC):]
    (rows, count), used = _unleb128(body, 2, what)
    rows, count = int(rows), int(count)
    if len(body) <= used:
        raise IntegrityError(f"{what} is truncated; run `lakepkg verify`")
    enc, payload = body[used], body[used + 1:]
    if enc == ENC_POSITIONS:
        deltas, n = _unleb128(payload, count, what)
        if n != len(payload):
            raise IntegrityError(f"{what} has trailing bytes; run `lakepkg verify`")
        pos = np.cumsum(deltas.astype(np.int64))
        if count and ((deltas[1:] == 0).any() or int(pos[-1]) >= rows):
            raise IntegrityError(f"{what} lists positions out of order or past the fragment's {rows} rows")
    elif enc == ENC_BITMAP:
        if len(payload) != (rows + 7) // 8:
            raise IntegrityError(f"{what} bitmap has {len(payload)} bytes for {rows} rows; run `lakepkg verify`")
        bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), bitorder="little")
        if bits[rows:].any():
            raise IntegrityError(f"{what} bitmap marks rows past the fragment's {rows} rows")
        pos = np.flatnonzero(bits[:rows]).astype(np.int64)
        if len(pos) != count:
            raise IntegrityError(f"{what} bitmap marks {len(pos)} rows but says {count}")
    else:
        raise IntegrityError(f"{what} has unknown encoding {enc}; upgrade lakepkg or run `lakepkg verify`")
    return rows, pos


def vector_label(entry: dict, table: "str | None" = None) -> str:
    """``deletion vector 3fa2c1e0b4a1 of fragment orders/part-….parquet`` (for errors)."""
    dv = entry.get("deletes") or {}
    where = f"{table}/{entry.get('key')}" if table else str(entry.get("key"))
    return f"deletion vector {str(dv.get('object', '?'))[:12]} of fragment {where}"


def deleted_positions(store: "Any", entry: dict, table: "str | None" = None) -> "np.ndarray | None":
    """The deleted row positions of an entry (None without a vector), read and checked.

    Fails loudly (IntegrityError / MissingObjectError naming the vector and the fragment) when
    the vector is missing, corrupt, or does not fit the entry's counts."""
    from lakepkg.errors import MissingObjectError, LakepkgError

    dv = entry.get("deletes")
    if not dv:
        return None
    what = vector_label(entry, table)
    try:
        data = store.get_bytes(dv["object"], verify=True)
    except MissingObjectError:
        raise MissingObjectError(f"{what} is missing from {getattr(store, 'location', 'the store')}; "
                                 "run `lakepkg verify` (the fragment cannot be read without it)") from None
    except (KeyError, TypeError):
        raise IntegrityError(f"{what}: malformed `deletes` field; the manifest is corrupt") from None
    except LakepkgError as exc:
        raise IntegrityError(f"{what} is corrupt ({exc}); run `lakepkg verify`") from None
    rows, pos = decode(data, what)
    live = entry.get("rows")
    if len(pos) != dv.get("count") or (live is not None and rows != live + len(pos)):
        raise IntegrityError(f"{what} does not match its entry ({rows} rows, {len(pos)} deleted; entry says "
                             f"{live} live, {dv.get('count')} deleted); run `lakepkg verify`")
    return pos


def live_mask(store: "Any", entry: dict, physical_rows: int, table: "str | None" = None) -> "np.ndarray | None":
    """A boolean mask of the rows an entry still holds (None: all of them)."""
    pos = deleted_positions(store, entry, table)
    if pos is None:
        return None
    dv_rows = int(entry.get("rows", 0)) + len(pos)
    if dv_rows != physical_rows:
        raise IntegrityError(f"{vector_label(entry, table)} is for {dv_rows} rows but the fragment has "
                             f"{physical_rows}; run `lakepkg verify`")
    mask = np.ones(physical_rows, dtype=bool)
    mask[pos] = False
    return mask
