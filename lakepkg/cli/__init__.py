"""The ``lakepkg`` command line: a thin layer over the Python API.

Each module in this package that defines ``register(app)`` adds its
commands; the core commands live in ``core.py``, connectors add
``snapshot`` sub-commands in their own modules.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

import typer

from lakepkg.errors import LakepkgError, one_line

app = typer.Typer(name="lakepkg", help="Immutable, versioned snapshots of data-lake tables.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
snapshot_app = typer.Typer(help="Snapshot a source system into a package version.", no_args_is_help=True)
app.add_typer(snapshot_app, name="snapshot")


def _load_commands() -> None:
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if mod.startswith("_"):
            continue
        m = importlib.import_module(f"{__name__}.{mod}")
        reg = getattr(m, "register", None)
        if reg is not None:
            reg(app, snapshot_app)


def _click_exceptions() -> Any:
    """The click exception module(s) in use: typer >= 0.20 vendors click as ``typer._click``."""
    mods = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mods.append(importlib.import_module(name))
        except ImportError:
            continue
    return mods


def _is(exc: BaseException, cls_name: str) -> bool:
    return any(isinstance(exc, getattr(m, cls_name)) for m in _click_exceptions() if hasattr(m, cls_name))


def main() -> None:
    """Console entry point: lakepkg errors and usage errors become one line on stderr, exit code non-zero."""
    _load_commands()
    try:
        app(standalone_mode=False)
    except LakepkgError as exc:
        print(f"lakepkg: error: {one_line(exc, 500)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("lakepkg: interrupted; nothing was published", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like (click itself or typer's vendored copy)
        if _is(exc, "Exit"):
            sys.exit(getattr(exc, "exit_code", 0))
        if _is(exc, "Abort"):
            print("lakepkg: aborted; nothing was published", file=sys.stderr)
            sys.exit(1)
        if _is(exc, "ClickException"):
            msg = (exc.format_message() if hasattr(exc, "format_message") else str(exc)).strip().rstrip(".")
            if not msg:  # ``lakepkg`` alone: the help was printed
                sys.exit(getattr(exc, "exit_code", 2))
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "lakepkg"
            print(f"lakepkg: error: {one_line(msg, 400)}; see `{where} --help`", file=sys.stderr)
            sys.exit(getattr(exc, "exit_code", 2) or 2)
        raise
