"""Row-level diff of two package versions, and the rows digest of a table.

    d = lakepkg.load("air/flights@3fa2c1").diff(lakepkg.load("air/flights"), rows=True)
    d.tables["flights"].added      # Arrow table of the rows only the new version holds
    d.tables["flights"].removed    # ... only the old one holds
    d.tables["flights"].changed    # key columns, changed_columns, old:<col> / new:<col>
    d.summary()                    # "flights: 12 added, 3 removed, 40 changed (dep_delay 40); ..."

Only rows that can differ are read: fragments whose entries are equal on both
sides (same object, same deletion vector) are skipped, pages with equal hashes
are never read, and a fragment whose object both sides share contributes only
the rows deleted on one side and not the other. The remaining rows are
matched by key — the table's key (``writer.key``, the primary key of a SQL
table), or ``key=`` — through the SHA-256 of the key columns' canonical encoding
(:mod:`lakepkg.format.row_identity`), each match confirmed by comparing the
encoded key values themselves; a matched pair whose whole-row SHA-256 differ is
*changed*, and the columns whose encoded values differ are named. Without a key,
rows are matched whole, as multisets (added/removed only). Every Arrow type a
table can hold takes part (lists, structs, maps, JSON text, decimals, binary).
Memory follows the rows of the fragments that differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakepkg.errors import ConfigError
from lakepkg.format.deletion_vector import deleted_positions
from lakepkg.read.arrow_scan import ArrowScan
from lakepkg.read.diff import _merge_pages
from lakepkg.format.row_identity import encode_rows, row_hash_matrix
from lakepkg.format.rows_digest import compare_digests
from lakepkg.read.rows_digest import compute_rows_digest, recorded_rows_digest, rows_digest  # noqa: F401

JSON_ROW_LIMIT = 1000


def table_key(table: Any, key: Optional[list[str]] = None) -> Optional[list[str]]:
    """The key a row diff of ``table`` uses: ``key``, else the key its rows were cut by, else the
    source's key in its provenance, else None."""
    if key:
        missing = [k for k in key if k not in table.schema.names]
        if missing:
            raise ConfigError(f"key column(s) {', '.join(missing)} are not columns of table {table.name!r}; "
                              f"columns are {', '.join(table.schema.names)}")
        return list(key)
    k = (table.node.writer or {}).get("key") or table.provenance.get("key")
    return list(k) if k else None


@dataclass
class TableRowDiff:
    """Rows added, removed and changed in one table."""

    name: str
    key: Optional[list[str]]
    added: pa.Table
    removed: pa.Table
    changed: pa.Table
    fragments_read: int = 0
    fragments_skipped: int = 0
    same_rows: Optional[bool] = None
    status: str = "changed"                # changed | added | removed | identical
    changed_columns: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if self.status in ("added", "removed"):
            return f"{self.name}: table {self.status}"
        if self.status == "identical":
            return f"{self.name}: identical"
        if not (self.added.num_rows or self.removed.num_rows or self.changed.num_rows):
            return f"{self.name}: same rows, different layout"
        cols = ", ".join(f"{c} {n}" for c, n in sorted(self.changed_columns.items(), key=lambda kv: (-kv[1], kv[0])))
        ch = f"{self.changed.num_rows} changed" + (f" ({cols})" if cols else "")
        keyed = "" if self.key else " (no key: rows matched whole)"
        return (f"{self.name}: {self.added.num_rows} added, {self.removed.num_rows} removed, {ch}{keyed}; "
                f"{self.fragments_skipped} fragment(s) skipped, {self.fragments_read} read")

    def to_json(self, limit: int = JSON_ROW_LIMIT) -> dict[str, Any]:
        def rows(t: pa.Table) -> list[dict[str, Any]]:
            return t.slice(0, limit).to_pylist()

        return {"table": self.name, "status": self.status, "key": self.key,
                "added": self.added.num_rows, "removed": self.removed.num_rows, "changed": self.changed.num_rows,
                "changed_columns": self.changed_columns, "same_rows": self.same_rows,
                "fragments_read": self.fragments_read, "fragments_skipped": self.fragments_skipped,
                "rows": {"added": rows(self.added), "removed": rows(self.removed), "changed": rows(self.changed)},
                "truncated": any(t.num_rows > limit for t in (self.added, self.removed, self.changed))}


@dataclass
class RowDiff:
    """A row-level diff of two versions (``Package.diff(other, rows=True)``)."""

    old: str
    new: str
    tables: dict[str, TableRowDiff] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return all(t.status == "identical" or (t.status == "changed" and not (
            t.added.num_rows or t.removed.num_rows or t.changed.num_rows)) for t in self.tables.values())

    def summary(self) -> str:
        lines = [t.summary() for t in self.tables.values() if t.status != "identical"]
        return "; ".join(lines) if lines else "identical rows"

    def to_json(self, limit: int = JSON_ROW_LIMIT) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "summary": self.summary(),
                "tables": [t.to_json(limit) for t in self.tables.values()]}

    def __repr__(self) -> str:
        return f"<RowDiff {self.old[:10]}..{self.new[:10]}: {self.summary()}>"

    def _repr_html_(self, limit: int = 20) -> str:
        """A notebook's view: one section per table with its added, removed and changed rows (first
        ``limit`` of each)."""
        from lakepkg.read.html import card, grid, section

        def rows(t: pa.Table) -> str:
            return grid(t.column_names, ([("null" if v is None else str(v))[:80] for v in r.values()]
                                         for r in t.slice(0, limit).to_pylist()))

        parts = []
        for t in self.tables.values():
            if t.status in ("added", "removed", "identical"):
                parts.append(section(t.summary(), ""))
                continue
            body = "".join(section(f"{what} ({tab.num_rows:,})" + (f", first {limit}" if tab.num_rows > limit else ""),
                                   rows(tab), open_=tab.num_rows > 0)
                           for what, tab in (("added", t.added), ("removed", t.removed), ("changed", t.changed)))
            parts.append(section(t.summary(), body, open_=True))
        return card(f"Row diff {self.old[:10]} → {self.new[:10]}: {self.summary()}", *parts)


def _reader(table: Any) -> ArrowScan:
    """The one reader over a loaded table's fragments (every column, no row filter)."""
    return ArrowScan(table.store, table.schema, table.partition_columns, table=table.name)


def _live(store: Any, entry: dict[str, Any], table: Any) -> pa.Table:
    """The live rows of one entry (vector applied), partition columns included, in schema order."""
    return _reader(table).read_task(entry).select(table.schema.names)


def _positions_table(store: Any, entry: dict[str, Any], table: Any, positions: np.ndarray) -> pa.Table:
    """Rows at ``positions`` of the entry's stored file (whatever its vector says), in schema order."""
    return _reader(table).read_positions(entry, positions).select(table.schema.names)


def _candidates(a: Any, b: Any) -> tuple[list[pa.Table], list[pa.Table], int, int]:
    """Rows of ``a`` and of ``b`` that may differ, read from the fragments that differ;
    also (fragment entries read, entries of ``b`` skipped as equal)."""
    pairs, _c, _s = _merge_pages(a.store, a.node.pages, b.store, b.node.pages)
    old: list[pa.Table] = []
    new: list[pa.Table] = []
    read = b_read = 0
    for ea, eb in pairs:
        if ea is not None and eb is not None and ea == eb:
            continue
        read += 1
        b_read += eb is not None
        if ea is not None and eb is not None and ea["object"] == eb["object"] and ea.get("partition") == eb.get("partition"):
            da = deleted_positions(a.store, ea, a.name)
            db = deleted_positions(b.store, eb, b.name)
            da = np.zeros(0, np.int64) if da is None else da
            db = np.zeros(0, np.int64) if db is None else db
            only_b = np.setdiff1d(db, da)   # live in a, gone in b
            only_a = np.setdiff1d(da, db)   # gone in a, live in b
            if len(only_b):
                old.append(_positions_table(a.store, ea, a, only_b))
            if len(only_a):
                new.append(_positions_table(b.store, eb, b, only_a))
            continue
        if ea is not None:
            old.append(_live(a.store, ea, a))
        if eb is not None:
            new.append(_live(b.store, eb, b))
    return old, new, read, max(0, b.node.fragments - b_read)


def _concat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([p.cast(schema) for p in parts])


def _match(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each row of ``x`` (an (n, 32) hash matrix): the index of the row of ``y`` it pairs with, or -1.

    Multisets: the k-th occurrence of a hash in ``x`` pairs with its k-th occurrence in ``y``."""
    nx, ny = len(x), len(y)
    out = np.full(nx, -1, dtype=np.int64)
    if not nx or not ny:
        return out
    both = np.ascontiguousarray(np.concatenate([x, y])).view(np.dtype((np.void, x.shape[1]))).ravel()
    _u, group = np.unique(both, return_inverse=True)
    group = group.ravel()
    side = np.r_[np.zeros(nx, np.int64), np.ones(ny, np.int64)]
    order = np.lexsort((np.arange(nx + ny), group, side))   # by side, hash, then position (stable)
    g = group[order] * 2 + side[order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    run = np.repeat(start, np.diff(np.r_[start, len(g)]))
    rank = np.empty(nx + ny, dtype=np.int64)
    rank[order] = np.arange(nx + ny) - run                  # occurrence number of the hash on its side
    # the k-th x and the k-th y of one hash are paired: key (group, rank) on each side
    key_x = group[:nx].astype(np.int64) * (nx + ny + 1) + rank[:nx]
    key_y = group[nx:].astype(np.int64) * (nx + ny + 1) + rank[nx:]
    sy = np.argsort(key_y, kind="stable")
    pos = np.searchsorted(key_y[sy], key_x)
    pos_c = np.minimum(pos, ny - 1)
    hit = (pos < ny) & (key_y[sy][pos_c] == key_x)
    out[hit] = sy[pos_c[hit]]
    return out


def _key_differs(ot: pa.Table, nt: pa.Table, key: list[str]) -> np.ndarray:
    a, b = encode_rows(ot, key), encode_rows(nt, key)
    if not len(a):
        return np.zeros(0, dtype=bool)
    return ~np.asarray(pc.equal(a, b).to_numpy(zero_copy_only=False), dtype=bool)


def _column_differs(ot: pa.Table, nt: pa.Table, c: str) -> np.ndarray:
    """Row i of ``ot`` and of ``nt`` differ in column ``c`` (by the canonical encoding: exact)."""
    return _key_differs(ot, nt, [c])


def diff_tables_rows(a: Any, b: Any, key: Optional[list[str]] = None) -> TableRowDiff:
    """Rows added, removed and changed from table ``a`` to table ``b`` (loaded tables)."""
    k = table_key(b, key) or table_key(a, key if key else None)
    schema = b.schema
    empty = schema.empty_table()
    if a.hash == b.hash:
        return TableRowDiff(b.name, k, empty, empty, empty, 0, b.node.fragments, True, "identical")
    old_parts, new_parts, read, skipped = _candidates(a, b)
    if not a.schema.equals(b.schema):
        names = [n for n in b.schema.names if n in a.schema.names]
        old_t = _concat([p.select(names) for p in old_parts], pa.schema([b.schema.field(n) for n in names]))
        new_t = _concat([p.select(names) for p in new_parts], pa.schema([b.schema.field(n) for n in names]))
    else:
        old_t, new_t = _concat(old_parts, schema), _concat(new_parts, schema)
    names = new_t.schema.names
    oh, nh = row_hash_matrix(old_t, names), row_hash_matrix(new_t, names)
    changed_cols: dict[str, int] = {}
    if k and all(c in names for c in k):
        in_old = _match(row_hash_matrix(new_t, k), row_hash_matrix(old_t, k))   # new row -> old row, same key
        paired = np.flatnonzero(in_old >= 0)
        if len(paired):  # confirm each pairing by the key values themselves, not only their hashes
            same_key = ~_key_differs(old_t.take(pa.array(in_old[paired], type=pa.int64())),
                                     new_t.take(pa.array(paired, type=pa.int64())), k)
            in_old[paired[~same_key]] = -1
        has_new = np.zeros(old_t.num_rows, dtype=bool)
        has_new[in_old[in_old >= 0]] = True
        added = new_t.filter(pa.array(in_old < 0))
        removed = old_t.filter(pa.array(~has_new))
        both_new = np.flatnonzero(in_old >= 0)
        both_old = in_old[both_new]
        differ = (oh[both_old] != nh[both_new]).any(axis=1)
        cn, co = both_new[differ], both_old[differ]
        nt, ot = new_t.take(pa.array(cn, type=pa.int64())), old_t.take(pa.array(co, type=pa.int64()))
        cols_changed: list[list[str]] = [[] for _ in range(len(cn))]
        for c in names:
            if c in k:
                continue
            for i in np.flatnonzero(_column_differs(ot, nt, c)):
                cols_changed[int(i)].append(c)
        for lst in cols_changed:
            for c in lst:
                changed_cols[c] = changed_cols.get(c, 0) + 1
        arrays = [nt.column(c) for c in k] + [pa.array(cols_changed, type=pa.list_(pa.string()))]
        fields = [nt.schema.field(c) for c in k] + [pa.field("changed_columns", pa.list_(pa.string()))]
        for c in names:
            if c not in k:
                arrays += [ot.column(c), nt.column(c)]
                fields += [pa.field(f"old:{c}", ot.schema.field(c).type), pa.field(f"new:{c}", nt.schema.field(c).type)]
        changed = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        if k:
            added = added.sort_by([(c, "ascending") for c in k])
            removed = removed.sort_by([(c, "ascending") for c in k])
            changed = changed.sort_by([(c, "ascending") for c in k])
    else:
        k = None
        in_old = _match(nh, oh)
        seen = np.zeros(old_t.num_rows, dtype=bool)
        seen[in_old[in_old >= 0]] = True
        added = new_t.filter(pa.array(in_old < 0))
        removed = old_t.filter(pa.array(~seen))
        changed = pa.schema([pa.field("changed_columns", pa.list_(pa.string()))]).empty_table()
    same, _legacy = compare_digests(recorded_rows_digest(a), recorded_rows_digest(b))
    if same is None and not (added.num_rows or removed.num_rows or changed.num_rows):
        same = True
    return TableRowDiff(b.name, k, added, removed, changed, read, skipped, same, "changed", changed_cols)


def diff_rows(a: Any, b: Any, key: Optional[list[str]] = None) -> RowDiff:
    """Row-level diff from package version ``a`` to ``b`` (every table the two hold)."""
    out = RowDiff(a.top_hash, b.top_hash)
    for n in sorted(set(a.tables) | set(b.tables)):
        if n not in b.tables or n not in a.tables:
            t = a.table(n) if n in a.tables else b.table(n)
            e = t.schema.empty_table()
            out.tables[n] = TableRowDiff(n, None, e, e, e, status="removed" if n not in b.tables else "added")
            continue
        out.tables[n] = diff_tables_rows(a.table(n), b.table(n), key)
    return out
