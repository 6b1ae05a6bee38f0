"""A keyed table merged by key and cell, as Dolt defines a three-way merge.

Per key, with the base row B, ours O and theirs T (each a row, or absent):

* a row added, removed or changed on one side only is taken from that side;
* the same change on both sides (equal rows, or both removed) is taken once;
* both sides changed a row that all three hold: merged cell by cell — a cell changed on one side
  takes that side's value, on both sides to the same value that value; changed to different
  values, the cell is a conflict;
* anything else both sides changed differently (changed on one side and removed on the other,
  added on both with different values) is a conflict of the whole row.

NULL is a value (NULL = NULL, NULL ≠ 0). Keys are matched as the source compares them
(:func:`lakepkg.merging.cells.comparable_keys`), by Arrow's grouping of the key values
themselves — no hash decides a match. Cells compare exactly (:func:`lakepkg.merging.cells.same_cells`).
Only rows of fragments that differ from the base are read (:mod:`lakepkg.merging.sides`), plus
each side's key columns to prove the key unique.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import ConfigError
from lakepkg.merging.cells import comparable_keys, same_cells, same_rows
from lakepkg.merging.located import read_located
from lakepkg.merging.outcome import TableOutcome, layout_side
from lakepkg.merging.schema import MergedSchema, SchemaConflict
from lakepkg.merging.sides import Sides, conform, read_sides, take

SIDES = ("ours", "theirs")


def _np(a: Any) -> np.ndarray:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return np.asarray(a.to_numpy(zero_copy_only=False))


def _shown(row: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in row.items())


def check_unique(table: Any, key: list[str], side: str) -> None:
    """Refuse a side whose key is not unique (the key columns are read whole, compared as the
    source compares them)."""
    keys = comparable_keys(table.scan(columns=key).to_arrow(), key)
    if keys.num_rows < 2:
        return
    if _unique_by_sorting(keys) or (len(key) == 1 and pc.count_distinct(keys.column(0), mode="all").as_py()
                                     == keys.num_rows):
        return  # integer keys: sorted, no two neighbours equal; one column: as many distinct values as rows
    counts = keys.group_by(keys.column_names).aggregate([([], "count_all")])
    dup = counts.filter(pc.greater(counts["count_all"], 1))
    if dup.num_rows:
        row = dup.slice(0, 1).to_pylist()[0]
        vals = {k: row[f"k{i}"] for i, k in enumerate(key)}
        raise ConfigError(f"key ({', '.join(key)}) of table {table.name!r} is not unique in {side} "
                          f"({_shown(vals)} appears {row['count_all']} times); give a unique key with --key "
                          f"{table.name}=COLS")


def _unique_by_sorting(keys: pa.Table) -> bool:
    """True when every key column is integer or temporal without NULLs and no two rows are equal
    (a sort of the values themselves; False: not shown unique this way)."""
    arrays = []
    for col in keys.columns:
        t = col.type
        if col.null_count or not (pa.types.is_integer(t) or pa.types.is_temporal(t)):
            return False
        arrays.append(np.asarray(col.to_numpy()))
    if not arrays:
        return False
    order = np.lexsort(arrays[::-1])
    same = np.ones(len(order) - 1, dtype=bool)
    for a in arrays:
        s = a[order]
        same &= s[1:] == s[:-1]
    return not bool(same.any())


def group_keys(parts: list[pa.Table], key: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Match the rows of ``parts`` by key: per distinct key, the row index in each part (-1: none)
    and the number of rows of each part with that key."""
    ks = [comparable_keys(p, key) for p in parts]
    names = ks[0].column_names
    cols: dict[str, pa.Array] = {}
    total = sum(k.num_rows for k in ks)
    off = 0
    for i, k in enumerate(ks):
        idx = np.full(total, -1, dtype=np.int64)
        idx[off:off + k.num_rows] = np.arange(k.num_rows)
        cols[f"__i{i}"] = pa.array(idx, mask=idx < 0)
        off += k.num_rows
    allk = pa.concat_tables([k.cast(ks[0].schema) for k in ks]) if ks else pa.table({})
    for n, a in cols.items():
        allk = allk.append_column(n, a)
    agg = allk.group_by(names, use_threads=False).aggregate(
        [(f"__i{i}", f) for i in range(len(ks)) for f in ("min", "count")])
    idxs = [_np(agg[f"__i{i}_min"].fill_null(-1)).astype(np.int64) for i in range(len(ks))]
    counts = [_np(agg[f"__i{i}_count"]).astype(np.int64) for i in range(len(ks))]
    return idxs, counts


def _pick(mask: np.ndarray, a: Any, b: Any) -> Any:
    """Per row: ``a`` where ``mask``, else ``b`` (aligned arrays of one type)."""
    if not len(mask):
        return b
    return pc.if_else(pa.array(mask), a, b)


def _diff_type(present: np.ndarray, base: np.ndarray, changed: np.ndarray) -> pa.Array:
    out = np.where(~base & present, "added", np.where(base & ~present, "removed",
                                                        np.where(changed, "modified", "unchanged")))
    return pa.array(out.tolist(), type=pa.string())


def merge_keyed(name: str, base: Optional[Any], ours: Any, theirs: Any, key: list[str], ms: MergedSchema,
                strategy: str = "fail", resolve: Optional[pa.Table] = None) -> TableOutcome:
    """Merge one keyed table (see the module docstring)."""
    for side, t in (("ours", ours), ("theirs", theirs)):
        missing = [k for k in key if k not in t.schema.names]
        if missing:
            raise ConfigError(f"key column(s) {', '.join(missing)} of table {name!r} are missing in {side} "
                              f"(columns: {', '.join(t.schema.names)}); give a key both sides have with --key {name}=COLS")
    missing = [k for k in key if k not in ms.schema.names]
    if missing:
        raise ConfigError(f"key column(s) {', '.join(missing)} of table {name!r} do not survive the merged schema; "
                          f"give another key with --key {name}=COLS")
    for side, t in (("ours", ours), ("theirs", theirs)):
        check_unique(t, key, side)
    dropped_fields = [base.schema.field(c) for c in ms.dropped] if base is not None else []
    work = pa.schema(list(ms.schema) + dropped_fields)
    s = read_sides(base, ours, theirs, work)
    (ib, io, it), (nb, no, nt) = group_keys([s.base.rows, s.ours.rows, s.theirs.rows], key)
    for side, n in (("the base", nb), ("ours", no), ("theirs", nt)):
        if len(n) and int(n.max()) > 1:
            raise ConfigError(f"key ({', '.join(key)}) of table {name!r} is not unique in {side}; give a unique key "
                              f"with --key {name}=COLS")
    return _three_way(name, key, ms, work, s, ib, io, it, ours, theirs, base, strategy, resolve)


def _three_way(name: str, key: list[str], ms: MergedSchema, work: pa.Schema, s: Sides, ib: np.ndarray,
               io: np.ndarray, it: np.ndarray, ours: Any, theirs: Any, base: Optional[Any], strategy: str,
               resolve: Optional[pa.Table]) -> TableOutcome:
    n = len(ib)
    bp = ib >= 0
    safe_b = np.where(bp, ib, 0)
    keep_o = bp & ~(s.gone_ours[safe_b] if len(s.gone_ours) else np.zeros(n, bool))
    keep_t = bp & ~(s.gone_theirs[safe_b] if len(s.gone_theirs) else np.zeros(n, bool))
    op, tp = keep_o | (io >= 0), keep_t | (it >= 0)
    B = take(s.base.rows, ib)
    Oa, Ta = take(s.ours.rows, io), take(s.theirs.rows, it)
    base_names = set(base.schema.names) if base is not None else set()
    O_cols, T_cols, B_cols = {}, {}, {}
    for f in work:
        c = f.name
        b = B.column(c)
        o = _pick(io >= 0, Oa.column(c), b)
        t = _pick(it >= 0, Ta.column(c), b)
        if c not in ours.schema.names and c in base_names:   # a column ours dropped: ours left it as it was
            o = b
        if c not in theirs.schema.names and c in base_names:
            t = b
        O_cols[c], T_cols[c], B_cols[c] = o, t, b
    cols = work.names
    same_ob = {c: same_cells(O_cols[c], B_cols[c]) for c in cols}
    same_tb = {c: same_cells(T_cols[c], B_cols[c]) for c in cols}
    same_ot = {c: same_cells(O_cols[c], T_cols[c]) for c in cols}

    def rows_equal(pa_: np.ndarray, pb: np.ndarray, same: dict[str, np.ndarray]) -> np.ndarray:
        eq = np.ones(n, dtype=bool)
        for c in cols:
            eq &= same[c]
        return (pa_ == pb) & (~pa_ | eq)

    eq_ob, eq_tb, eq_ot = rows_equal(op, bp, same_ob), rows_equal(tp, bp, same_tb), rows_equal(op, tp, same_ot)
    o_ch, t_ch = ~eq_ob, ~eq_tb
    take_t = t_ch & ~o_ch
    both = o_ch & t_ch & ~eq_ot
    cellwise = both & bp & op & tp
    rowconf = both & ~cellwise
    # removed on one side, and on the other only given values in columns the base did not have (a
    # column added there): the removal is taken, not a conflict
    old_cols = [c for c in cols if c in base_names]
    same_ob_old = np.ones(n, dtype=bool)
    same_tb_old = np.ones(n, dtype=bool)
    for c in old_cols:
        same_ob_old &= same_ob[c]
        same_tb_old &= same_tb[c]
    removal = rowconf & bp & (((~op) & tp & same_tb_old) | ((~tp) & op & same_ob_old))
    rowconf &= ~removal
    cell_conf = {c: cellwise & ~same_ob[c] & ~same_tb[c] & ~same_ot[c] for c in cols}

    # columns one side dropped that the other side changed: a schema conflict
    schema_conflicts = list(ms.conflicts)
    final_fields = list(ms.schema)
    for c, dropper in ms.dropped.items():
        other_present, same_other = (tp, same_tb) if dropper == "ours" else (op, same_ob)
        changed = other_present & bp & ~same_other[c]
        if changed.any():
            other = "theirs" if dropper == "ours" else "ours"
            schema_conflicts.append(SchemaConflict(
                c, str(work.field(c).type), None if dropper == "ours" else str(work.field(c).type),
                None if dropper == "theirs" else str(work.field(c).type),
                f"dropped in {dropper}, values changed in {other} ({int(changed.sum())} rows)"))
            if strategy == other:
                final_fields.append(work.field(c))
    if strategy != "fail":
        schema_conflicts = []
    final = pa.schema(final_fields)
    fcols = final.names

    # the merged value of every candidate key
    r_present = np.where(take_t, tp, op)
    R: dict[str, Any] = {}
    for c in fcols:
        v = _pick(take_t, T_cols[c], O_cols[c])
        merged = _pick(~same_ob[c], O_cols[c], T_cols[c])
        if strategy == "theirs":
            merged = _pick(cell_conf[c], T_cols[c], merged)
        v = _pick(cellwise, merged, v)
        if strategy == "theirs":
            v = _pick(rowconf, T_cols[c], v)
        R[c] = v
    if strategy == "theirs":
        r_present = np.where(rowconf, tp, r_present)
    r_present = np.where(cellwise, True, r_present)
    r_present = np.where(removal, False, r_present)
    conflict = rowconf.copy()
    for c in cols:
        conflict |= cell_conf[c]
    n_conflicts = int(conflict.sum())
    resolved = 0
    if resolve is not None:  # the chosen rows first; the strategy (if any) settles the rest
        resolve = _resolve_rows(name, resolve, final)
        chosen = _resolved(name, key, final, resolve, O_cols, T_cols, B_cols, conflict, op, tp, bp)
        if (chosen >= 0).any():
            for c in fcols:
                R[c] = _pick(chosen >= 0, take(resolve, chosen).column(c), R[c])
            r_present = np.where(chosen >= 0, True, r_present)
        resolved = int((chosen >= 0).sum())
        conflict &= chosen < 0
    if strategy != "fail":
        resolved = n_conflicts
        conflict[:] = False
    out = TableOutcome(name, final, key, schema_conflicts=schema_conflicts)
    out.facts = {"candidate_rows": n, "conflicts_resolved": resolved}
    if conflict.any() or schema_conflicts:
        out.conflicts = _conflict_table(key, work, conflict, O_cols, T_cols, B_cols, op, tp, bp, o_ch, t_ch,
                                        cell_conf, rowconf) if conflict.any() else None
        out.conflict_cells = int(sum(int((cell_conf[c] & conflict).sum()) for c in cols))
        return out
    Rt = pa.Table.from_arrays([R[c] for c in fcols], schema=final)
    _apply(out, Rt, r_present, final, s, ib, io, it, keep_o, keep_t, op, tp, O_cols, T_cols, ours, theirs)
    return out


def _apply(out: TableOutcome, R: pa.Table, r_present: np.ndarray, final: pa.Schema, s: Sides, ib: np.ndarray,
           io: np.ndarray, it: np.ndarray, keep_o: np.ndarray, keep_t: np.ndarray, op: np.ndarray, tp: np.ndarray,
           O_cols: dict[str, Any], T_cols: dict[str, Any], ours: Any, theirs: Any) -> None:
    """Turn the merged rows into deletes on the layout side and added rows."""
    lay = layout_side(final, ours, theirs)
    side = lay or "ours"
    out.layout, out.rewrite = side, lay is None
    if side == "ours":
        lp, cols_, idx, keep, loc, ch = op, O_cols, io, keep_o, s.ours, s.ch_ours
    else:
        lp, cols_, idx, keep, loc, ch = tp, T_cols, it, keep_t, s.theirs, s.ch_theirs
    n = len(ib)
    eq = np.ones(n, dtype=bool)
    for c in final.names:
        eq &= same_cells(R.column(c), cols_[c])
    change = ~((r_present == lp) & (~r_present | eq))
    dele = change & lp
    deletes: dict[int, list[int]] = {}
    for k in np.flatnonzero(dele):
        if idx[k] >= 0:
            e, p = int(loc.entry[idx[k]]), int(loc.pos[idx[k]])
        else:
            e, p = ch.base_to_side[int(s.base.entry[ib[k]])], int(s.base.pos[ib[k]])
        deletes.setdefault(e, []).append(p)
    out.deletes = {e: np.unique(np.asarray(p, dtype=np.int64)) for e, p in deletes.items()}
    out.added = R.filter(pa.array(change & r_present))
    out.facts.update({"rows_deleted": int(dele.sum()), "rows_added": int(out.added.num_rows),
                      "rows_changed": int((change & lp & r_present).sum())})
    if out.rewrite:  # the layout side's files do not have the merged schema: every row is new
        table = ours
        entries = s.ours_entries
        allrows = read_located(table, entries, [None] * len(entries))
        keep_rows = np.ones(allrows.num_rows, dtype=bool)
        for e, pos in out.deletes.items():
            sel = allrows.entry == e
            keep_rows[sel] &= ~np.isin(allrows.pos[sel], pos)
        rest = conform(allrows.rows.filter(pa.array(keep_rows)), final, "ours", out.name)
        out.added = pa.concat_tables([rest, out.added])
        out.deletes = {}


def _resolve_rows(name: str, resolve: pa.Table, final: pa.Schema) -> pa.Table:
    """The ``--resolve`` rows with exactly the merged table's columns and types."""
    missing = [c for c in final.names if c not in resolve.column_names]
    extra = [c for c in resolve.column_names if c not in final.names]
    if missing or extra:
        what = "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                     f"unknown {', '.join(extra)}" if extra else "") if x)
        raise ConfigError(f"--resolve {name}: the rows must have the merged table's columns "
                          f"({', '.join(final.names)}): {what}")
    return conform(resolve.select(final.names), final, "--resolve", name)


def _resolved(name: str, key: list[str], final: pa.Schema, resolve: pa.Table, O_cols: dict[str, Any],
              T_cols: dict[str, Any], B_cols: dict[str, Any], conflict: np.ndarray, op: np.ndarray,
              tp: np.ndarray, bp: np.ndarray) -> np.ndarray:
    """Per candidate key: the row of ``resolve`` chosen for it (-1: none); refuses rows whose key
    is not in conflict, or given twice."""
    keycols = [_pick(op, O_cols[k], _pick(tp, T_cols[k], B_cols[k])) for k in key]
    conflicted = pa.Table.from_arrays(keycols, names=key).filter(pa.array(conflict))
    cidx = np.flatnonzero(conflict)
    (ic, ir), (nc, nr) = group_keys([conflicted, resolve.select(key)], key)
    if len(nr) and int(nr.max()) > 1:
        raise ConfigError(f"--resolve {name}: a key is given more than once; give one row per conflicting key")
    stray = (ir >= 0) & (ic < 0)
    if stray.any():
        row = resolve.select(key).slice(int(ir[np.flatnonzero(stray)[0]]), 1).to_pylist()[0]
        raise ConfigError(f"--resolve {name}: key {_shown(row)} is not in conflict; give rows only for the "
                          f"conflicting keys (the conflicts package lists them)")
    chosen = np.full(len(conflict), -1, dtype=np.int64)
    hit = (ic >= 0) & (ir >= 0)
    chosen[cidx[ic[hit]]] = ir[hit]
    return chosen


def _conflict_table(key: list[str], work: pa.Schema, conflict: np.ndarray, O: dict[str, Any], T: dict[str, Any],
                    B: dict[str, Any], op: np.ndarray, tp: np.ndarray, bp: np.ndarray, o_ch: np.ndarray,
                    t_ch: np.ndarray, cell_conf: dict[str, np.ndarray], rowconf: np.ndarray) -> pa.Table:
    """Dolt's ``dolt_conflicts_<table>`` shape: the key, ``base_<col>``…, ``our_<col>``…,
    ``our_diff_type``, ``their_<col>``…, ``their_diff_type``, and ``conflict_columns``."""
    m = pa.array(conflict)
    arrays: list[Any] = []
    fields: list[pa.Field] = []
    for k in key:
        v = _pick(op, O[k], _pick(tp, T[k], B[k]))
        arrays.append(pc.filter(v, m))
        fields.append(pa.field(k, work.field(k).type))
    for prefix, vals, present in (("base_", B, bp), ("our_", O, op), ("their_", T, tp)):
        for f in work:
            v = pc.if_else(pa.array(present), vals[f.name], pa.nulls(len(present), f.type)) if len(present) else vals[f.name]
            arrays.append(pc.filter(v, m))
            fields.append(pa.field(prefix + f.name, f.type))
        if prefix != "base_":
            arrays.append(pc.filter(_diff_type(present, bp, o_ch if prefix == "our_" else t_ch), m))
            fields.append(pa.field(prefix + "diff_type", pa.string()))
    names = [[c for c in work.names if cell_conf[c][i]] or ["(row)"] for i in np.flatnonzero(conflict)]
    arrays.append(pa.array(names, type=pa.list_(pa.string())))
    fields.append(pa.field("conflict_columns", pa.list_(pa.string())))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
