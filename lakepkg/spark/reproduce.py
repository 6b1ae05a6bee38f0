"""Reproduce a query: run SQL text written against live tables on a package's snapshots of them.

    from lakepkg.spark import use_snapshot

    with use_snapshot(spark, "sales/snap@3fa2c1") as snap:
        snap.sql("SELECT c.region, sum(o.amount) FROM sales.orders o "
                 "JOIN sales.customers c ON o.cid = c.id GROUP BY c.region").show()

Each table of the package answers to its *original name*, read from its
provenance: ``database.table`` for Hive, ``schema.table`` for a SQL
``--table`` snapshot (the package table name for a query snapshot),
``namespace.table`` for Iceberg, the package table name otherwise; ``names``
adds or replaces names (``{"sales.orders": "orders"}``). Every table becomes a
temporary view under a unique name (``__lakepkg_<tophash8>_sales_orders``)
and, when no other table of the snapshot shares it, under its bare table name
(``orders``), so unqualified references resolve too (a temporary view shadows
a catalog table of the same name). :meth:`Snapshot.sql` points the qualified
names of the query at the views (:mod:`lakepkg.spark.rewrite`), leaving the
rest of the text as written, and refuses a query that would still read a
live table. Nothing is created in any catalog or metastore.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from lakepkg.errors import ConfigError, LakepkgError, one_line
# moved to lakepkg.query.names (the fast engine needs them without Spark); kept importable from here
from lakepkg.query.names import (PackageRef, SnapshotTable, load_packages, original_name,  # noqa: F401
                                 plan_tables, split_name)
from lakepkg.spark.rewrite import QueryError, Target, rewrite_query

__all__ = ["Snapshot", "SnapshotTable", "QueryError", "use_snapshot", "plan_tables", "original_name",
           "load_packages", "register_views"]

# bare view name -> the Snapshot that registered it, per Spark session (so closing an older
# snapshot does not drop a newer snapshot's view of the same name)
_BARE_OWNERS: dict[tuple[int, str], int] = {}


def targets(tables: Sequence[SnapshotTable]) -> list[Target]:
    """The rewriter's view of ``tables``."""
    return [Target(t.name, t.view, t.bare) for t in tables]


class Snapshot:
    """Package tables registered as temporary views of one Spark session, queryable by original names.

    Use it as a context manager to drop the views at exit (or call :meth:`close`)."""

    def __init__(self, spark: Any, tables: list[SnapshotTable], packages: list[Any]) -> None:
        self.spark = spark
        self.tables = tables
        self.packages = packages
        self._closed = False

    @property
    def label(self) -> str:
        """The package versions, for messages: ``sales/snap@3fa2c1d4e5``."""
        return ", ".join(dict.fromkeys(t.package for t in self.tables))

    @property
    def mapping(self) -> dict[str, str]:
        """Original name -> unique temporary view."""
        return {t.name: t.view for t in self.tables}

    def rewrite(self, query: str) -> str:
        """The query text with the snapshot's tables in place of the live ones (nothing else changed)."""
        return rewrite_query(query, targets(self.tables), snapshot_label=f"snapshot {self.label}")

    def sql(self, query: str) -> Any:
        """Run ``query`` (written against the live tables) on the snapshot; a Spark DataFrame.

        Raises NotFoundError for a qualified table the snapshot does not hold, and QueryError for
        text that is not one query, that Spark refuses, or that would read any live table."""
        if self._closed:
            raise ConfigError("this snapshot was closed; call use_snapshot(...) again")
        text = self.rewrite(query)
        try:
            df = self.spark.sql(text)
        except Exception as exc:
            raise self.spark_error(exc) from None
        live = live_relations(df)
        if live:
            raise QueryError(f"the query reads {', '.join(live)} from the live catalog, not from snapshot "
                             f"{self.label} (tables: {', '.join(t.name for t in self.tables)}); "
                             f"snapshot that table too or map it with names={{...}} / --name")
        return df

    def spark_error(self, exc: BaseException) -> LakepkgError:
        """A one-line lakepkg error for a Spark failure, with view names turned back into original names."""
        if isinstance(exc, LakepkgError):
            return exc
        text = str(exc)
        first = next((ln for ln in text.splitlines() if ln.strip()), text)
        for t in sorted(self.tables, key=lambda t: -len(t.view)):
            first = first.replace(f"`{t.view}`", t.name).replace(t.view, t.name)
        first = one_line(first, 300)
        cls = type(exc).__name__
        if cls == "ParseException":
            return QueryError(f"syntax error in the query: {first}; fix the query text")
        if cls == "AnalysisException":
            return QueryError(f"Spark cannot run the query on snapshot {self.label}: {first}")
        return QueryError(f"the query failed on snapshot {self.label}: {first}")

    def close(self) -> None:
        """Drop the temporary views this snapshot registered."""
        if self._closed:
            return
        self._closed = True
        catalog = self.spark.catalog
        for t in self.tables:
            catalog.dropTempView(t.view)
            if t.bare and _BARE_OWNERS.get((id(self.spark), t.bare.lower())) == id(self):
                catalog.dropTempView(t.bare)
                del _BARE_OWNERS[(id(self.spark), t.bare.lower())]

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Snapshot {self.label}: " + ", ".join(f"{t.name}->{t.view}" for t in self.tables) + ">"


def use_snapshot(spark: Any, ref: "PackageRef | Sequence[PackageRef]", registry: Any = None,
                 names: Optional[Mapping[str, str]] = None) -> Snapshot:
    """Make the tables of package version(s) ``ref`` answer to their original names in ``spark``.

    ``ref``: ``"sales/snap@3fa2c1"`` (the version is pinned now, whatever its tags do later), a
    list of references, a loaded Package, or ``"ns/name@ref/table"`` for one table.
    ``names``: ``{"original.name": "package table"}`` adds or replaces original names
    (the table may be written ``ns/name/table`` when several packages are given).
    Returns a :class:`Snapshot`; run queries with ``snapshot.sql(text)``."""
    return register_views(spark, load_packages(ref, registry), names)


def register_views(spark: Any, loaded: list[tuple[Any, list[Any]]], names: Optional[Mapping[str, str]] = None,
                   tables: Optional[list[SnapshotTable]] = None) -> Snapshot:
    """Register the temporary views of already loaded packages (:func:`load_packages`) in ``spark``;
    ``tables``: the plan from :func:`plan_tables`, when it was made already."""
    from lakepkg.spark.engine import table_to_spark

    tables = plan_tables(loaded, names) if tables is None else tables
    by_key = {(p.ref, t.name): t for p, ts in loaded for t in ts}
    snap = Snapshot(spark, tables, [p for p, _ in loaded])
    frames: dict[tuple[str, str], Any] = {}
    for st in tables:
        key = (st.package, st.table)
        if key not in frames:
            frames[key] = table_to_spark(spark, by_key[key])
        frames[key].createOrReplaceTempView(st.view)
        if st.bare:
            frames[key].createOrReplaceTempView(st.bare)
            _BARE_OWNERS[(id(spark), st.bare.lower())] = id(snap)
    return snap


# -- what a query really reads ------------------------------------------------------------------

def _seq(scala_seq: Any) -> list[Any]:
    it = scala_seq.iterator()
    out = []
    while it.hasNext():
        out.append(it.next())
    return out


def live_relations(df: Any) -> list[str]:
    """Catalog tables and persistent views the analysed plan of ``df`` reads (classic Spark sessions;
    an empty list where the plan is not reachable, as with Spark Connect)."""
    jdf = getattr(df, "_jdf", None)
    if jdf is None:
        return []
    try:
        plan = jdf.queryExecution().analyzed()
    except Exception:  # pragma: no cover - Spark variants without a JVM plan
        return []
    found: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        cls = node.getClass().getSimpleName()
        name: Optional[str] = None
        if cls == "HiveTableRelation":
            name = node.tableMeta().identifier().unquotedString()
        elif cls == "LogicalRelation":
            ct = node.catalogTable()
            if ct.isDefined():
                name = ct.get().identifier().unquotedString()
        elif cls == "DataSourceV2Relation":
            ident, cat = node.identifier(), node.catalog()
            if ident.isDefined() and cat.isDefined():
                name = f"{cat.get().name()}.{ident.get().toString()}"
        elif cls == "View" and not node.isTempView():
            name = node.desc().identifier().unquotedString()
        if name is not None:
            if name not in found:
                found.append(name)
            continue
        stack.extend(_seq(node.children()))
        stack.extend(_seq(node.subqueries()))
    return found
