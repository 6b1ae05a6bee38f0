"""A table without a key merged as a multiset of whole rows.

Rows are identified by all their values (compared as the source compares them, NULL a value).
For each distinct row, with its number of copies in the base, ours and theirs: a count changed on
one side only is taken from that side (a row removed on one side and present on the other is
removed); the same change on both sides is taken once; different changes to the same row's count
are a conflict (``--strategy ours|theirs`` takes that side's count). Fragments both sides share
with the base are never read.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.merging.cells import comparable_keys
from lakepkg.merging.located import read_located
from lakepkg.merging.outcome import TableOutcome, layout_side
from lakepkg.merging.schema import MergedSchema
from lakepkg.merging.sides import conform, read_sides


def merge_unkeyed(name: str, base: Optional[Any], ours: Any, theirs: Any, ms: MergedSchema,
                  strategy: str = "fail") -> TableOutcome:
    """Merge one table without a key (see the module docstring)."""
    final = ms.schema
    s = read_sides(base, ours, theirs, final)
    parts = [s.base.rows, s.ours.rows, s.theirs.rows]
    nb, no = parts[0].num_rows, parts[1].num_rows
    cols = final.names
    allk = pa.concat_tables([comparable_keys(p, cols) for p in parts]) if cols else pa.table({})
    allk = allk.append_column("__row", pa.array(np.arange(allk.num_rows, dtype=np.int64)))
    lists = allk.group_by([c for c in allk.column_names if c != "__row"], use_threads=False).aggregate(
        [("__row", "list")])["__row_list"].combine_chunks()
    lengths = np.asarray(pc.list_value_length(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    rows = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    n_groups = len(lengths)
    gid = np.empty(len(rows), dtype=np.int64)
    gid[rows] = np.repeat(np.arange(n_groups), lengths)   # the distinct row each candidate row is a copy of
    rep = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(rep, gid, np.arange(len(gid)))          # one copy of each, to write or show
    is_b = np.arange(len(gid)) < nb
    is_o = ~is_b & (np.arange(len(gid)) < nb + no)
    is_t = ~is_b & ~is_o
    b_idx = np.flatnonzero(is_b)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(gid[mask], minlength=n_groups)

    keep_o = np.zeros(len(gid), dtype=bool)
    keep_t = np.zeros(len(gid), dtype=bool)
    keep_o[b_idx] = ~s.gone_ours[b_idx]
    keep_t[b_idx] = ~s.gone_theirs[b_idx]
    cb = count(is_b)
    co = count(is_o) + count(keep_o)
    ct = count(is_t) + count(keep_t)
    do, dt = co - cb, ct - cb
    conflict = (do != 0) & (dt != 0) & (do != dt)
    want = np.where(do == 0, ct, co)
    if strategy == "theirs":
        want = np.where(conflict, ct, want)
    lay = layout_side(final, ours, theirs)
    side = lay or "ours"
    out = TableOutcome(name, final, None, layout=side, rewrite=lay is None, schema_conflicts=list(ms.conflicts))
    if strategy != "fail":
        out.schema_conflicts = []
    have = co if side == "ours" else ct
    n_conf = int(conflict.sum())
    if strategy == "fail":
        want = np.where(conflict, have, want)  # nothing is published: keep the counts as they are
    # copies the layout side holds, where they are stored; the first (by fragment, position) go
    copies = is_o if side == "ours" else is_t
    side_rows = s.ours if side == "ours" else s.theirs
    first_side = nb if side == "ours" else nb + no
    kept_base = keep_o if side == "ours" else keep_t
    ch = s.ch_ours if side == "ours" else s.ch_theirs
    ci = np.flatnonzero(copies)
    bi = np.flatnonzero(kept_base)
    g = np.concatenate([gid[ci], gid[bi]])
    e = np.concatenate([side_rows.entry[ci - first_side] if len(ci) else np.zeros(0, np.int64),
                        np.array([ch.base_to_side[int(x)] for x in s.base.entry[bi]], dtype=np.int64)])
    p = np.concatenate([side_rows.pos[ci - first_side] if len(ci) else np.zeros(0, np.int64), s.base.pos[bi]])
    drop_n = np.maximum(have - want, 0)
    sel = drop_n[g] > 0
    g, e, p = g[sel], e[sel], p[sel]
    order = np.lexsort((p, e, g))
    g, e, p = g[order], e[order], p[order]
    starts = np.searchsorted(g, g, side="left")
    chosen = (np.arange(len(g)) - starts) < drop_n[g]
    deletes: dict[int, list[int]] = {}
    for ee, pp in zip(e[chosen].tolist(), p[chosen].tolist()):
        deletes.setdefault(ee, []).append(pp)
    add_n = np.maximum(want - have, 0)
    add_rows = np.repeat(rep, add_n).tolist()
    conflicts = [(int(rep[i]), int(cb[i]), int(co[i]), int(ct[i])) for i in np.flatnonzero(conflict)] \
        if strategy == "fail" else []
    out.facts = {"candidate_rows": int(allk.num_rows), "conflicts_resolved": n_conf if strategy != "fail" else 0}
    if conflicts:
        whole = pa.concat_tables(parts)
        idx = pa.array([c[0] for c in conflicts], type=pa.int64())
        t = whole.take(idx)
        for label, j in (("base_count", 1), ("our_count", 2), ("their_count", 3)):
            t = t.append_column(label, pa.array([c[j] for c in conflicts], type=pa.int64()))
        out.conflicts = t
        return out
    if out.schema_conflicts:
        return out
    out.deletes = {e: np.unique(np.asarray(p, dtype=np.int64)) for e, p in deletes.items()}
    whole = pa.concat_tables(parts)
    out.added = whole.take(pa.array(add_rows, type=pa.int64())) if add_rows else final.empty_table()
    out.facts.update({"rows_deleted": int(sum(len(p) for p in out.deletes.values())),
                      "rows_added": int(out.added.num_rows)})
    if out.rewrite:
        entries = s.ours_entries
        allrows = read_located(ours, entries, [None] * len(entries))
        keep = np.ones(allrows.num_rows, dtype=bool)
        for ent, pos in out.deletes.items():
            here = allrows.entry == ent
            keep[here] &= ~np.isin(allrows.pos[here], pos)
        rest = conform(allrows.rows.filter(pa.array(keep)), final, "ours", name)
        out.added = pa.concat_tables([rest, out.added])
        out.deletes = {}
    return out
