"""Conflicts of a merge: the per-table summary, and the conflicts written as a package of their own.

The conflicts package (default name ``<target>-conflicts``) holds, per table with conflicting
rows, a table of the same name shaped like Dolt's ``dolt_conflicts_<table>``: the key columns,
then ``base_<col>``…, ``our_<col>``…, ``our_diff_type``, ``their_<col>``…, ``their_diff_type``
(``added``/``removed``/``modified``/``unchanged``) and ``conflict_columns`` (the cells in
conflict, ``(row)`` for a whole-row conflict). A table without a key lists the conflicting rows
with ``base_count``/``our_count``/``their_count``. ``_schema`` lists schema conflicts,
``_files`` file conflicts, ``_tables`` table-level ones (removed on one side, changed on the
other), and ``_summary`` one row per table (``table``, ``num_conflicts``, ``num_cells``; ``(files)`` for files), like
Dolt's ``dolt_conflicts``. It reads like any package: pandas, Spark, ``lakepkg query``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

from lakepkg.merging.outcome import TableOutcome


@dataclass
class ConflictReport:
    """What did not merge: table outcomes with conflicts, file conflicts, table-level conflicts."""

    tables: list[TableOutcome] = field(default_factory=list)
    files: Optional[pa.Table] = None
    table_level: list[tuple[str, str]] = field(default_factory=list)   # (table, description)
    package: Optional[str] = None   # the conflicts package's reference once written

    @property
    def empty(self) -> bool:
        return not self.tables and not self.table_level and (self.files is None or self.files.num_rows == 0)

    def summary_lines(self) -> list[str]:
        """One line per table (conflicting rows and cells, schema), per table-level conflict, and for files."""
        lines = [t.summary() for t in self.tables]
        lines += [f"{t}: {d}" for t, d in self.table_level]
        if self.files is not None and self.files.num_rows:
            lines.append(f"files: {self.files.num_rows} conflicting ({', '.join(self.files['key'].to_pylist()[:5])})")
        return lines

    def summary_table(self) -> pa.Table:
        names = [t.name for t in self.tables] + [t for t, _ in self.table_level]
        rows = [t.conflicting_rows + len(t.schema_conflicts) for t in self.tables] + [1] * len(self.table_level)
        cells = [t.conflict_cells for t in self.tables] + [0] * len(self.table_level)
        if self.files is not None and self.files.num_rows:
            names, rows, cells = names + ["(files)"], rows + [self.files.num_rows], cells + [0]
        return pa.table({"table": pa.array(names, pa.string()), "num_conflicts": pa.array(rows, pa.int64()),
                         "num_cells": pa.array(cells, pa.int64())})

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "summary": self.summary_lines(),
                "tables": [{"table": t.name, "conflicting_rows": t.conflicting_rows, "conflicting_cells": t.conflict_cells,
                            "schema": [c.to_json() for c in t.schema_conflicts]} for t in self.tables],
                "table_level": [{"table": t, "description": d} for t, d in self.table_level],
                "files": [] if self.files is None else self.files.to_pylist()}


def conflicts_package(report: ConflictReport) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """The tables of the conflicts package and its metadata."""
    tables: dict[str, pa.Table] = {"_summary": report.summary_table()}
    schema_rows: list[dict[str, Any]] = []
    for t in report.tables:
        if t.conflicts is not None:
            tables[t.name] = t.conflicts
        schema_rows += [{"table": t.name, **c.to_json()} for c in t.schema_conflicts]
    if schema_rows:
        tables["_schema"] = pa.Table.from_pylist(schema_rows, schema=pa.schema(
            [(k, pa.string()) for k in ("table", "column", "base_type", "our_type", "their_type", "description")]))
    if report.files is not None and report.files.num_rows:
        tables["_files"] = report.files
    if report.table_level:
        tables["_tables"] = pa.table({"table": [t for t, _ in report.table_level],
                                      "description": [d for _, d in report.table_level]})
    return tables, {"merge_conflicts": True}
