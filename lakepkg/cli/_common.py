"""Helpers shared by CLI modules: the options several commands take (declared once), the registry opener.

Every command that takes ``-r/--registry`` (the option :data:`RegistryOpt`) also takes the S3
connection options ``--endpoint-url``, ``--region`` and ``--profile``: they are declared here once
and added to such commands by :func:`with_connection_options`, which the command loader
(:mod:`lakepkg.cli`) applies to every registered command. A command body opens its registry with
:func:`registry` (or passes :func:`connection_options` to an API verb) and the options follow.
"""
from __future__ import annotations

import contextvars
import functools
import inspect
import os
from typing import Any, Callable, Optional, TypeVar

import typer

RegistryOpt = typer.Option(None, "--registry", "-r", help="Registry location: a path, file://PATH or s3://BUCKET/PREFIX (s3a://, s3n:// too); default $LAKEPKG_REGISTRY or $LAKEPKG_HOME/registry.")
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")

# -- options several commands share, declared once (a command uses the constant, never its own copy) --
MessageOpt = typer.Option("", "--message", "-m", help="Version message.")
TagOpt = typer.Option([], "--tag", help="Also set this tag. Repeatable.")
InputOpt = typer.Option([], "--input", help="A package version the run read (ns/name@hash); recorded in the run record. Repeatable.")
PrintRefOpt = typer.Option(None, "--print", help="Print only the version's `ref` or `top_hash` as the last line of stdout (Airflow XCom).")
MetastoreOpt = typer.Option(None, "--metastore", envvar="LAKEPKG_METASTORE",
                            help="Thrift URI of the Hive metastore, e.g. thrift://127.0.0.1:9083 (or $LAKEPKG_METASTORE).")
S3EndpointOpt = typer.Option(None, "--s3-endpoint", envvar="AWS_ENDPOINT_URL",
                             help="S3 endpoint URL for s3:// locations (MinIO, moto); credentials come from the AWS environment.")
WorkersOpt = typer.Option(8, "--workers", "-j", min=1, max=64, help="Objects transferred in parallel.")
PackagesOpt = typer.Option([], "--package", "-p", help="Only this package. Repeatable.")
ReasonOpt = typer.Option(None, "--reason", help="Why (recorded in the audit log). Required.")
# renamed options: the new spelling, and the old one accepted (hidden from --help) for one release
ShowCommandOpt = typer.Option(False, "--show-command", help="Print the spark-submit command (and the environment it needs) instead of running it.")
OldPrintFlagOpt = typer.Option(False, "--print", hidden=True, help="Deprecated spelling of --show-command.")
LockFileOpt = typer.Option(None, "--lock-file", "-l", help="Install every version pinned in this lock file (lakepkg.lock).")
OldRequirementOpt = typer.Option(None, "--requirement", "-R", hidden=True, help="Deprecated spelling of --lock-file.")
GraceOpt = typer.Option(24.0, "--grace-hours", help="Keep unreferenced objects younger than this (an in-flight publish is never collected).")

#: the S3 connection options, in the order --help shows them: (parameter, default Option)
CONNECTION_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("endpoint_url", typer.Option(None, "--endpoint-url", help="S3 endpoint of an s3:// registry (MinIO, moto...); default $LAKEPKG_S3_ENDPOINT_URL or $AWS_ENDPOINT_URL.")),
    ("region", typer.Option(None, "--region", help="S3 region of an s3:// registry; default from the AWS config/environment.")),
    ("profile", typer.Option(None, "--profile", help="AWS profile for an s3:// registry's credentials (never stored by lakepkg).")),
)
_CONNECTION_NAMES = tuple(n for n, _ in CONNECTION_OPTIONS)
_connection: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("lakepkg_connection", default={})

F = TypeVar("F", bound=Callable[..., Any])


def connection_options() -> dict[str, Any]:
    """The S3 connection options the running command was given (only those set)."""
    return dict(_connection.get())


def _declares(param: inspect.Parameter, flag: str) -> bool:
    decls = getattr(param.default, "param_decls", None) or ()
    return flag in decls


def with_connection_options(fn: F) -> F:
    """``fn`` with ``--endpoint-url``, ``--region`` and ``--profile`` added when it takes ``--registry``
    (and does not declare them itself); while it runs, :func:`connection_options` returns them."""
    if getattr(fn, "__lakepkg_connection__", False):
        return fn
    try:
        sig = inspect.signature(fn, eval_str=True)
    except (NameError, TypeError, ValueError):  # a callable typer reads another way: leave it
        return fn
    params = list(sig.parameters.values())
    if not any(_declares(p, "--registry") for p in params) or any(p.name in _CONNECTION_NAMES for p in params):
        return fn
    var_kw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    head = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=opt, annotation=Optional[str])
             for n, opt in CONNECTION_OPTIONS]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {n: kwargs.pop(n) for n in _CONNECTION_NAMES if n in kwargs}
        token = _connection.set({k: str(v) for k, v in given.items() if v})
        try:
            return fn(*args, **kwargs)
        finally:
            _connection.reset(token)

    wrapper.__signature__ = sig.replace(parameters=head + added + var_kw)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in head + added + var_kw
                               if p.annotation is not inspect.Parameter.empty}
    wrapper.__lakepkg_connection__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def renamed(new_value: Any, old_value: Any, old: str, new: str) -> Any:
    """The value of a renamed option: the new spelling's, else the old one's (then a one-line warning,
    once per process, that ``old`` is now ``new``)."""
    if old_value:
        from lakepkg.errors import deprecated

        deprecated(old, new)
        return new_value or old_value
    return new_value


def registry(location: Optional[str] = None, create: bool = True) -> Any:
    """Open the registry a command names, with the command's connection options. ``create=False``
    (commands that only read): a local registry that was named (``--registry``, ``$LAKEPKG_REGISTRY``,
    the config file) must exist; a registry that does not exist is not an empty one. The default
    registry under ``$LAKEPKG_HOME`` may be new."""
    from lakepkg.config import setting
    from lakepkg.errors import NotFoundError
    from lakepkg.registry import open_registry, parse_location

    loc = parse_location(location)  # refuses an unsupported scheme before anything is created
    named = location if location is not None else setting("registry")
    if not create and named and loc.is_local and not os.path.isdir(loc.path):
        raise NotFoundError(f"no registry at {loc.path}: check --registry / $LAKEPKG_REGISTRY "
                            "(a registry is created by the first build, snapshot or push)")
    return open_registry(loc.url, **connection_options())
