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
    groups = allk.group_by([c for c in allk.column_names if c != "__row"], use_threads=False).aggregate(
        [("__row", "list")])["__row_list"].to_pylist()
    lay = layout_side(final, ours, theirs)
    side = lay or "ours"
    out = TableOutcome(name, final, None, layout=side, rewrite=lay is None, schema_conflicts=list(ms.conflicts))
    if strategy != "fail":
        out.schema_conflicts = []
    gone_l, ch, first_side = (s.gone_ours, s.ch_ours, nb) if side == "ours" else (s.gone_theirs, s.ch_theirs, nb + no)
    side_rows = s.ours if side == "ours" else s.theirs
    conflicts: list[tuple[int, int, int, int]] = []
    deletes: dict[int, list[int]] = {}
    add_rows: list[int] = []
    n_conf = 0
    for rows in groups:
        r = np.asarray(rows, dtype=np.int64)
        bs = r[r < nb]
        os_ = r[(r >= nb) & (r < nb + no)]
        ts_ = r[r >= nb + no]
        cb = len(bs)
        co = len(os_) + int((~s.gone_ours[bs]).sum()) if cb else len(os_)
        ct = len(ts_) + int((~s.gone_theirs[bs]).sum()) if cb else len(ts_)
        do, dt = co - cb, ct - cb
        if do == 0:
            want = ct
        elif dt == 0 or do == dt:
            want = co
        else:
            n_conf += 1
            if strategy == "fail":
                conflicts.append((int(r[0]), cb, co, ct))
                continue
            want = co if strategy == "ours" else ct
        have = co if side == "ours" else ct
        if want < have:
            locs = [(int(side_rows.entry[i - first_side]), int(side_rows.pos[i - first_side]))
                    for i in (os_ if side == "ours" else ts_)]
            locs += [(ch.base_to_side[int(s.base.entry[i])], int(s.base.pos[i])) for i in bs if not gone_l[i]]
            for e, p in sorted(locs)[: have - want]:
                deletes.setdefault(e, []).append(p)
        elif want > have:
            add_rows += [int(r[0])] * (want - have)
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
        for e, pos in out.deletes.items():
            sel = allrows.entry == e
            keep[sel] &= ~np.isin(allrows.pos[sel], pos)
        rest = conform(allrows.rows.filter(pa.array(keep)), final, "ours", name)
        out.added = pa.concat_tables([rest, out.added])
        out.deletes = {}
    return out
