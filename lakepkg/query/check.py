"""``--check``: the fast engine's answer checked against the exact engine's.

    from lakepkg.query.check import checked
    result = checked(sql, "tpch/pg@3fa2c1")              # exact engine from the tables' source
    result.answer, result.fast_refused, result.difference

Both engines answer the query; the answers are compared exactly (:mod:`.compare`: decimals as
decimals, NULLs, order only where ORDER BY defines it). A difference is a QueryError naming the first
differing row of both answers (``lakepkg query --check`` exits 1). A query the fast engine refuses
is answered by the exact engine alone, and the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import pyarrow as pa

from lakepkg.errors import ConfigError, QueryError
from lakepkg.query.compare import Difference, differs
from lakepkg.query.dialects import label


@dataclass
class Checked:
    """The exact answer, and what the fast engine did."""

    answer: pa.Table
    exact_engine: str
    fast_refused: Optional[str] = None
    difference: Optional[Difference] = None


def exact_engine_for(dialect: Optional[str], server: Optional[str]) -> str:
    """The exact engine of a source dialect (``postgres``, ``mysql``)."""
    if dialect == "postgres":
        return "postgres"
    if dialect == "mysql":
        if not server:
            raise ConfigError("--check on a MySQL/MariaDB snapshot needs --server URL (the exact engine runs in a "
                              "scratch database there), e.g. --server mysql://root@127.0.0.1:3306/lakepkg_scratch")
        return "mysql"
    raise ConfigError(f"--check needs an exact engine, which exists for PostgreSQL and MySQL/MariaDB snapshots, "
                      f"not for {label(dialect or 'files')}")


def checked(sql: str, package: Any, *, fast: Callable[[], pa.Table], dialect: Optional[str] = None,
            engine: Optional[str] = None, server: Optional[str] = None, names: Optional[Mapping[str, str]] = None,
            registry: Any = None) -> Checked:
    """Run ``fast()`` and the exact engine; QueryError when the answers differ."""
    from lakepkg.query.exact import run_exact
    from lakepkg.query.tables import load

    if engine is None:
        bound, _ = load(package, registry, names)
        dialects = {b.binding.dialect for b in bound}
        engine = exact_engine_for(dialect or (dialects.pop() if len(dialects) == 1 else None), server)
    try:
        fast_answer: Optional[pa.Table] = fast()
        refused = None
    except QueryError as exc:
        fast_answer, refused = None, str(exc)
    exact = run_exact(sql, package, engine=engine, server=server, names=names, registry=registry)
    result = Checked(exact.table, engine, refused)
    if fast_answer is not None:
        d = differs(fast_answer, exact.table, sql, "postgres" if engine == "postgres" else "mysql")
        if d is not None:
            result.difference = d
            raise QueryError(f"the fast engine's answer differs from the exact engine's ({label(engine)}): "
                             f"{d.line('fast', 'exact')}")
    return result
