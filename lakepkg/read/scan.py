"""The one read plan of a table: ``Table.scan(filters, columns)`` → :class:`ScanPlan`.

A plan is pinned: it names the version (top hash), the table node (its hash)
and the registry to read from, so every engine that consumes it reads exactly
that version, whatever tags do meanwhile. Planning happens once per plan:
the fragments left after partition and min/max pruning (:mod:`lakepkg.read.filters`)
are the plan's :class:`FragmentTask` list, computed on first use from the
pinned table node (never from a reference). Every reader hangs off the plan::

    plan = lakepkg.load("sales/orders@3fa2c1")["orders"].scan([("ds", ">=", "2026-11-01")], ["id", "amount"])
    plan.tasks              # the fragments to read
    plan.to_arrow()         # .to_pandas(), .to_arrow_dataset(), .to_batches(), .local_paths()
    plan.reader()           # the one reader (lakepkg.read.arrow_scan.ArrowScan) every reader above uses
    plan.to_spark(spark)    # the Spark layer's engine (found by name, see lakepkg.read.engines)
    ScanPlan.from_json(plan.to_json())   # what the Spark data source receives

A plan shipped as JSON carries no credentials: only the registry location and
the connection options an executor needs to open it (an S3 endpoint, a region).
Engines refine a plan with filters they learn later (Spark's pushed filters)
through :meth:`ScanPlan.refine`: a re-plan of the same pinned table node.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from dataclasses import dataclass
import warnings
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError
from lakepkg.format.manifest import TableNodeData, load_table_node
from lakepkg.format.walk import table_entries
from lakepkg.read.arrow_scan import ArrowScan
from lakepkg.read.filters import Filter, check_filters, entry_may_match, normalise, to_expression
from lakepkg.read.tasks import TASK_FIELDS, FragmentTask
from lakepkg.store.base import ObjectStore

if TYPE_CHECKING:  # typing only: engines import pyarrow.dataset on demand
    import pyarrow.dataset as pads

__all__ = ["ScanPlan", "FragmentTask", "TASK_FIELDS", "plan_table", "pruned_entries", "read_task", "store_options"]

Conjunctions = list[list[tuple[str, str, Any]]]
PLAN_FORMAT = "lakepkg-scan/1"


def store_options(store: ObjectStore) -> dict[str, str]:
    """The connection options another process needs to open ``store``'s registry (no secrets)."""
    return {k: str(v) for k, v in store.open_options().items() if v is not None}


_STORES: dict[tuple[str, tuple[tuple[str, str], ...]], ObjectStore] = {}


def _open_store(location: str, options: dict[str, str]) -> ObjectStore:
    """The registry's object store, opened once per process (Spark executors reuse it across tasks)."""
    key = (location, tuple(sorted(options.items())))
    if key not in _STORES:
        from lakepkg.registry import open_registry

        _STORES[key] = open_registry(location, **options).store
    return _STORES[key]


# -- planning ------------------------------------------------------------------------------------

def pruned_entries(store: ObjectStore, node: TableNodeData, filters: Optional[Filter]) -> Iterator[dict[str, Any]]:
    """The entries of a table node (whole, statistics included) that partition values and min/max
    statistics do not rule out for ``filters``: the one pruning loop of every read."""
    conjs = normalise(filters)
    if conjs is None:
        yield from table_entries(store, node)
        return
    schema = node.schema
    for d in table_entries(store, node):
        if entry_may_match(d, conjs, schema):
            yield d


# -- the plan ------------------------------------------------------------------------------------

class ScanPlan:
    """A pinned, planned read of one table version (see the module docstring)."""

    def __init__(self, *, top_hash: str, table: str, table_hash: str, registry_location: str,
                 schema: pa.Schema, partition_columns: Sequence[str], package: Optional[str] = None,
                 registry_options: Optional[dict[str, str]] = None, filters: Optional[Filter] = None,
                 columns: Optional[Sequence[str]] = None, verify: Optional[bool] = None,
                 store: Optional[ObjectStore] = None, node: Optional[TableNodeData] = None,
                 tasks: Optional[Iterable[FragmentTask]] = None) -> None:
        self.top_hash = top_hash
        self.table = table
        self.table_hash = table_hash
        self.registry_location = registry_location
        self.registry_options = dict(registry_options or {})
        self.schema = schema
        self.partition_columns = list(partition_columns)
        self.package = package
        self.filters: Optional[Conjunctions] = normalise(filters)
        self.columns: Optional[list[str]] = None if columns is None else list(columns)
        deprecated_verify(verify)
        self._store = store
        self._node = node
        self._tasks: Optional[list[FragmentTask]] = None if tasks is None else list(tasks)
        self._subset = False  # tasks chosen by with_tasks (kept when pickled; never re-planned)
        self._check()

    def _check(self) -> None:
        names = set(self.schema.names)
        unknown = [c for c in (self.columns or []) if c not in names]
        for conj in self.filters or []:
            unknown += [c for c, _op, _v in conj if c not in names and c not in unknown]
        if unknown:
            raise ConfigError(f"table {self.table!r} of {self.ref} has no column(s) {', '.join(unknown)}; "
                              f"its columns: {', '.join(self.schema.names)}")
        check_filters(self.filters, self.schema)  # a value of the wrong kind: one line, not an Arrow kernel error

    @property
    def ref(self) -> str:
        """``ns/name@<10 hex>`` (or the bare top hash when the package name is not known)."""
        return f"{self.package}@{self.top_hash[:10]}" if self.package else self.top_hash[:10]

    @property
    def store(self) -> ObjectStore:
        """The object store the plan reads from (opened from the registry location when shipped)."""
        if self._store is None:
            self._store = _open_store(self.registry_location, self.registry_options)
        return self._store

    @property
    def node(self) -> TableNodeData:
        """The pinned table node (read from the store by its hash, hash-checked)."""
        if self._node is None:
            self._node = load_table_node(self.store, self.table_hash)
        return self._node

    @property
    def tasks(self) -> list[FragmentTask]:
        """The fragments left after partition and min/max pruning (planned once, on first use)."""
        if self._tasks is None:
            self._tasks = [FragmentTask.of(d) for d in pruned_entries(self.store, self.node, self.filters)]
        return self._tasks

    @property
    def output_columns(self) -> list[str]:
        """The columns a read returns, in order."""
        return list(self.schema.names) if self.columns is None else list(self.columns)

    @property
    def expression(self) -> Any:
        """The row filter as a pyarrow expression (None: every row of the planned fragments)."""
        return to_expression(self.filters)

    @property
    def size(self) -> int:
        """Bytes of the planned fragments."""
        return sum(t.size for t in self.tasks)

    # -- derived plans ---------------------------------------------------------------------------
    def _derive(self, **changes: Any) -> "ScanPlan":
        args: dict[str, Any] = dict(
            top_hash=self.top_hash, table=self.table, table_hash=self.table_hash,
            registry_location=self.registry_location, registry_options=self.registry_options,
            schema=self.schema, partition_columns=self.partition_columns, package=self.package,
            filters=self.filters, columns=self.columns, store=self._store, node=self._node,
            tasks=self._tasks)
        subset = changes.pop("subset", self._subset and "tasks" not in changes)
        args.update(changes)
        plan = ScanPlan(**args)
        plan._subset = bool(subset)
        return plan

    def refine(self, filters: Optional[Filter]) -> "ScanPlan":
        """This plan AND ``filters``: a re-plan of the same pinned table node (no reference resolved)."""
        more = normalise(filters)
        if not more:
            return self
        combined = [a + b for a in self.filters for b in more] if self.filters else more
        if self._subset:  # a chosen subset stays that subset; the row filter still applies
            return self._derive(filters=combined)
        return self._derive(filters=combined, tasks=None)

    def select(self, columns: Optional[Sequence[str]]) -> "ScanPlan":
        """The same plan reading only ``columns`` (in that order); the tasks do not change."""
        return self._derive(columns=None if columns is None else list(columns))

    def unfiltered(self) -> "ScanPlan":
        """The same pinned table node with every task and no row filter (``columns`` kept)."""
        if self.filters is None and not self._subset:
            return self
        return self._derive(filters=None, tasks=None, subset=False)

    def with_tasks(self, tasks: Iterable[FragmentTask]) -> "ScanPlan":
        """The same plan over a subset of its tasks (what one Spark partition reads)."""
        plan = self._derive(tasks=list(tasks))
        plan._subset = True
        return plan

    # -- readers: the one reader (lakepkg.read.arrow_scan) over the planned tasks -------------------
    def reader(self) -> ArrowScan:
        """The plan's reader: its store, schema, partition columns, row filter and columns."""
        return ArrowScan(self.store, self.schema, self.partition_columns, table=self.table,
                         row_filter=self.filters, columns=self.columns)

    def local_paths(self) -> list[str]:
        """A local file for every task, in task order, its bytes checked (hashed before first use)."""
        with_vectors = [t.key for t in self.tasks if t.deletes]
        if with_vectors:  # a raw file would hand its deleted rows to whoever scans it
            raise ConfigError(f"table {self.table!r} of {self.ref} has deletion vectors ({len(with_vectors)} "
                              f"fragment(s), e.g. {with_vectors[0]}): its files alone are not its rows; read it with "
                              f"to_arrow(), to_batches() or to_arrow_dataset(), or compact it (`lakepkg compact`)")
        return self.reader().paths(self.tasks)

    def to_arrow_dataset(self) -> "pads.Dataset":
        """A pyarrow dataset over the planned fragments, partition columns filled from their values.
        (The plan's row filter is not applied here: pass ``plan.expression`` to its scanner.)
        Fragments with a deletion vector join as the in-memory table of their live rows."""
        return self.reader().to_dataset(self.tasks)

    @property
    def has_deletes(self) -> bool:
        """Whether any planned fragment carries a deletion vector."""
        return any(t.deletes for t in self.tasks)

    def to_arrow(self) -> pa.Table:
        """The planned rows: fragments pruned, then rows filtered, ``columns`` only (task order
        when some fragment has a deletion vector)."""
        return self.reader().to_table(self.tasks)

    def to_pandas(self) -> Any:
        """The planned rows as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

    def to_batches(self, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """The planned rows as Arrow record batches (``output_columns``, in task order)."""
        return self.reader().to_batches(self.tasks, batch_size=batch_size)

    def head(self, n: int = 10) -> pa.Table:
        """The first ``n`` planned rows, reading only as many fragments as needed."""
        out, got = [], 0
        if self.filters:
            for b in self.to_batches():
                out.append(pa.Table.from_batches([b]).slice(0, n - got))
                got += out[-1].num_rows
                if got >= n:
                    break
        else:
            reader = self.reader()
            for task in self.tasks:
                out.append(reader.read_task(task).slice(0, n - got))
                got += out[-1].num_rows
                if got >= n:
                    break
        return pa.concat_tables(out) if out else self.schema.empty_table().select(self.output_columns)

    def to_spark(self, spark: Any, native: Optional[bool] = None) -> Any:
        """A Spark DataFrame of the plan (the ``spark`` engine, registered by :mod:`lakepkg.spark`)."""
        from lakepkg.read.engines import engine

        return engine("spark")(spark, self, native=native)

    # -- shipping --------------------------------------------------------------------------------
    def to_json(self, tasks: bool = True) -> dict[str, Any]:
        """The plan as JSON-able data. ``tasks=False`` leaves the task list out: a receiver re-plans
        it from the pinned table node (the same tasks, since a node never changes)."""
        d: dict[str, Any] = {
            "format": PLAN_FORMAT, "package": self.package, "top_hash": self.top_hash, "table": self.table,
            "table_hash": self.table_hash, "registry": self.registry_location,
            "registry_options": self.registry_options,
            "schema": base64.b64encode(self.schema.serialize().to_pybytes()).decode("ascii"),
            "partition_columns": self.partition_columns, "columns": self.columns,
            "filters": None if self.filters is None else [[[c, o, _enc(v)] for c, o, v in conj] for conj in self.filters],
        }
        if tasks:
            d["tasks"] = [t.entry for t in self.tasks]
        return d

    def to_json_text(self, tasks: bool = True) -> str:
        return json.dumps(self.to_json(tasks), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, d: "dict[str, Any] | str") -> "ScanPlan":
        """A plan from :meth:`to_json` (or its text); the store opens on first read."""
        if isinstance(d, str):
            try:
                d = json.loads(d)
            except ValueError:
                raise ConfigError("the scan plan given is not JSON; pass ScanPlan.to_json_text()") from None
        assert isinstance(d, dict)
        if d.get("format") != PLAN_FORMAT:
            raise ConfigError(f"scan plan format {d.get('format')!r} is not {PLAN_FORMAT!r}; "
                              f"plan with the same lakepkg version that reads it")
        try:
            schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(d["schema"])))
            filters = None if d.get("filters") is None else [[(c, o, _dec(v)) for c, o, v in conj] for conj in d["filters"]]
            tasks = None if d.get("tasks") is None else [FragmentTask(e) for e in d["tasks"]]
            return cls(top_hash=d["top_hash"], table=d["table"], table_hash=d["table_hash"],
                       registry_location=d["registry"], registry_options=d.get("registry_options") or {},
                       schema=schema, partition_columns=d["partition_columns"], package=d.get("package"),
                       filters=filters, columns=d.get("columns"), tasks=tasks)  # an old "verify" field: ignored
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"the scan plan given is malformed ({exc}); pass ScanPlan.to_json_text()") from None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to Spark executors) without its store, node or task list: the store reopens
        from the registry location, and a receiver either gets its tasks (``with_tasks``) or
        re-plans them from the pinned node, which gives the same tasks."""
        state = dict(self.__dict__)
        state.update(_store=None, _node=None)
        if not self._subset:
            state["_tasks"] = None
        return state

    def __repr__(self) -> str:
        n = "unplanned" if self._tasks is None else f"{len(self._tasks)} tasks"
        return f"<ScanPlan {self.ref}/{self.table} node={self.table_hash[:10]} {n} filters={self.filters}>"


def read_task(plan: ScanPlan, task: FragmentTask) -> pa.Table:
    """One fragment's live rows as its file holds them, plus the table's partition columns (``plan.columns``
    only, in that order when given). The plan's row filter is not applied (a leaf reads whole)."""
    return plan.reader().read_task(task)


def deprecated_verify(verify: Optional[bool]) -> None:
    """``verify=`` is accepted for one release and ignored: every read hashes a file before its first use."""
    if verify is not None:
        warnings.warn("verify= is deprecated and ignored: every read hashes a fragment before its first use",
                      DeprecationWarning, stacklevel=3)


def plan_table(store: ObjectStore, *, registry_location: str, top_hash: str, table: str, table_hash: str,
               node: TableNodeData, package: Optional[str], filters: Optional[Filter] = None,
               columns: Optional[Sequence[str]] = None) -> ScanPlan:
    """The plan of a loaded table node (what ``Table.scan`` returns)."""
    return ScanPlan(top_hash=top_hash, table=table, table_hash=table_hash, registry_location=registry_location,
                    registry_options=store_options(store), schema=node.schema,
                    partition_columns=node.partition_columns, package=package, filters=filters,
                    columns=columns, store=store, node=node)


# -- filter values in JSON -----------------------------------------------------------------------

def _enc(v: Any) -> Any:
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_enc(x) for x in v]
    if isinstance(v, dt.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"$date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"$time": v.isoformat()}
    if isinstance(v, decimal.Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ConfigError(f"filter value {v!r} ({type(v).__name__}) cannot be shipped in a scan plan; "
                      f"use a number, string, date, datetime, decimal or bytes")


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict) and len(v) == 1:
        (k, x), = v.items()
        if k == "$datetime":
            return dt.datetime.fromisoformat(x)
        if k == "$date":
            return dt.date.fromisoformat(x)
        if k == "$time":
            return dt.time.fromisoformat(x)
        if k == "$decimal":
            return decimal.Decimal(x)
        if k == "$bytes":
            return base64.b64decode(x)
    return v
