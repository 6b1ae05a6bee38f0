"""The adversarial row corpus of issue 19: source changes built to fool a row hash, and cache files
tampered with between snapshots, against a real PostgreSQL. Every change in the source must be a
change in the snapshot.

Each case changes one row (``id``) of a keyed table; after the change the table is snapshotted
with delta re-snapshots on (building on the previous version) and, as the reference, with
``LAKEPKG_DELTAS=0`` into another registry. A case is *caught* when the delta version publishes,
its row equals the reference's bit for bit (floats by their bits), the whole table equals the
reference (no row lost, none duplicated), and ``diff --rows`` from the previous version names the
row. The corpus uses only APIs older versions of lakepkg have, so the same script measures the code
before the fix:

    PYTHONPATH=<old tree> python tests/adversarial_rows.py postgresql://postgres@127.0.0.1:5432/<db>

prints one line per case (JSON with ``--json``). ``tests/test_row_identity_corpus.py`` runs it in
the suite and requires every case caught.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

NULL_CONST = 0x6A09E667F3BCC908
# every constant the rows-v1 hash mixed in (NULL, seeds, multipliers), as signed bigints
CONSTANTS = {"null_hash": NULL_CONST, "seed1": 0x243F6A8885A308D3, "seed2": 0x13198A2E03707344,
             "golden": 0x9E3779B97F4A7C15, "fnv_prime": 0x100000001B3, "mix1": 0xBF58476D1CE4E5B9,
             "mix2": 0x94D049BB133111EB}


def signed(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def float_of_bits(u: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", u))[0]


def thue_morse(n: int) -> str:
    return "".join("ab"[bin(i).count("1") % 2] for i in range(n))


TM = thue_morse(1024)
TM_COMPLEMENT = TM.translate(str.maketrans("ab", "ba"))

SCALARS = ("CREATE TABLE s (id bigint PRIMARY KEY, i bigint, f double precision, t text, b bytea, b2 bytea, "
           "n numeric(20,5), j jsonb, a bigint, a_txt text, a_f double precision)")
ROWS = 1000


def _scalar_cases() -> list[tuple[str, int, str, str]]:
    """(case, id, SET clause before, SET clause after)."""
    cases = [("thue_morse_text", 11, f"t = '{TM}'", f"t = '{TM_COMPLEMENT}'")]
    for k, (name, c) in enumerate(CONSTANTS.items()):
        cases.append((f"null_vs_{name}_bigint", 21 + k, "i = NULL", f"i = {signed(c)}"))
    cases += [
        ("null_vs_null_hash_float64_bits", 41, "f = NULL", f"f = {float_of_bits(NULL_CONST)!r}::float8"),
        ("zero_to_negative_zero", 42, "f = 0.0", "f = '-0'::float8"),
        ("nan_to_other_nan_payload", 43, "f = 'NaN'::float8", "f = 'Infinity'::float8 - 'Infinity'::float8"),
        ("int_1_moves_to_text_1", 51, "a = 1, a_txt = NULL, a_f = NULL", "a = NULL, a_txt = '1', a_f = NULL"),
        ("text_1_moves_to_float_1", 52, "a = NULL, a_txt = '1', a_f = NULL", "a = NULL, a_txt = NULL, a_f = 1.0"),
        ("bytes_move_across_a_separator", 61, r"b = '\x01000000000000000000', b2 = '\x'",
         r"b = '\x01', b2 = '\x000000000000000000'"),
        ("separator_bytes_in_text", 62, "t = 'x' || chr(1) || 'y'", "t = 'x', b = '\\x0179'::bytea"),
        ("long_run_one_longer", 71, "t = repeat('a', 10000)", "t = repeat('a', 10001)"),
        ("long_run_one_letter_changed", 72, "t = repeat('a', 10000)", "t = repeat('a', 5000) || 'b' || repeat('a', 4999)"),
        ("jsonb_1_to_1_0", 81, """j = '{"a": 1}'""", """j = '{"a": 1.0}'"""),
        ("numeric_last_digit", 82, "n = 1.00001", "n = 1.00002"),
    ]
    return cases


ARRAYS = "CREATE TABLE arr (id bigint PRIMARY KEY, tags text[], m int[], v int)"
ARRAY_CASES = [
    ("text_array_elements_regrouped", 11, "tags = ARRAY['a','b']", "tags = ARRAY['ab']"),
    ("text_array_null_element_dropped", 12, "tags = ARRAY['x',NULL]", "tags = ARRAY['x']"),
    ("int_array_null_appended", 13, "m = ARRAY[1,2]", "m = ARRAY[1,2,NULL]"),
]

CACHE_TABLE = "CREATE TABLE c (id bigint PRIMARY KEY, v text, w bigint)"
CACHE_CASES = ["swapped_cache_files", "foreign_table_cache_file", "forged_cache_file_consistent_header"]


def _pg(url: str, *sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        out: list[tuple[Any, ...]] = []
        for s in sql:
            cur = c.execute(s)
            if cur.description:
                out = list(cur.fetchall())
        return out


def _canon(v: Any) -> Any:
    if isinstance(v, float):
        return "f:" + struct.pack("<d", v).hex()
    if isinstance(v, list):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    return v


def _rows(home: str, ref: str, table: str) -> dict[int, Any]:
    import lakepkg

    t = lakepkg.load(ref, _registry(home))[table].to_arrow()
    rows = [{k: _canon(v) for k, v in r.items()} for r in t.to_pylist()]
    out: dict[int, Any] = {}
    for r in rows:
        if r["id"] in out:
            out[r["id"]] = ("DUPLICATE", out[r["id"]], r)
        else:
            out[r["id"]] = r
    return out


def _registry(home: str) -> Any:
    from lakepkg.registry import open_registry

    return open_registry(os.path.join(home, "registry"))


@contextmanager
def _env(**kw: Optional[str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in kw}
    for k, v in kw.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _snap(url: str, home: str, name: str, table: str, deltas: bool = True) -> Any:
    from lakepkg.write.chunking import ChunkingParams
    from lakepkg_connectors.sql import snapshot_sql

    fixed = ChunkingParams(mask_bits=40, min_rows=100, max_rows=100)   # 100-row fragments: same-shaped caches
    import warnings

    with _env(LAKEPKG_HOME=home, LAKEPKG_DELTAS="1" if deltas else "0", LAKEPKG_REGISTRY=None,
              LAKEPKG_CACHE_DIR=os.path.join(home, "cache"), LAKEPKG_ROW_HASH_CACHE=None), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return snapshot_sql(url, name, tables={table: f"public.{table}"}, chunking=fixed,
                            registry=_registry(home))


def _row_diff_ids(home: str, name: str, old: str, new: str) -> "set[int] | str":
    import lakepkg

    try:
        reg = _registry(home)
        d = lakepkg.load(f"{name}@{old}", reg).diff(lakepkg.load(f"{name}@{new}", reg), rows=True)
    except Exception as exc:  # the outcome of the old code on an array column
        return f"crashed: {type(exc).__name__}: {str(exc)[:80]}"
    ids: set[int] = set()
    for t in d.tables.values():
        for part in (t.added, t.removed, t.changed):
            if "id" in part.column_names:
                ids.update(part.column("id").to_pylist())
    return ids


def _verdict(case: str, cid: Optional[int], res: Any, prev_top: str, got: dict[int, Any], want: dict[int, Any],
             diff_ids: "set[int] | str", used_delta: bool, whole: bool = True) -> dict[str, Any]:
    problems = []
    if not res.created or res.record.top_hash == prev_top:
        problems.append("re-snapshot published nothing (same top hash)")
    if cid is not None and got.get(cid) != want.get(cid):
        problems.append(f"row {cid} kept stale values")
    if whole and got != want:
        lost = sorted(set(want) - set(got))
        dup = sorted(k for k, v in got.items() if isinstance(v, tuple))
        wrong = sorted(k for k in set(got) & set(want) if got[k] != want[k])
        extra = sorted(set(got) - set(want))
        problems.append(f"table differs from the LAKEPKG_DELTAS=0 snapshot (lost {lost[:5]}, duplicated {dup[:5]}, "
                        f"wrong {wrong[:5]}, extra {extra[:5]})")
    if isinstance(diff_ids, str):
        problems.append(f"diff --rows {diff_ids}")
    elif cid is not None and cid not in diff_ids:
        problems.append("diff --rows does not name the row")
    return {"case": case, "caught": not problems, "delta": used_delta, "problems": problems}


def _load(url: str, ddl: str, table: str, fill: str) -> None:
    _pg(url, f"DROP TABLE IF EXISTS {table}", ddl, fill)


def run_scalars(url: str, work: str) -> list[dict[str, Any]]:
    cases = _scalar_cases()
    _load(url, SCALARS, "s", f"INSERT INTO s SELECT g, g, g * 0.5, 'row ' || g, NULL, NULL, g, "
          f"jsonb_build_object('g', g), NULL, NULL, NULL FROM generate_series(1, {ROWS}) g")
    _pg(url, *[f"UPDATE s SET {before} WHERE id = {cid}" for _c, cid, before, _a in cases])
    return _run_table(url, work, "corpus/scalars", "s",
                      [(c, cid, f"UPDATE s SET {after} WHERE id = {cid}") for c, cid, _b, after in cases])


def run_arrays(url: str, work: str) -> list[dict[str, Any]]:
    _load(url, ARRAYS, "arr", f"INSERT INTO arr SELECT g, ARRAY['t' || g, 'u'], ARRAY[g], g "
          f"FROM generate_series(1, {ROWS}) g")
    _pg(url, *[f"UPDATE arr SET {before} WHERE id = {cid}" for _c, cid, before, _a in ARRAY_CASES])
    return _run_table(url, work, "corpus/arrays", "arr",
                      [(c, cid, f"UPDATE arr SET {after} WHERE id = {cid}") for c, cid, _b, after in ARRAY_CASES])


def _run_table(url: str, work: str, name: str, table: str,
               changes: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    home, ref_home = os.path.join(work, name.replace("/", "_")), os.path.join(work, name.replace("/", "_") + "_ref")
    first = _snap(url, home, name, table)
    ref0 = _snap(url, ref_home, name, table, deltas=False)
    before = _rows(ref_home, f"{name}@{ref0.record.top_hash}", table)
    _pg(url, *[sql for _c, _i, sql in changes])
    res = _snap(url, home, name, table)
    ref = _snap(url, ref_home, name, table, deltas=False)
    got = _rows(home, f"{name}@{res.record.top_hash}", table)
    want = _rows(ref_home, f"{name}@{ref.record.top_hash}", table)
    invisible = {cid for _c, cid, _s in changes if before.get(cid) == want.get(cid)}
    diff_ids = _row_diff_ids(home, name, first.record.top_hash, res.record.top_hash)
    used = bool(((res.record.sources or {}).get(table) or {}).get("volatile", {}).get("delta"))
    out = [_verdict(c, cid, res, first.record.top_hash, got, want, diff_ids, used, whole=False)
           for c, cid, _s in changes]
    for r, (_c, cid, _s) in zip(out, changes):
        if cid in invisible:  # the read path gives the same value before and after: nothing to catch
            r.update(caught=False, problems=["the change is invisible to the read path (the same value is read "
                                             "before and after, deltas off too)"])
    out.append(_verdict(f"{table}: whole table = LAKEPKG_DELTAS=0", None, res, first.record.top_hash, got, want,
                        diff_ids, used))
    return out


def _cache_files(home: str) -> dict[str, str]:
    """object digest -> cache file, for either cache layout (``<object>.v1.npy`` or ``<identity>.rh``)."""
    root = os.path.join(home, "cache", "row-hashes")
    out = {}
    for folder, _d, files in os.walk(root):
        for f in files:
            p = os.path.join(folder, f)
            if f.endswith(".v1.npy"):
                out[f.split(".")[0]] = p
            elif f.endswith(".rh"):
                with open(p, "rb") as fh:
                    out[fh.read(64)[32:64].hex()] = p
    return out


def _fragment_of(home: str, ref: str, table: str, row_id: int) -> str:
    import lakepkg

    t = lakepkg.load(ref, _registry(home))[table]
    for e in t.iter_entries():
        lo = (e.get("stats") or {}).get("id", {}).get("min")
        hi = (e.get("stats") or {}).get("id", {}).get("max")
        if lo is not None and lo <= row_id <= hi:
            return str(e["object"])
    raise AssertionError(f"no fragment holds id {row_id}")


def _swap(a: str, b: str) -> None:
    da, db = open(a, "rb").read(), open(b, "rb").read()
    for p, d in ((a, db), (b, da)):
        os.chmod(p, 0o644)
        open(p, "wb").write(d)


def _forge(target: str, target_object: str, source: str) -> bool:
    """Give ``target`` the hashes of ``source`` under its own, consistent header (the .rh layout)."""
    import hashlib

    if not target.endswith(".rh"):
        return False
    t, s = open(target, "rb").read(), open(source, "rb").read()
    body = t[:72] + s[72:-32]
    open(target, "wb").write(body + hashlib.sha256(body).digest())
    return True


def run_caches(url: str, work: str) -> list[dict[str, Any]]:
    out = []
    other = os.path.join(work, "cache_donor")     # another table's cache files, same shape
    _pg(url, "DROP TABLE IF EXISTS c2", "CREATE TABLE c2 (id bigint PRIMARY KEY, v text, w bigint)",
        f"INSERT INTO c2 SELECT g, 'other' || g, -g FROM generate_series(1, {ROWS}) g")
    _snap(url, other, "corpus/other", "c2")
    _snap(url, other, "corpus/other", "c2")
    donor = sorted(_cache_files(other).values())[0]
    for case in CACHE_CASES:
        home, ref_home = os.path.join(work, f"cache_{case}"), os.path.join(work, f"cache_{case}_ref")
        _load(url, CACHE_TABLE, "c", f"INSERT INTO c SELECT g, 'v' || g, g FROM generate_series(1, {ROWS}) g")
        first = _snap(url, home, "corpus/cache", "c")
        _snap(url, home, "corpus/cache", "c")            # unchanged: builds the index, writes the cache
        ref0 = f"corpus/cache@{first.record.top_hash}"
        files = _cache_files(home)
        fa, fb = _fragment_of(home, ref0, "c", 150), _fragment_of(home, ref0, "c", 660)
        note = ""
        if case == "swapped_cache_files":
            _swap(files[fa], files[fb])
        elif case == "foreign_table_cache_file":
            os.chmod(files[fa], 0o644)
            shutil.copyfile(donor, files[fa])
        elif not _forge(files[fa], fa, donor):      # another table's hashes under fa's own header
            # the rows-v1 cache has no header to forge: the same attack is a plain swap
            _swap(files[fa], files[fb])
            note = "no header in this cache layout: swapped instead"
        _pg(url, "UPDATE c SET w = w + 1 WHERE id IN (150, 660)")   # different offsets in their fragments
        res = _snap(url, home, "corpus/cache", "c")
        ref = _snap(url, ref_home, "corpus/cache", "c", deltas=False)
        got = _rows(home, f"corpus/cache@{res.record.top_hash}", "c")
        want = _rows(ref_home, f"corpus/cache@{ref.record.top_hash}", "c")
        diff_ids = _row_diff_ids(home, "corpus/cache", first.record.top_hash, res.record.top_hash)
        v = _verdict(case, 150, res, first.record.top_hash, got, want, diff_ids, True)
        v["cache_rejected"] = (((res.record.sources or {}).get("c") or {}).get("volatile", {}).get("delta") or {}).get(
            "row_hash_cache_rejected", 0)
        if note:
            v["note"] = note
        out.append(v)
    return out


RUNNERS: list[Callable[[str, str], list[dict[str, Any]]]] = [run_scalars, run_arrays, run_caches]


def run_all(url: str, work: Optional[str] = None) -> list[dict[str, Any]]:
    work = work or tempfile.mkdtemp(prefix="lakepkg-corpus-")
    out: list[dict[str, Any]] = []
    for r in RUNNERS:
        out += r(url, work)
    return out


def main() -> None:
    url = sys.argv[1]
    res = run_all(url)
    if "--json" in sys.argv:
        print(json.dumps(res))
        return
    for r in res:
        verdict = "caught" if r["caught"] else "MISSED: " + "; ".join(r["problems"])
        print(f"{r['case']:40} {'delta' if r['delta'] else 'whole'}  {verdict}{'  (' + r['note'] + ')' if r.get('note') else ''}")


if __name__ == "__main__":
    main()
