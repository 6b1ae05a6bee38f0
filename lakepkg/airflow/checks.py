"""Write-audit-publish checks: run against the written (not yet published) version.

A check is either a callable receiving the :class:`~lakepkg.read.package.Package`
(it fails by returning ``False`` or raising) or a dict:

* ``{"type": "row_count", "table": "orders", "min": 1000, "max": 10_000_000}``
* ``{"type": "not_null", "table": "orders", "columns": ["id", "customer_id"]}``
* ``{"type": "sql", "query": "SELECT count(*) = 0 FROM orders WHERE amount < 0"}`` — through
  ``lakepkg.query``; passes when every value of the first row is true (Airflow's SQL-check
  convention), or equals ``"expect"`` when given.

Any dict may carry a ``"name"`` shown in the failure line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Union

from lakepkg.airflow.errors import CheckFailedError
from lakepkg.errors import ConfigError, LakepkgError, one_line

__all__ = ["Check", "CheckResult", "check_name", "validate_checks", "run_checks"]

Check = Union[Callable[[Any], Any], Mapping[str, Any]]
KINDS = ("row_count", "not_null", "sql")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def check_name(check: Check) -> str:
    """A short name for a check: its ``name``, or what it checks (``row_count(orders) >= 1000``)."""
    if callable(check):
        return getattr(check, "__name__", type(check).__name__)
    if check.get("name"):
        return str(check["name"])
    kind = check.get("type")
    if kind == "row_count":
        bounds = [f">= {check['min']}" if check.get("min") is not None else "",
                  f"<= {check['max']}" if check.get("max") is not None else ""]
        return f"row_count({check.get('table')}) {' '.join(b for b in bounds if b)}".strip()
    if kind == "not_null":
        return f"not_null({check.get('table')}.{','.join(_columns(check))})"
    if kind == "sql":
        return f"sql({one_line(check.get('query', ''), 60)})"
    return str(kind)


def _columns(check: Mapping[str, Any]) -> list[str]:
    cols = check.get("columns", check.get("column"))
    return [cols] if isinstance(cols, str) else list(cols or [])


def validate_checks(checks: Sequence[Check]) -> None:
    """Fail at DAG parse time on a malformed check."""
    for i, c in enumerate(checks or [], 1):
        if callable(c):
            continue
        if not isinstance(c, Mapping) or c.get("type") not in KINDS:
            raise ConfigError(f"check {i} must be a callable or a dict with type one of {', '.join(KINDS)}; got {c!r}"[:300])
        kind = c["type"]
        if kind in ("row_count", "not_null") and not c.get("table"):
            raise ConfigError(f"check {i} ({kind}) needs 'table'")
        if kind == "row_count" and c.get("min") is None and c.get("max") is None:
            raise ConfigError(f"check {i} (row_count) needs 'min' and/or 'max'")
        if kind == "not_null" and not _columns(c):
            raise ConfigError(f"check {i} (not_null) needs 'columns'")
        if kind == "sql" and not c.get("query"):
            raise ConfigError(f"check {i} (sql) needs 'query'")


def _row_count(pkg: Any, c: Mapping[str, Any]) -> tuple[bool, str]:
    rows = pkg.table(c["table"]).rows
    lo, hi = c.get("min"), c.get("max")
    ok = (lo is None or rows >= lo) and (hi is None or rows <= hi)
    return ok, f"{c['table']} has {rows} rows"


def _not_null(pkg: Any, c: Mapping[str, Any]) -> tuple[bool, str]:
    t = pkg.table(c["table"])
    cols = _columns(c)
    missing = [col for col in cols if col not in t.schema.names]
    if missing:
        raise ConfigError(f"table {c['table']!r} has no column(s) {', '.join(missing)}; columns: {', '.join(t.schema.names)}")
    nulls = {col: 0 for col in cols}
    for batch in t.scan(columns=cols).to_batches():  # the one read plan; bounded memory
        for col in cols:
            nulls[col] += batch.column(col).null_count
    bad = {k: v for k, v in nulls.items() if v}
    if bad:
        return False, "nulls in " + ", ".join(f"{k} ({v} rows)" for k, v in bad.items())
    return True, "no nulls"


def _sql(pkg: Any, c: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        from lakepkg.query import query
    except ImportError:
        raise ConfigError("sql checks need lakepkg's query engine (lakepkg.query), which is not installed") from None
    result = query(str(c["query"]), pkg)
    if result.num_rows == 0:
        return False, "the query returned no rows"
    first = [result.column(i)[0].as_py() for i in range(result.num_columns)]
    if "expect" in c:
        return first[0] == c["expect"], f"got {first[0]!r}, expected {c['expect']!r}"
    return all(bool(v) for v in first), f"first row {first!r}"


_RUNNERS = {"row_count": _row_count, "not_null": _not_null, "sql": _sql}


def run_checks(pkg: Any, checks: Sequence[Check]) -> list[CheckResult]:
    """Run every check against ``pkg``; raise :class:`CheckFailedError` on the first that fails.

    A check that raises fails too; its error is named in the one line (secrets never reach here:
    the package holds none)."""
    results: list[CheckResult] = []
    for c in checks:
        name = check_name(c)
        try:
            if callable(c):
                got = c(pkg)
                ok, detail = (got is not False), ("returned False" if got is False else "passed")
            else:
                ok, detail = _RUNNERS[c["type"]](pkg, c)
        except LakepkgError as exc:
            raise CheckFailedError(f"check {name} could not run: {one_line(exc)}") from None
        except Exception as exc:  # the check itself raised: that is a failed audit, not a crash
            raise CheckFailedError(f"check {name} raised {type(exc).__name__}: {one_line(exc)}") from None
        results.append(CheckResult(name, ok, detail))
        if not ok:
            raise CheckFailedError(f"check {name} failed: {detail}")
    return results
