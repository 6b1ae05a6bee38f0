"""Notebook views: the HTML cards ``Table._repr_html_`` and ``Package._repr_html_`` show (escaped by
:mod:`lakepkg.read.html`)."""
from __future__ import annotations

from typing import Any

from lakepkg.read.history import merge_label
from lakepkg.read.html import card, facts, grid, schema_grid, section
from lakepkg.sizes import human_bytes

# a table with more fragments than this shows no partition list in its notebook view (it would read every page)
HTML_PARTITION_SCAN_LIMIT = 20_000
#: rows a table's notebook display shows
HTML_HEAD_ROWS = 10


def _cell(v: Any, limit: int = 80) -> str:
    text = "null" if v is None else str(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_html(table: Any) -> str:
    """The notebook view (HTML card) of a loaded table."""
    n = table.node
    head = facts([("package", table.package.ref), ("table node", table.hash), ("rows", f"{n.rows:,}"),
                  ("fragments", f"{n.fragments:,}"), ("size", human_bytes(n.bytes)), ("pages", len(n.pages)),
                  ("partition columns", ", ".join(table.partition_columns))])
    parts = [head, section(f"schema ({len(table.schema)} columns)", schema_grid(table.schema, table.partition_columns),
                           open_=True)]
    if table.partition_columns:
        if n.fragments <= HTML_PARTITION_SCAN_LIMIT:
            ps = table.partitions
            rows = [[p.get(c) for c in table.partition_columns] for p in ps[:50]]
            more = f" (first 50 shown)" if len(ps) > 50 else ""
            parts.append(section(f"partitions ({len(ps):,}){more}", grid(table.partition_columns, rows)))
        else:
            parts.append(section("partitions", f"<p>{n.fragments:,} fragments: list them with t.partitions</p>"))
    if table.provenance:
        parts.append(section("provenance", facts(sorted(table.provenance.items()))))
    if table.meta:
        parts.append(section("metadata", facts(sorted(table.meta.items()))))
    first = table.head(HTML_HEAD_ROWS)  # the first rows, as polars and DuckDB show them
    parts.insert(1, section(f"first {first.num_rows} of {n.rows:,} rows",
                            grid(first.column_names, ([_cell(v) for v in r.values()] for r in first.to_pylist())),
                            open_=True))
    return card(f"Table {table.name}", *parts)


def package_html(pkg: Any) -> str:
    """The notebook view (HTML card) of a loaded package version."""
    rec = pkg.record
    head = facts([("top hash", pkg.top_hash), ("created", rec.created_at if rec else None),
                  ("author", rec.author if rec else None), ("message", rec.message if rec else None),
                  ("parent", rec.parent if rec else None), ("derived from", rec.derived_from if rec else None),
                  ("merge", merge_label(rec.merge) if rec and rec.merge else None),
                  ("tags", ", ".join(pkg.tags)), ("lakepkg", rec.lakepkg_version if rec else None)])
    rows = []
    for n in pkg.tables:
        t = pkg.table(n)
        rows.append((n, f"{t.rows:,}", f"{t.node.fragments:,}", human_bytes(t.node.bytes),
                     ", ".join(t.partition_columns), t.hash[:10]))
    parts = [head, section(f"tables ({len(rows)})", grid(["table", "rows", "fragments", "size", "partitions",
                                                         "node"], rows), open_=True)]
    for n in pkg.tables:
        t = pkg.table(n)
        parts.append(section(f"schema of {n}", schema_grid(t.schema, t.partition_columns)))
    files = pkg.files
    if files:
        parts.append(section(f"files ({len(files)})", grid(["file", "size", "object"],
                                                           [(f.key, human_bytes(f.size), f.object[:12]) for f in files])))
    if rec is not None and rec.run:
        parts.append(section("run record", facts(sorted(rec.run.items()))))
    if rec is not None and rec.sources:
        parts.append(section("provenance (sources)", facts(sorted(rec.sources.items()))))
    if pkg.meta:
        parts.append(section("metadata", facts(sorted(pkg.meta.items()))))
    return card(f"Package {pkg.ref}", *parts)
