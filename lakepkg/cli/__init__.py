"""The ``lakepkg`` command line: a thin layer over the Python API.

Each module in this package that defines ``register(app, snapshot_app)`` adds its
commands; the core commands live in ``core.py``, connectors add
``snapshot`` sub-commands (``register_snapshot(snapshot_app)``). A command that
takes ``-r/--registry`` (``_common.RegistryOpt``) gets the S3 connection options
``--endpoint-url/--region/--profile`` added by the loader; its body opens the
registry with ``_common.registry(reg)``.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any, Optional

import typer

from lakepkg.errors import LakepkgError, one_line

app = typer.Typer(name="lakepkg", help="Immutable, versioned snapshots of data-lake tables.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
snapshot_app = typer.Typer(help="Snapshot a source system into a package version.", no_args_is_help=True)
app.add_typer(snapshot_app, name="snapshot")


# the command (first word) → the module that registers it; a command line naming one of these loads
# that module alone (start-up), any other (``--help``, ``snapshot ...``, a typo) loads every module.
# tests/test_cli_lazy.py checks this table against what each module registers.
COMMAND_MODULES = {
    "build": "core", "ls": "core", "log": "core", "show": "core", "cat": "core", "diff": "core",
    "tag": "core", "verify": "core", "gc": "core", "demo": "core",
    "catalog": "catalog", "compact": "compact", "restore": "hive", "metastore": "hive",
    "rm": "lifecycle", "retain": "lifecycle", "where-used": "lifecycle", "redact": "lifecycle",
    "audit": "lifecycle", "clone": "merge", "merge": "merge", "query": "query",
    "push": "remote", "pull": "remote", "install": "remote", "lock": "remote", "spark": "spark_jobs",
}

_loaded: set[str] = set()


def _first_word(argv: Optional[list[str]]) -> Optional[str]:
    return next((a for a in argv if not a.startswith("-")), None) if argv is not None else None


def _wants_snapshot_commands(argv: Optional[list[str]]) -> bool:
    """Whether the command line is a ``snapshot`` one (or unknown: ``argv`` None), so the
    connector commands are needed; any other command starts without loading a connector."""
    return argv is None or _first_word(argv) == "snapshot"


def _command_modules() -> list[str]:
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _load_commands(argv: Optional[list[str]] = None) -> None:
    """Import the command modules the command line needs (the one :data:`COMMAND_MODULES` names for
    its first word, else all) and let each register its commands (``register(app, snapshot_app)``);
    a module's ``register_snapshot(snapshot_app)`` (the per-connector ``snapshot NAME`` commands)
    runs only when :func:`_wants_snapshot_commands`. Modules are registered in name order whatever
    was loaded before, so ``--help`` lists the commands in one order."""
    from lakepkg.cli._plain_params import install

    install()
    # only a command line that starts with the command: ``lakepkg --help query`` is the root's help
    one = COMMAND_MODULES.get(argv[0]) if argv else None
    mods = {one} if one is not None else set(_command_modules())
    wanted = {f"module:{m}" for m in mods} | ({"snapshot"} if _wants_snapshot_commands(argv) else set())
    if wanted <= _loaded:
        return
    mods |= {k[len("module:"):] for k in _loaded if k.startswith("module:")}
    # register afresh, in name order: the commands a first, partial load added come out in their place
    app.registered_commands = []
    app.registered_groups = [g for g in app.registered_groups if g.typer_instance is snapshot_app]
    snapshot_needed = "snapshot" in wanted and "snapshot" not in _loaded
    for mod in sorted(mods):
        m = importlib.import_module(f"{__name__}.{mod}")
        if getattr(m, "register", None) is not None:
            m.register(app, snapshot_app)
        if snapshot_needed and getattr(m, "register_snapshot", None) is not None:
            m.register_snapshot(snapshot_app)
    _loaded.update(wanted | {f"module:{m}" for m in mods})
    _add_connection_options(app)
    _plain_help_types()


def _add_connection_options(group: typer.Typer) -> None:
    """Give every command that takes ``--registry`` the S3 connection options (declared once, in
    ``_common``): a command another module registers gets them without a line of its own."""
    from lakepkg.cli._common import with_connection_options

    for info in group.registered_commands:
        if info.callback is not None:
            info.callback = with_connection_options(info.callback)
    cb = group.registered_callback
    if cb is not None and cb.callback is not None:
        cb.callback = with_connection_options(cb.callback)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _add_connection_options(sub.typer_instance)


def _plain_help_types() -> None:
    """Help shows a value's type the way people read it: nothing for a flag (typer prints ``<bool>``),
    ``<str>...`` for a repeatable option (typer prints ``<list[str]>``)."""
    try:
        from typer.core import TyperOption
    except ImportError:  # another typer layout: keep its own rendering
        return
    if getattr(TyperOption, "_lakepkg_plain_types", False):
        return
    original = TyperOption.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> Optional[str]:
        if self.metavar is None and getattr(self, "is_flag", False):
            return None
        text = original(self, ctx)
        if text and text.startswith("<list[") and text.endswith("]>"):
            return f"<{text[6:-2]}>..."
        return text

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption._lakepkg_plain_types = True  # type: ignore[attr-defined]


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


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("lakepkg")
        except PackageNotFoundError:  # running from a source tree that is not installed
            v = "unknown"
        typer.echo(f"lakepkg {v}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the lakepkg version and exit."),
) -> None:
    """Immutable, versioned snapshots of data-lake tables."""


def _show_deprecations() -> None:
    """A renamed spelling's warning (:class:`lakepkg.errors.LakepkgDeprecationWarning`) is one line on
    stderr, ``lakepkg: warning: --old is renamed --new; ...``, whatever the output form."""
    import warnings

    from lakepkg.errors import LakepkgDeprecationWarning

    previous = warnings.showwarning
    if getattr(previous, "_lakepkg_deprecations", False):
        return

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if isinstance(category, type) and issubclass(category, LakepkgDeprecationWarning):
            print(f"lakepkg: warning: {message}", file=sys.stderr)
            return
        previous(message, category, filename, lineno, file, line)

    show._lakepkg_deprecations = True  # type: ignore[attr-defined]
    warnings.showwarning = show


def _json_mode(argv: list[str]) -> bool:
    """True if ``--json`` was given (before a ``--`` that ends the options)."""
    for a in argv:
        if a == "--":
            return False
        if a == "--json":
            return True
    return False


def _usage_message(exc: Any) -> tuple[str, int]:
    msg = (exc.format_message() if hasattr(exc, "format_message") else str(exc)).strip().rstrip(".")
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "lakepkg"
    return (f"{one_line(msg, 400)}; see `{where} --help`" if msg else ""), int(getattr(exc, "exit_code", 2) or 2)


def run(argv: Optional[list[str]] = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (0 success, 1 a failure or a check that failed,
    2 a usage error, 70 a bug in lakepkg, 130 interrupted). Errors are printed by the output object:
    one line on stderr, or a JSON object on stderr under ``--json``; stdout holds only results."""
    from lakepkg.cli.output import make_output

    args = list(sys.argv[1:] if argv is None else argv)
    out = make_output(_json_mode(args))
    # the Thrift client logs each refused connection to stderr before raising; the error says it once
    logging.getLogger("thrift").setLevel(logging.CRITICAL)
    _show_deprecations()
    _load_commands(args)
    try:
        rc = app(args=args, prog_name="lakepkg", standalone_mode=False)
    except LakepkgError as exc:
        out.error(type(exc).__name__, one_line(exc, 500))
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("Interrupted", "interrupted; nothing was published")
        return 130
    except OSError as exc:  # the file system refused (permission, space, a path that is not a folder)
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if getattr(exc, "filename", None) else "")
        out.error(type(exc).__name__, one_line(f"{what}; check the path and its permissions", 500))
        return 1
    except Exception as exc:  # click usage errors and the like (click itself or typer's vendored copy)
        if _is(exc, "Exit"):
            return int(getattr(exc, "exit_code", 0) or 0)
        if _is(exc, "Abort"):
            out.error("Aborted", "aborted; nothing was published")
            return 1
        if _is(exc, "ClickException"):
            msg, code = _usage_message(exc)
            if msg:  # ``lakepkg`` alone printed the help: nothing more to say
                out.error("UsageError", msg)
            return code
        if os.environ.get("LAKEPKG_DEBUG"):
            raise
        out.error("InternalError", one_line(f"internal error (a bug in lakepkg): {type(exc).__name__}: {exc}; "
                                            "rerun with LAKEPKG_DEBUG=1 for the traceback", 500))
        return 70
    # ``standalone_mode=False`` hands back what ``typer.Exit(code)`` carried instead of exiting with it
    return rc if isinstance(rc, int) and not isinstance(rc, bool) else 0


def main() -> None:
    """Console entry point: exits with ``run()``'s code."""
    sys.exit(run())
