"""The ``lakepkg`` command line: a thin layer over the Python API.

Each module in this package that defines ``register(app)`` adds its
commands; the core commands live in ``core.py``, connectors add
``snapshot`` sub-commands in their own modules.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from ..errors import LakepkgError, one_line

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


def main() -> None:
    """Console entry point: lakepkg errors become one line on stderr and exit code 1."""
    _load_commands()
    try:
        app(standalone_mode=False)
    except LakepkgError as exc:
        print(f"lakepkg: error: {one_line(exc, 500)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("lakepkg: interrupted; nothing was published", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
