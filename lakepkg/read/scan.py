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
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import pyarrow as pa

from lakepkg.errors import ConfigError
from lakepkg.format.manifest import TableNodeData, load_table_node
from lakepkg.format.walk import table_entries
from lakepkg.read.filters import Filter, check_filters, entry_may_match, normalise, partition_array, py_value, to_expression
from lakepkg.store.base import ObjectStore

if TYPE_CHECKING:  # typing only: engines import pyarrow.dataset on demand
    import pyarrow.dataset as pads

Conjunctions = list[list[tuple[str, str, Any]]]
PLAN_FORMAT = "lakepkg-scan/1"
# the entry fields a task keeps (stats are only needed for planning; they stay behind)
TASK_FIELDS = ("key", "object", "size", "rows", "partition", "deletes")


# -- the one place a read gets a fragment's bytes -----------------------------------------------

def object_path(store: ObjectStore, entry: dict[str, Any], verify: bool = False) -> str:
    """A local file holding the bytes of ``entry`` (fetched into the cache for remote stores),
    known to hash to the entry's object: the store's verified read (hashed on first use in a
    process, remembered by inode, size and mtime; IntegrityError naming the object otherwise).

    Every reader of a package (plans, leaves, the Spark data source) gets its bytes here.
    ``verify`` is kept for callers that ask for it: every read is verified now."""
    return store.verified_path(entry["object"], what=entry.get("key"))


_POOL: list[Any] = []


def deletes_memory_pool() -> pa.MemoryPool:
    """The Arrow memory pool a read that applies deletion vectors allocates from: jemalloc where
    this pyarrow has it, else pyarrow's default. Such a read makes a second copy of its live rows;
    mimalloc (pyarrow's default on Linux) hands freed pages back at once, so in a fresh process
    that copy page-faults again, while jemalloc reuses them. Reads without vectors keep pyarrow's
    default pool, which decodes faster (bench/RESULTS.md, "deltas"). ``LAKEPKG_MEMORY_POOL=default``
    keeps pyarrow's default for these reads too."""
    if not _POOL:
        import os

        pool = pa.default_memory_pool()
        if os.environ.get("LAKEPKG_MEMORY_POOL", "jemalloc").strip().lower() == "jemalloc":
            try:
                pool = pa.jemalloc_memory_pool()
            except (NotImplementedError, AttributeError):  # a pyarrow built without jemalloc
                pass
        _POOL.append(pool)
    return _POOL[0]


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
    schema = node.schema
    for d in table_entries(store, node):
        if conjs is None or entry_may_match(d, conjs, schema):
            yield d


# -- tasks ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FragmentTask:
    """One fragment a plan reads: its manifest entry (key, object, size, rows, partition values).

    An entry may carry ``deletes`` (its deletion vector: the rows it lost, docs/format.md);
    :attr:`deletes` is where a reader gets it, and :func:`read_task` (through
    :func:`lakepkg.read.deletes.apply_deletes`) applies it before rows leave the plan."""

    entry: dict[str, Any]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> "FragmentTask":
        return cls({k: entry[k] for k in TASK_FIELDS if k in entry})

    @property
    def key(self) -> str:
        return str(self.entry["key"])

    @property
    def object(self) -> str:
        return str(self.entry["object"])

    @property
    def size(self) -> int:
        return int(self.entry.get("size", 0))

    @property
    def rows(self) -> Optional[int]:
        r = self.entry.get("rows")
        return None if r is None else int(r)

    @property
    def partition(self) -> dict[str, Any]:
        return dict(self.entry.get("partition") or {})

    @property
    def deletes(self) -> Optional[Any]:
        """The entry's deletion vector reference (None: every row of the fragment is live)."""
        return self.entry.get("deletes")


# -- the plan ------------------------------------------------------------------------------------

class ScanPlan:
    """A pinned, planned read of one table version (see the module docstring)."""

    def __init__(self, *, top_hash: str, table: str, table_hash: str, registry_location: str,
                 schema: pa.Schema, partition_columns: Sequence[str], package: Optional[str] = None,
                 registry_options: Optional[dict[str, str]] = None, filters: Optional[Filter] = None,
                 columns: Optional[Sequence[str]] = None, verify: bool = False,
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
        self.verify = verify
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
            filters=self.filters, columns=self.columns, verify=self.verify, store=self._store, node=self._node,
            tasks=self._tasks)
        args.update(changes)
        plan = ScanPlan(**args)
        if self._subset and "tasks" not in changes:
            plan._subset = True
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

    def with_tasks(self, tasks: Iterable[FragmentTask]) -> "ScanPlan":
        """The same plan over a subset of its tasks (what one Spark partition reads)."""
        plan = self._derive(tasks=list(tasks))
        plan._subset = True
        return plan

    # -- readers ---------------------------------------------------------------------------------
    def local_paths(self) -> list[str]:
        """A local file for every task, in task order, its bytes checked (see :func:`object_path`)."""
        with_vectors = [t.key for t in self.tasks if t.deletes]
        if with_vectors:  # a raw file would hand its deleted rows to whoever scans it
            raise ConfigError(f"table {self.table!r} of {self.ref} has deletion vectors ({len(with_vectors)} "
                              f"fragment(s), e.g. {with_vectors[0]}): its files alone are not its rows; read it with "
                              f"to_arrow(), to_batches() or to_arrow_dataset(), or compact it (`lakepkg compact`)")
        return [object_path(self.store, t.entry, self.verify) for t in self.tasks]

    def _paths(self, tasks: Sequence[FragmentTask]) -> list[str]:
        """Each task's local, hash-checked file (fetched and hashed side by side: hashing and
        downloads release the GIL)."""
        if len(tasks) <= 4:
            return [object_path(self.store, t.entry, self.verify) for t in tasks]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda t: object_path(self.store, t.entry, self.verify), tasks))

    def _files(self, tasks: Sequence[FragmentTask], paths: Sequence[str]) -> "pads.FileSystemDataset":
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs

        return ds.FileSystemDataset.from_paths(list(paths), schema=self.schema, format=ds.ParquetFileFormat(),
                                               filesystem=pafs.LocalFileSystem(),
                                               partitions=[self._partition_expression(t) for t in tasks])

    def _live(self, tasks: Sequence[FragmentTask], columns: Optional[list[str]], row_filter: bool,
              batch_size: int = 131072) -> Iterator[pa.RecordBatch]:
        """The rows of ``tasks`` in task order, deletion vectors applied inside one pyarrow scan
        (:func:`lakepkg.read.deletes.live_batches`), then the plan's row filter (``row_filter``)
        and ``columns`` (None: all)."""
        from lakepkg.read.deletes import live_batches

        paths = self._paths(tasks)
        expr = self.expression if row_filter else None
        need: Optional[list[str]] = None
        if columns is not None:  # the columns asked for, and those the row filter reads
            wanted = set(columns)
            if expr is not None:
                wanted |= {c for conj in (self.filters or []) for c, _o, _v in conj}
            need = [n for n in self.schema.names if n in wanted]
        # no filter in the scan: it could skip row groups and move the positions a vector names
        pool = deletes_memory_pool()
        scanner = self._files(tasks, paths).scanner(columns=need, batch_size=batch_size, use_threads=True,
                                                    memory_pool=pool)

        def then(b: pa.RecordBatch) -> pa.RecordBatch:
            if expr is not None:
                b = b.filter(expr)
            return b if columns is None or b.schema.names == columns else b.select(columns)

        return live_batches(self.store, [t.entry for t in tasks], paths, scanner.scan_batches(), self.table, then,
                            memory_pool=pool)

    def _output_schema(self) -> pa.Schema:
        return pa.schema([self.schema.field(c) for c in self.output_columns])

    def to_arrow_dataset(self) -> "pads.Dataset":
        """A pyarrow dataset over the planned fragments, partition columns filled from their values.
        (The plan's row filter is not applied here: pass ``plan.expression`` to its scanner.)
        Fragments with a deletion vector join as the in-memory table of their live rows (a Parquet
        file cannot be scanned by position), after the files of the others."""
        import pyarrow.dataset as ds

        tasks = [t for t in self.tasks if not t.deletes]
        files = self._files(tasks, self._paths(tasks))
        with_vectors = [t for t in self.tasks if t.deletes]
        if not with_vectors:
            return files
        live = pa.Table.from_batches(list(self._live(with_vectors, None, row_filter=False)), schema=self.schema)
        return ds.UnionDataset(self.schema, [files, ds.InMemoryDataset(live, schema=self.schema)])

    def _partition_expression(self, task: FragmentTask) -> Any:
        import pyarrow.dataset as ds

        e = ds.scalar(True)
        part = task.partition
        for c in self.partition_columns:
            t = self.schema.field(c).type
            v = py_value(t, part.get(c))
            e = e & (ds.field(c).is_null() if v is None else (ds.field(c) == pa.scalar(v, t)))
        return e

    @property
    def has_deletes(self) -> bool:
        """Whether any planned fragment carries a deletion vector."""
        return any(t.deletes for t in self.tasks)

    def to_arrow(self) -> pa.Table:
        """The planned rows: fragments pruned, then rows filtered, ``columns`` only (task order
        when some fragment has a deletion vector)."""
        if self.has_deletes:
            return pa.Table.from_batches(list(self._live(self.tasks, self.columns, row_filter=True)),
                                         schema=self._output_schema())
        return self.to_arrow_dataset().to_table(filter=self.expression, columns=self.columns)

    def to_pandas(self) -> Any:
        """The planned rows as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

    def to_batches(self, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """The planned rows as Arrow record batches (``output_columns``, in task order)."""
        if not self.tasks:
            return iter(())
        if self.has_deletes:
            return self._live(self.tasks, self.output_columns, row_filter=True, batch_size=batch_size)
        return iter(self.to_arrow_dataset().to_batches(columns=self.output_columns, filter=self.expression,
                                                       batch_size=batch_size))

    def head(self, n: int = 10) -> pa.Table:
        """The first ``n`` planned rows, reading only as many fragments as needed."""
        if self.filters:
            out, got = [], 0
            for b in self.to_batches():
                out.append(pa.Table.from_batches([b]).slice(0, n - got))
                got += out[-1].num_rows
                if got >= n:
                    break
            empty = self.schema.empty_table().select(self.output_columns)
            return pa.concat_tables(out) if out else empty
        out, got = [], 0
        for task in self.tasks:
            t = read_task(self, task)
            out.append(t.slice(0, n - got))
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
            "partition_columns": self.partition_columns, "columns": self.columns, "verify": self.verify,
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
                       filters=filters, columns=d.get("columns"), verify=bool(d.get("verify")), tasks=tasks)
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
    """One fragment's rows as its file holds them, plus the table's partition columns (``plan.columns``
    only, in that order when given). The plan's row filter is not applied (a leaf reads whole)."""
    import pyarrow.parquet as pq

    part = task.partition
    cols = plan.columns
    data_cols = None if cols is None else [c for c in cols if c not in plan.partition_columns]
    t = pq.read_table(object_path(plan.store, task.entry, plan.verify), columns=data_cols)
    if task.deletes:  # the vector names positions of the whole file: drop them before anything else
        from lakepkg.read.deletes import apply_deletes

        t = apply_deletes(plan.store, task.entry, t, plan.table)
    for c in plan.partition_columns:
        if cols is not None and c not in cols:
            continue
        f = plan.schema.field(c)
        t = t.append_column(f, partition_array(f.type, part.get(c), t.num_rows))
    return t if cols is None or t.column_names == cols else t.select(cols)


def plan_table(store: ObjectStore, *, registry_location: str, top_hash: str, table: str, table_hash: str,
               node: TableNodeData, package: Optional[str], filters: Optional[Filter] = None,
               columns: Optional[Sequence[str]] = None, verify: bool = False) -> ScanPlan:
    """The plan of a loaded table node (what ``Table.scan`` returns)."""
    return ScanPlan(top_hash=top_hash, table=table, table_hash=table_hash, registry_location=registry_location,
                    registry_options=store_options(store), schema=node.schema,
                    partition_columns=node.partition_columns, package=package, filters=filters,
                    columns=columns, verify=verify, store=store, node=node)


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
