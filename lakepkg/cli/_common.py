"""Helpers shared by CLI modules: registry option, JSON/human output."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Optional

import typer

RegistryOpt = typer.Option(None, "--registry", "-r", help="Registry location (path or s3://bucket/prefix); default $LAKEPKG_REGISTRY or $LAKEPKG_HOME/registry.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def registry(location: Optional[str] = None, create: bool = True) -> Any:
    """Open the registry a command names. ``create=False`` (commands that only read): a local registry
    that was named (``--registry``, ``$LAKEPKG_REGISTRY``, the config file) must exist; a registry that
    does not exist is not an empty one. The default registry under ``$LAKEPKG_HOME`` may be new."""
    from lakepkg.config import registry_location, setting
    from lakepkg.errors import NotFoundError
    from lakepkg.registry import open_registry

    named = location if location is not None else setting("registry")
    if not create and named:
        loc = registry_location(str(named))
        if not loc.startswith("s3://"):
            path = os.path.abspath(os.path.expanduser(loc[len("file://"):] if loc.startswith("file://") else loc))
            if not os.path.isdir(path):
                raise NotFoundError(f"no registry at {path}: check --registry / $LAKEPKG_REGISTRY "
                                    "(a registry is created by the first build, snapshot or push)")
    return open_registry(location)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, sort_keys=False) + "\n")


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def show_progress(as_json: bool) -> bool:
    return not as_json and sys.stderr.isatty() and not os.environ.get("LAKEPKG_NO_PROGRESS")


