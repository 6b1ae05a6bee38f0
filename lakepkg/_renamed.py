"""Old import paths of renamed packages, kept for one release.

``lakepkg.lifecycle`` is now :mod:`lakepkg.governance` and ``lakepkg.hive`` is :mod:`lakepkg.metastore`
(the old names misled: ``lifecycle/`` beside ``maintain/``, ``hive/`` beside ``connectors/hive.py``).
Importing an old path, or any module under it, gives the new module itself (the same object, so
``isinstance`` and monkeypatching see one module) and one
:class:`~lakepkg.errors.LakepkgDeprecationWarning` per process."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType
from typing import Any, Optional, Sequence

from lakepkg.errors import LakepkgDeprecationWarning

#: old package → new package
RENAMED = {"lakepkg.lifecycle": "lakepkg.governance", "lakepkg.hive": "lakepkg.metastore"}
_warned: set[str] = set()


def warn_once(old: str) -> None:
    """One DeprecationWarning per process for the old package ``old``."""
    if old not in _warned:
        _warned.add(old)
        warnings.warn(f"{old} is renamed {RENAMED[old]}; the old name works in this release and goes in the next",
                      LakepkgDeprecationWarning, stacklevel=3)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: Any) -> ModuleType:
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:  # the new module is already executed
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``lakepkg.lifecycle.X`` as ``lakepkg.governance.X`` (and the same for hive)."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None, target: Any = None) -> Any:
        for old, new in RENAMED.items():
            if fullname.startswith(old + "."):
                warn_once(old)
                target_name = new + fullname[len(old):]
                if importlib.util.find_spec(target_name) is None:
                    return None
                return importlib.util.spec_from_loader(fullname, _AliasLoader(target_name))
        return None


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
