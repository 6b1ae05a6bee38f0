"""Row predicates for where-used and redaction: SQL ``WHERE`` text → lakepkg filter terms.

``parse_predicate("customer_id = 42 AND ds >= '2026-11-01'")`` parses the text with sqlglot and
turns it (through :mod:`lakepkg.read.where`, the one WHERE reader) into the disjunctive normal form :mod:`lakepkg.read.filters` uses (a list of
conjunctions of ``(column, op, value)``), so fragments are pruned by partition values and min/max
statistics before any is read. Supported: ``= != <> < <= > >=``, ``IN``/``NOT IN``, ``BETWEEN``,
``AND``/``OR``/``NOT`` and parentheses, with number, string, boolean and ``DATE '…'`` /
``TIMESTAMP '…'`` literals. A row where the predicate is NULL (a NULL column) does not match.

The predicate's *hash* (:attr:`Predicate.digest`) is what the audit log records — never the values.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError, LakepkgError
from lakepkg.format.canonical import canonical_json
from lakepkg.read.filters import py_value

from lakepkg.read.where import Conj, Term

MAX_CONJUNCTIONS = 256


@dataclass(frozen=True)
class Predicate:
    """A parsed ``--where``: the table it applies to and its terms in DNF."""

    table: str
    text: str
    conjs: tuple[tuple[Term, ...], ...]

    @property
    def columns(self) -> set[str]:
        return {t[0] for c in self.conjs for t in c}

    @property
    def digest(self) -> str:
        """SHA-256 of the normalised predicate (table + terms): recorded instead of the values."""
        doc = {"table": self.table, "where": [[[c, o, list(v) if isinstance(v, (list, tuple)) else v] for c, o, v in conj]
                                              for conj in self.conjs]}
        return hashlib.sha256(canonical_json(doc)).hexdigest()

    def for_schema(self, schema: pa.Schema) -> Optional[list[list[Term]]]:
        """The terms with values typed for ``schema``; conjunctions naming a column the schema lacks
        cannot hold (the column is NULL there) and are dropped. None when nothing can match."""
        out = []
        for conj in self.conjs:
            if any(c not in schema.names for c, _, _ in conj):
                continue
            typed = []
            for c, op, v in conj:
                t = schema.field(c).type
                if op in ("in", "not in"):
                    typed.append((c, op, [_typed(t, c, x) for x in v]))
                else:
                    typed.append((c, op, _typed(t, c, v)))
            out.append(typed)
        return out or None


def _typed(t: pa.DataType, column: str, v: Any) -> Any:
    try:
        if pa.types.is_integer(t) and isinstance(v, float) and v.is_integer():
            v = int(v)
        out = py_value(t, v)
        pa.scalar(out, t)  # refuses a value the column cannot hold
        return out
    except (ValueError, TypeError, ArithmeticError, pa.ArrowInvalid, pa.ArrowTypeError):
        raise ConfigError(f"--where: {v!r} is not a valid {t} value for column {column!r}") from None


def parse_predicate(where: str, table: str) -> Predicate:
    """Parse SQL ``WHERE`` text (without the keyword) into a :class:`Predicate`; one-line errors."""
    if not where or not where.strip():
        raise ConfigError("--where is empty: give a predicate such as \"customer_id = 42\"")
    try:
        import sqlglot
        from sqlglot.errors import SqlglotError
    except ImportError:
        raise ConfigError("--where needs sqlglot: pip install sqlglot") from None
    text = where.strip()
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {text}")
    except SqlglotError as exc:
        raise ConfigError(f"--where {text!r} is not a SQL predicate: {str(exc).splitlines()[0]}") from None
    cond = tree.args.get("where")
    if cond is None or tree.args.get("limit") or tree.args.get("group") or tree.args.get("order"):
        raise ConfigError(f"--where {text!r} is not a single SQL predicate")
    conjs = _dnf(cond.this, False, text)
    return Predicate(table=table, text=text, conjs=tuple(tuple(c) for c in conjs))


def _dnf(node: Any, neg: bool, text: str) -> list[Conj]:
    from lakepkg.read.where import Unsupported, dnf

    try:
        return dnf(node, lambda n: _column(n, text), lambda n: _literal(n, text), neg, MAX_CONJUNCTIONS)
    except Unsupported as exc:
        raise ConfigError(f"--where {text!r}: {exc}") from None


def _column(node: Any, text: str) -> str:
    from sqlglot import expressions as exp

    if not isinstance(node, exp.Column):
        raise ConfigError(f"--where {text!r}: {node.sql()!r} is not a column name")
    return str(node.name)


def _literal(node: Any, text: str) -> Any:
    from sqlglot import expressions as exp

    if isinstance(node, exp.Paren):
        return _literal(node.this, text)
    if isinstance(node, exp.Neg):
        v = _literal(node.this, text)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        s = str(node.this)
        try:
            return int(s)
        except ValueError:
            return float(s)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return str(node.this.this)  # DATE '2026-11-01', TIMESTAMP '…': typed by the column later
    if isinstance(node, exp.Null):
        raise ConfigError(f"--where {text!r}: comparisons with NULL never match; IS NULL is not supported")
    raise ConfigError(f"--where {text!r}: {node.sql()!r} is not a literal value")


def check_columns(pred: Predicate, schemas: list[pa.Schema]) -> None:
    """Every column the predicate names must exist in the table in at least one version."""
    known: set[str] = set()
    for s in schemas:
        known.update(s.names)
    missing = sorted(pred.columns - known)
    if missing:
        cols = ", ".join(sorted(known)[:20]) or "none"
        raise LakepkgError(f"--where names unknown column {missing[0]!r} of table {pred.table!r} (columns: {cols})")


def matching_mask(table: pa.Table, conjs: list[list[Term]]) -> pa.ChunkedArray:
    """Boolean per row: True where the predicate holds (NULL counts as not matching)."""
    import pyarrow.compute as pc

    from lakepkg.read.filters import to_expression

    expr = to_expression(conjs)
    idx = pa.array(range(table.num_rows), pa.int64())
    hit = table.append_column("__lakepkg_row", idx).filter(expr)["__lakepkg_row"]
    return pc.is_in(idx, value_set=hit.combine_chunks() if hit.num_chunks else pa.array([], pa.int64()))
