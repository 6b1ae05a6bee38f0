"""``ns/name/table`` without a version selector: the latest version's table, as ``lakepkg cat`` and
``spark.read.format("pkg").load(...)`` both read it."""
from __future__ import annotations

from typing import Any


def package_or_path(ref: str, registry: Any) -> str:
    """``ns/name/table`` (no ``@`` or ``:``) as ``ns/name:latest/table`` when ``ns/name`` is a package of
    ``registry`` and the whole text is not (package names nest, so the longest existing package wins);
    any other reference unchanged."""
    if "@" in ref or ":" in ref:
        return ref
    segs = ref.strip().split("/")
    if registry.tags("/".join(segs)):
        return ref
    for i in range(len(segs) - 1, 1, -1):
        name = "/".join(segs[:i])
        if registry.tags(name):
            return f"{name}:latest/{'/'.join(segs[i:])}"
    return ref
