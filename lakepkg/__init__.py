"""lakepkg: immutable, versioned, content-addressed snapshots of data-lake tables.

    import lakepkg
    pkg = lakepkg.load("sales/orders@3fa2c1")
    df = pkg["orders"].to_pandas()
"""
from __future__ import annotations

__version__ = "0.1.0"

from lakepkg.errors import LakepkgError  # noqa: E402

__all__ = ["__version__", "LakepkgError", "load", "PackageBuilder", "open_registry", "Package", "diff", "query"]


def __getattr__(name: str):  # lazy: `import lakepkg` stays cheap (the CLI and Spark workers import it)
    if name == "load":
        from lakepkg.read.package import load

        return load
    if name == "Package":
        from lakepkg.read.package import Package

        return Package
    if name == "PackageBuilder":
        from lakepkg.write.build import PackageBuilder

        return PackageBuilder
    if name == "open_registry":
        from lakepkg.registry import open_registry

        return open_registry
    if name == "query":  # the package lakepkg.query, callable: lakepkg.query(sql, package=...)
        return __import__("lakepkg.query", fromlist=["query"])
    if name == "diff":
        from lakepkg.read.package import diff_refs

        return diff_refs
    raise AttributeError(name)
