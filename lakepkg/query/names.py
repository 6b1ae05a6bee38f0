"""Which package table a query's table name means: each table's original name (from its provenance),
its unique engine view and the bare name it answers to — for every engine (DuckDB, Spark, the exact
engines), so no engine needs another's modules to resolve names.

    loaded = load_packages("sales/snap@3fa2c1")          # pinned versions and their tables
    plan_tables(loaded)    # [SnapshotTable("sales.orders", "sales/snap@3fa2c1d4e5", "orders", "__lakepkg_3fa2c1d4_sales_orders", "orders")]
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

from lakepkg.errors import ConfigError, NotFoundError, QueryError

__all__ = ["PackageRef", "SnapshotTable", "split_name", "original_name", "load_packages", "plan_tables"]

PackageRef = Union[str, Any]  # "ns/name@ref", "ns/name@ref/table", a lakepkg.read.package.Package or Table


def split_name(name: str) -> list[str]:
    """``sales.orders`` / ```sales`.`orders``` -> ["sales", "orders"] (backquotes honoured)."""
    parts, cur, i, quoted = [], "", 0, False
    while i < len(name):
        ch = name[i]
        if ch == "`":
            if quoted and name[i + 1:i + 2] == "`":
                cur += "`"
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur.strip())
    if quoted or any(not p for p in parts):
        raise QueryError(f"{name!r} is not a table name; write it as db.table (backquote parts with odd characters)")
    return parts


@dataclass(frozen=True)
class SnapshotTable:
    """One table of a snapshot as queries see it."""

    name: str             # original qualified name the query uses, e.g. "sales.orders"
    package: str          # the package version, e.g. "sales/snap@3fa2c1d4e5"
    table: str            # the package table
    view: str             # its unique temporary view
    bare: Optional[str]   # also registered under this bare name (None: shared with another table)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "package": self.package, "table": self.table, "view": self.view,
                "bare": self.bare}


def original_name(table: Any) -> str:
    """The name a package table had in its source, from its provenance (see the module doc)."""
    prov = table.provenance or {}
    qn = prov.get("qualified_name")
    if isinstance(qn, str) and qn.strip():
        return qn.strip()
    if prov.get("database") and prov.get("table") and prov.get("source") == "hive":
        return f"{prov['database']}.{prov['table']}"
    return table.name


def _norm(name: str) -> str:
    return ".".join(p.lower() for p in split_name(name))


def _view_name(top_hash: str, name: str) -> str:
    return f"__lakepkg_{top_hash[:8]}_" + re.sub(r"[^0-9a-z_]", "_", _norm(name).replace(".", "_"))


def load_packages(refs: "PackageRef | Sequence[PackageRef]", registry: Any = None) -> list[tuple[Any, list[Any]]]:
    """Load (and so pin) each referenced version: [(package, its tables)].

    A reference naming a table (``ns/name@ref/orders``) contributes that table only."""
    from lakepkg.read.package import Package, Table, load
    from lakepkg.registry import open_registry

    items = [refs] if isinstance(refs, (str, Package, Table)) else list(refs)
    if not items:
        raise ConfigError("give at least one package version, e.g. sales/snap@3fa2c1")
    reg = None
    out: list[tuple[Any, list[Any]]] = []
    for item in items:
        if isinstance(item, str):
            if reg is None:
                reg = open_registry(registry)
            item = load(item, reg)
        if isinstance(item, Table):
            out.append((item.package, [item]))
        elif isinstance(item, Package):
            out.append((item, [item.table(n) for n in item.tables]))
        else:
            raise ConfigError(f"{item!r} is not a package or a table; name a version like sales/snap@3fa2c1")
        if not out[-1][1]:
            raise NotFoundError(f"{out[-1][0].ref} has no tables to query")
    return out


def _find_table(loaded: list[tuple[Any, list[Any]]], spec: str) -> tuple[Any, Any]:
    """The (package, table) that ``spec`` (``table`` or ``ns/name/table``) names."""
    pkg_name, _, tname = spec.rpartition("/")
    hits = [(p, t) for p, ts in loaded for t in ts if t.name == tname and (not pkg_name or p.name == pkg_name)]
    if not hits:
        have = ", ".join(f"{p.name}/{t.name}" for p, ts in loaded for t in ts)
        raise NotFoundError(f"names: no package table {spec!r}; tables: {have}")
    if len(hits) > 1:
        raise ConfigError(f"names: table {spec!r} is in several packages; write it as ns/name/{tname}")
    return hits[0]


def plan_tables(loaded: list[tuple[Any, list[Any]]], names: Optional[Mapping[str, str]] = None) -> list[SnapshotTable]:
    """Decide every table's original name, unique view and bare view (no Spark involved)."""
    chosen: dict[int, list[str]] = {}
    for orig, spec in (names or {}).items():
        _norm(orig)  # validates
        p, t = _find_table(loaded, spec)
        chosen.setdefault(id(t), []).append(orig.strip())
    rows: list[tuple[str, Any, Any]] = []
    for p, ts in loaded:
        for t in ts:
            for orig in chosen.get(id(t)) or [original_name(t)]:
                rows.append((orig, p, t))
    seen: dict[str, str] = {}
    for orig, p, t in rows:
        key = _norm(orig)
        where = f"{p.ref}/{t.name}"
        if key in seen and seen[key] != where:
            raise ConfigError(f"two tables answer to {orig!r} ({seen[key]} and {where}); "
                              f"give one of them another name with names={{...}} / --name")
        seen[key] = where
    bare_count: dict[str, int] = {}
    for orig, _, _ in rows:
        b = split_name(orig)[-1].lower()
        bare_count[b] = bare_count.get(b, 0) + 1
    views: set[str] = set()
    out = []
    for orig, p, t in rows:
        parts = split_name(orig)
        view = _view_name(p.top_hash, orig)
        n = 2
        while view in views:
            view, n = f"{_view_name(p.top_hash, orig)}_{n}", n + 1
        views.add(view)
        # a one-part name is its own bare name (unique: checked above); a qualified one gets its
        # last part unless another table answers to that too
        bare = parts[-1] if len(parts) == 1 or bare_count[parts[-1].lower()] == 1 else None
        out.append(SnapshotTable(orig, p.ref, t.name, view, bare))
    return out
