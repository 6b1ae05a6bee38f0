"""The layout of ``lakepkg/``: no module takes part in an import cycle (imports at module level, inside
functions, under ``if TYPE_CHECKING``, relative or absolute, and ``importlib.import_module("lakepkg…")``
with a literal name all count), and the core never imports the connectors or the spark-submit jobs.

A module's edge goes to the module it names (``from lakepkg.read import scan`` → ``lakepkg.read.scan``;
``from lakepkg.read.scan import ScanPlan`` → ``lakepkg.read.scan``; ``from lakepkg.query import x`` with
``x`` defined in ``lakepkg/query/__init__.py`` → ``lakepkg.query``), not to the parent packages Python
also initialises. Entry points (connectors, read engines) are plug-ins found at run time, not imports.
"""
from __future__ import annotations

import ast
import functools
import os
from typing import Iterator, Optional

ROOT = os.environ.get("LAKEPKG_LAYOUT_ROOT") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lakepkg")  # the override checks another tree
FORBIDDEN = ("lakepkg_connectors", "lakepkg_spark_jobs", "connectors", "spark_jobs")

# The layers of lakepkg/, lowest first: a module may import modules of its own layer and of the layers
# before it, never of a layer after it (docs/architecture.md shows this table; a test keeps the two
# equal). A layer is the first folder under lakepkg/ (or the module's name for a top-level module).
# A new folder goes into the row of the layer it belongs to: until then test_layers_only_import_downward
# names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("lakepkg", "errors", "config", "sizes", "progress", "processes", "_renamed")),
    ("format", ("format",)),
    ("store", ("store",)),
    ("registry", ("registry",)),
    ("source", ("source",)),
    ("write/read", ("write", "read")),
    ("services", ("maintain", "governance", "query", "spark", "airflow", "metastore", "merging", "merge", "lifecycle", "hive")),
    ("api", ("api",)),
    ("apps", ("catalog", "demo")),
    ("cli", ("cli",)),
]


def _modules() -> dict[str, str]:
    """Dotted module name → file, for every module under lakepkg/."""
    out = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if not f.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, f), os.path.dirname(ROOT))[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            out[".".join(rel)] = os.path.join(folder, f)
    return out


def _is_package(name: str, modules: dict[str, str]) -> bool:
    return modules[name].endswith("__init__.py")


def _imports(name: str, path: str, modules: dict[str, str]) -> Iterator[tuple[str, int]]:
    """(imported dotted name, line) for every import statement anywhere in the module."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    package = name if _is_package(name, modules) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:  # ``from pkg import sub``: the submodule; ``from mod import Name``: mod
                sub = f"{mod}.{a.name}"
                yield (sub if sub in modules else mod), node.lineno
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
              and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value, node.lineno


def _target(imported: str, modules: dict[str, str]) -> Optional[str]:
    """The lakepkg module an imported name lands in (None: outside lakepkg)."""
    parts = imported.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in modules:
            return cand
        parts.pop()
    return None


@functools.lru_cache(maxsize=1)  # one walk of the tree per test run (no test changes what it returns)
def import_graph() -> tuple[dict[str, dict[str, int]], list[str]]:
    """{module: {imported module: line}} over lakepkg/, and the forbidden imports found."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    forbidden = []
    for name, path in modules.items():
        for imported, line in _imports(name, path, modules):
            if imported.split(".")[0] in FORBIDDEN:
                where = f"{os.path.relpath(path, os.path.dirname(ROOT))}:{line}"
                if not any(f.startswith(where + " ") for f in forbidden):  # one line per statement
                    forbidden.append(f"{where} imports {imported}")
                continue
            if not imported.startswith("lakepkg"):
                continue
            # ``from lakepkg.read import scan``: the module lakepkg.read.scan; ``from x import Name``: x
            target = _target(imported, modules)
            if target is not None and target != name:
                graph[name].setdefault(target, line)
    return graph, forbidden


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the module count (~100)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_path(graph, set(c), c[0]) for c in comps]


def _cycle_path(graph: dict[str, dict[str, int]], comp: set[str], start: str) -> list[str]:
    """One shortest cycle start → … → start inside a component (breadth-first)."""
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in comp and w not in prev:
                prev[w] = v
                queue.append(w)
    return sorted(comp)  # pragma: no cover


def _describe(graph: dict[str, dict[str, int]], path: list[str]) -> str:
    hops = [f"{a} (line {graph[a].get(b, '?')}) → {b}" for a, b in zip(path, path[1:])]
    return "; ".join(hops)


def test_no_module_of_lakepkg_takes_part_in_an_import_cycle():
    graph, _ = import_graph()
    assert len(graph) > 40 and graph["lakepkg.read.package"]  # the walk found the tree and its imports
    found = cycles(graph)
    assert not found, "import cycles in lakepkg/:\n" + "\n".join(_describe(graph, c) for c in found)


def test_the_core_never_imports_connectors_or_spark_jobs():
    _, forbidden = import_graph()
    assert not forbidden, "lakepkg/ must not import the connectors or spark-submit jobs:\n" + "\n".join(forbidden)


def layer_of(module: str) -> Optional[int]:
    """The index in LAYERS of a lakepkg module (None: a folder no layer lists)."""
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "lakepkg"
    for i, (_name, folders) in enumerate(LAYERS):
        if key in folders:
            return i
    return None


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    """Every import of a module from a later layer than the importer's, and every unplaced module."""
    bad = []
    for mod, targets in sorted(graph.items()):
        li = layer_of(mod)
        if li is None:
            bad.append(f"{mod} is in no layer: add its folder to a row of LAYERS in tests/test_layout.py "
                       "and to the table in docs/architecture.md")
            continue
        for target, line in sorted(targets.items()):
            lt = layer_of(target)
            if lt is not None and lt > li:
                bad.append(f"{mod} (line {line}, layer {LAYERS[li][0]}) imports {target} (layer {LAYERS[lt][0]})")
    return bad


def test_layers_only_import_downward():
    graph, _ = import_graph()
    bad = upward_imports(graph)
    assert not bad, "imports that run up the layers (LAYERS in tests/test_layout.py):\n" + "\n".join(bad)


def test_the_layer_check_finds_an_upward_import():
    graph = {"lakepkg.format.manifest": {"lakepkg.store.base": 12}, "lakepkg.store.base": {}}
    assert upward_imports(graph) == ["lakepkg.format.manifest (line 12, layer format) imports lakepkg.store.base "
                                     "(layer store)"]
    assert upward_imports({"lakepkg.newfolder.x": {}})[0].startswith("lakepkg.newfolder.x is in no layer")


def test_architecture_doc_shows_the_layer_table():
    with open(os.path.join(os.path.dirname(ROOT), "docs", "architecture.md"), encoding="utf-8") as fh:
        doc = fh.read()
    rows = []
    for line in doc.split("<!-- layers -->")[1].split("<!-- /layers -->")[0].splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].isdigit():
            rows.append((cells[1], tuple(f.strip().strip("`") for f in cells[2].split(","))))
    assert rows == LAYERS


def test_the_cycle_finder_finds_a_function_level_cycle():
    """The checker itself: a cycle hidden in a function body is reported with its path."""
    graph = {"a": {"b": 3}, "b": {"c": 9}, "c": {"a": 12}, "d": {"a": 1}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert _describe(graph, ["a", "b", "c", "a"]).startswith("a (line 3) → b")
    tree_edges, _ = import_graph()
    # a function-level import is an edge: lakepkg/read/package.py imports the writer inside SubPackage.publish
    assert "lakepkg.write.build" in tree_edges["lakepkg.read.package"]


def test_lakepkg_ships_typed():
    """py.typed marks lakepkg as typed for its users' type checkers, and the wheel carries it."""
    import tomllib

    assert os.path.isfile(os.path.join(ROOT, "py.typed"))
    with open(os.path.join(os.path.dirname(ROOT), "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["lakepkg"]
    mypy = project["tool"]["mypy"]
    assert mypy["files"] == ["lakepkg"] and mypy["check_untyped_defs"] is True


CONNECTOR_LAYERS = ("lakepkg.errors", "lakepkg.source", "lakepkg.format", "lakepkg.metastore.thrift", "lakepkg.metastore.types",
                    "lakepkg.config")


def test_connectors_only_describe():
    """A connector imports what describes a source (errors, source, format, the metastore client), never
    the writer, the store, the registry or the readers: the core stores and publishes. The deprecated
    one-call shortcuts (``snapshot_sql``, ``snapshot_hive``) call ``lakepkg.snapshot`` itself."""
    folder = os.path.join(os.path.dirname(ROOT), "connectors")
    bad = []
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".py"):
            continue
        path = os.path.join(folder, f)
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for n in names:
                if n.startswith("lakepkg.") and not n.startswith(CONNECTOR_LAYERS):
                    bad.append(f"connectors/{f}:{node.lineno} imports {n}")
    assert not bad, "connectors only describe; they must not import:\n" + "\n".join(bad)
