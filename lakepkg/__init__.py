"""lakepkg: immutable, versioned, content-addressed snapshots of data-lake tables.

    import lakepkg
    res = lakepkg.snapshot("sql", to="sales/orders", url=url, tables="public.orders")
    pkg = lakepkg.load("sales/orders@3fa2c1")
    df = pkg["orders"].to_pandas()

The verbs mirror the CLI (:mod:`lakepkg.api`): snapshot, build, load, ls, show, push,
pull, install, lock, log/history, diff, tag, verify, gc, clone, merge, compact, rm,
retain, redact, restore, where_used, audit (and query, :mod:`lakepkg.query`).
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from lakepkg.errors import LakepkgError  # noqa: E402

# name -> module that defines it; imported on first use, so `import lakepkg` stays cheap
# (the CLI and Spark workers import it)
_LAZY = {
    **{verb: "lakepkg.api" for verb in ("snapshot", "build", "load", "push", "pull", "install", "lock", "log",
                                        "history", "diff", "tag", "verify", "gc", "clone", "merge",
                                        "compact", "rm", "retain", "redact", "restore", "where_used", "audit", "ls",
                                        "show", "TagResult", "RetainResult", "Snapshot")},
    "Source": "lakepkg.source.connectors",
    "PublishResult": "lakepkg.write.publish",
    "Package": "lakepkg.read.package",
    "PackageBuilder": "lakepkg.write.build",
    "open_registry": "lakepkg.registry",
    "query": "lakepkg.query",  # the package itself, callable: lakepkg.query(sql, package=...)
}

__all__ = ["__version__", "LakepkgError", *_LAZY]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'lakepkg' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(mod)
    value = module if mod == f"lakepkg.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (verbs, classes) and the loaded subpackages; not ``Any`` or ``annotations``."""
    import types

    subpackages = {n for n, v in globals().items() if isinstance(v, types.ModuleType) and not n.startswith("_")}
    return sorted(set(__all__) | subpackages)
