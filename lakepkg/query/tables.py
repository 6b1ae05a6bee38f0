"""The package tables a query may read: loaded and pinned, named as in their source, typed as the
engine shows them to a query of a given dialect.

Reading a table goes through ONE function, :func:`dataset` (the planned scan of the read layer).
The engine view of a table keeps every column's Arrow type (decimal precision and scale as the
SQL connector stored them), except where the source dialect saw another type: for MySQL, a
``tinyint(1)`` stored as boolean is a TINYINT again and a ``TIMESTAMP`` (stored in UTC) is the
local time of the session's zone, as MySQL returns it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import pyarrow as pa

from lakepkg.query.dialects import of_provenance
from lakepkg.query.transpile import Binding


@dataclass(frozen=True)
class Bound:
    """A binding and the loaded package table behind it."""

    binding: Binding
    table: Any          # lakepkg.read.package.Table
    package: str        # "ns/name@<10 hex>"


def dataset(table: Any, filters: Optional[list[tuple[str, str, Any]]] = None) -> Any:
    """The pyarrow dataset of a package table's pinned fragments, pruned by the read plan with
    ``filters`` (from the query's WHERE, :mod:`lakepkg.query.pruning`); the engine pushes its own
    filters and projections into the dataset scan as well."""
    return read_plan(table, filters).to_arrow_dataset()


def read_plan(table: Any, filters: Optional[list[tuple[str, str, Any]]] = None) -> Any:
    """The read plan (:class:`lakepkg.read.scan.ScanPlan`) of a package table's pinned fragments,
    pruned with those of ``filters`` that compare a column with a value of its kind."""
    schema = table.schema
    kept = [(c, op, v) for c, op, v in (filters or []) if c in schema.names and _same_kind(schema.field(c).type, v)]
    return table.scan(kept or None)


def _same_kind(t: pa.DataType, v: Any) -> bool:
    """Whether a stored column of type ``t`` compares with the literal ``v`` as the query means it."""
    first = v[0] if isinstance(v, list) and v else v
    if isinstance(first, str):
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if isinstance(first, int):
        return pa.types.is_integer(t)
    if isinstance(first, float):
        return pa.types.is_floating(t)
    return False


def load(package: Any, registry: Any = None, names: Optional[Mapping[str, str]] = None) -> tuple[list[Bound], str]:
    """Load ``package`` (a reference, a list of them, a Package or a Table) and bind every table;
    also the label of the versions for messages (``snapshot sales/snap@3fa2c1d4e5``)."""
    from lakepkg.query.names import load_packages, plan_tables

    loaded = load_packages(package, registry)
    planned = plan_tables(loaded, names)
    by_key = {(p.ref, t.name): t for p, ts in loaded for t in ts}
    out = []
    for st in planned:
        t = by_key[(st.package, st.table)]
        out.append(Bound(Binding(st.name, st.view, st.bare, t.schema, of_provenance(t.provenance)), t, st.package))
    label = "snapshot " + ", ".join(dict.fromkeys(b.package for b in out))
    return out, label


def view_schema(schema: pa.Schema, dialect: str) -> pa.Schema:
    """The columns as a query written in ``dialect`` sees them (see the module doc)."""
    fields = []
    for f in schema:
        t = f.type
        if dialect == "mysql" and pa.types.is_boolean(t):
            t = pa.int8()
        elif dialect == "mysql" and pa.types.is_timestamp(t) and t.tz:
            t = pa.timestamp(t.unit)
        fields.append(pa.field(f.name, t, f.nullable, f.metadata))
    return pa.schema(fields)


def view_columns(schema: pa.Schema, dialect: str, timezone: str) -> list[Any]:
    """sqlglot select expressions that turn the stored columns into :func:`view_schema`'s."""
    from sqlglot import exp

    out = []
    shown = view_schema(schema, dialect)
    for stored, seen in zip(schema, shown):
        col: Any = exp.column(stored.name, quoted=True)
        if stored.type != seen.type:
            if pa.types.is_timestamp(stored.type):
                col = exp.AtTimeZone(this=col, zone=exp.Literal.string(timezone))
                col = exp.cast(col, "TIMESTAMP")
            else:
                col = exp.cast(col, "TINYINT")
            col = exp.alias_(col, stored.name, quoted=True)
        out.append(col)
    return out


def rebind(bound: Sequence[Bound], dialect: str) -> list[Binding]:
    """The bindings with their schemas as ``dialect`` sees them."""
    return [Binding(b.binding.name, b.binding.view, b.binding.bare, view_schema(b.binding.schema, dialect),
                    b.binding.dialect) for b in bound]
