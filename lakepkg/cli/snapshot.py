"""``lakepkg snapshot NAME`` for every installed connector, and ``lakepkg snapshot --spec FILE``.

The commands are generated from the ``lakepkg.connectors`` entry points: a
connector declares its options (``connector.options``, a list of
:class:`lakepkg.source.connectors.ConnectorOption`), so a third-party
connector installed next to lakepkg gets ``lakepkg snapshot itsname --help``
without a line here. Every snapshot command also has the options of
:data:`COMMON`: ``--to``, ``--message``, ``--tag``, ``--input`` (recorded in
the run record), ``--full``, ``--print ref|top_hash`` (only that, as the last
line of stdout: for an Airflow BashOperator's XCom), ``--registry``, ``--json``.

A spec file snapshots several sources into one version::

    to: etl/nightly
    message: nightly run
    tags: [prod]
    sources:
      - connector: sql
        options: {url: "postgresql://reader@db/shop", tables: {orders: public.orders}}
      - connector: files
        options: {tables: {events: /lake/events}}
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, List, Optional

import typer

from lakepkg.cli._common import InputOpt, JsonOpt, MessageOpt, PrintRefOpt, RegistryOpt, TagOpt, registry
from lakepkg.cli.output import Output, make_output
from lakepkg.errors import ConfigError, LakepkgError, one_line
from lakepkg.source.connectors import ConnectorOption, available, get_connector

PRINTABLE = ("ref", "top_hash")
COMMON = ("to", "message", "tag", "input", "full", "print_", "reg", "as_json")


def _common_params(to_required: bool) -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    to_help = "Package name to publish, namespace/name." + ("" if to_required else " Default: the spec file's `to`.")
    opts: list[tuple[str, Any, Any]] = [
        ("to", Optional[str] if not to_required else str,
         typer.Option(... if to_required else None, "--to", help=to_help)),
        ("message", str, MessageOpt),
        ("tag", List[str], TagOpt),
        ("input", List[str], InputOpt),
        ("full", bool, typer.Option(False, "--full", help="Read every source file again instead of reusing unchanged "
                                                          "files of the latest version.")),
        ("print_", Optional[str], PrintRefOpt),
        ("reg", Optional[str], RegistryOpt),
        ("as_json", bool, JsonOpt),
    ]
    return [inspect.Parameter(n, kw, default=d, annotation=a) for n, a, d in opts]


def _param(opt: ConnectorOption) -> inspect.Parameter:
    kw = inspect.Parameter.KEYWORD_ONLY
    if opt.type is bool:
        return inspect.Parameter(opt.dest, kw, annotation=bool, default=typer.Option(
            bool(opt.default), f"--{opt.name}", help=opt.help, hidden=opt.hidden))
    ann: Any = List[opt.type] if opt.multiple else (opt.type if opt.required else Optional[opt.type])  # type: ignore[name-defined]
    if opt.argument:
        default: Any = ... if opt.required else ([] if opt.multiple else opt.default)
        return inspect.Parameter(opt.dest, kw, annotation=ann, default=typer.Argument(
            default, help=opt.help, envvar=opt.envvar, show_default=False))
    names = [f"--{opt.name}"] + ([f"-{opt.short}"] if opt.short else [])
    default = ... if opt.required else ([] if opt.multiple else opt.default)
    return inspect.Parameter(opt.dest, kw, annotation=ann, default=typer.Option(
        default, *names, help=opt.help, envvar=opt.envvar, hidden=opt.hidden))


def connector_options(values: dict[str, Any], conn: Any) -> dict[str, Any]:
    """What the command line gave, as the connector's ``snapshot_tables`` options."""
    hook = getattr(conn, "cli_options", None)
    if hook is not None:
        return dict(hook(values))
    return {k: v for k, v in values.items() if v is not None and v != [] and v is not False}


def report(res: Any, out: Output, print_: Optional[str]) -> None:
    """Print a PublishResult through the one output: JSON, or the headline and one line per table;
    ``--print`` last."""
    out.published(res, details=[f"  {table_line(name, facts)}" for name, facts in res.tables.items()], print_=print_)


def table_line(name: str, facts: dict[str, Any]) -> str:
    """The line for one table: the connector's own (``describe``) or rows and fragments."""
    conn_name = facts.get("connector")
    if conn_name:
        try:
            describe = getattr(get_connector(conn_name), "describe", None)
        except LakepkgError:
            describe = None
        if describe is not None:
            return str(describe(name, facts))
    from lakepkg.sizes import count

    return f"{name}: {count(facts.get('rows', 0), 'row')} in {count(facts.get('fragments', 0), 'fragment')}"


def _checked_print(print_: Optional[str], out: Output) -> None:
    if print_ is not None and print_ not in PRINTABLE:
        raise ConfigError(f"--print {print_!r}: give ref or top_hash")
    out.check_print(print_)


def _publish(sources: list[Any], *, to: str, message: str, tag: list[str], input: list[str], full: bool,
             print_: Optional[str], reg: Optional[str], out: Output) -> None:
    import lakepkg

    res = lakepkg.snapshot(sources, to=to, registry=registry(reg), message=message, tags=tuple(tag),
                           inputs=list(input) or None, incremental=not full, show_progress=out.progress)
    report(res, out, print_)


def make_command(name: str, conn: Any) -> Callable[..., None]:
    """The ``lakepkg snapshot NAME`` command of connector ``conn``."""
    from lakepkg.source.connectors import Source

    specs: list[ConnectorOption] = list(getattr(conn, "options", None) or [])
    clash = [o.name for o in specs if o.dest in COMMON or o.name in ("to", "message", "tag", "input", "full",
                                                                      "print", "registry", "json")]

    def command(**values: Any) -> None:
        if clash:
            raise ConfigError(f"connector {name!r} declares option --{clash[0]}, which every snapshot command has; "
                              f"the connector must rename it")
        common = {k: values.pop(k) for k in COMMON}
        out = make_output(common.pop("as_json"))
        _checked_print(common["print_"], out)
        _publish([Source(conn, connector_options(values, conn))], out=out, **common)

    params = ([] if clash else [_param(o) for o in specs]) + _common_params(to_required=True)
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    doc = (inspect.getdoc(conn) or f"Snapshot through the {name} connector.").strip()
    command.__doc__ = doc.split("\n\n")[0].strip().rstrip(".") + " into one package version."
    command.__name__ = f"snapshot_{name}"
    return command


def _spec_params() -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY
    spec = inspect.Parameter("spec", kw, annotation=Optional[str], default=typer.Option(
        None, "--spec", help="A YAML file: to, message, tags, sources: [{connector: NAME, options: {...}}]; "
                             "its sources are published as one version."))
    ctx = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    return [ctx, spec] + _common_params(to_required=False)


def read_spec(path: str) -> dict[str, Any]:
    """The spec file's content, checked: ``to``, ``message``, ``tags``, ``inputs``, ``sources``."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read --spec {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--spec {path} is not valid YAML: {one_line(exc, 200)}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--spec {path} must be a mapping with `to` and `sources`")
    unknown = sorted(set(doc) - {"to", "message", "tags", "inputs", "sources"})
    if unknown:
        raise ConfigError(f"--spec {path}: unknown key(s) {', '.join(unknown)}; use to, message, tags, inputs, sources")
    if not isinstance(doc.get("sources"), list) or not doc["sources"]:
        raise ConfigError(f"--spec {path} has no `sources:` list; give [{{connector: NAME, options: {{...}}}}, ...]")
    for key in ("tags", "inputs"):
        if not isinstance(doc.get(key, []), list):
            raise ConfigError(f"--spec {path}: `{key}` must be a list")
    return doc


def snapshot_spec(ctx: typer.Context, **values: Any) -> None:
    """Snapshot a source system into a package version (`lakepkg snapshot NAME --help`), or several
    sources into one version with --spec FILE."""
    spec = values.pop("spec")
    if ctx.invoked_subcommand is not None:
        if spec:
            raise ConfigError(f"--spec goes alone: `lakepkg snapshot --spec FILE`, not with `{ctx.invoked_subcommand}`")
        return
    if not spec:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    doc = read_spec(spec)
    to = values.pop("to") or doc.get("to")
    if not to:
        raise ConfigError(f"--spec {spec} names no package: add `to: ns/name` or give --to")
    out = make_output(values.pop("as_json"))
    _checked_print(values["print_"], out)
    values["message"] = values["message"] or doc.get("message") or ""
    values["tag"] = list(dict.fromkeys([*(doc.get("tags") or []), *values["tag"]]))
    values["input"] = list(dict.fromkeys([*(doc.get("inputs") or []), *values["input"]]))
    _publish(list(doc["sources"]), to=str(to), out=out, **values)


snapshot_spec.__signature__ = inspect.Signature(_spec_params())  # type: ignore[attr-defined]
snapshot_spec.__annotations__ = {p.name: p.annotation for p in _spec_params()}


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    snapshot_app.callback(invoke_without_command=True)(snapshot_spec)


def register_snapshot(snapshot_app: typer.Typer) -> None:
    """One ``snapshot NAME`` command per installed connector. Loading a connector imports its
    driver (SQLAlchemy, pyiceberg, the Thrift client: about half a second for the four built in),
    so this runs only for a ``snapshot`` command line."""
    for name in available():
        try:
            conn = get_connector(name)
        except LakepkgError as exc:
            err = exc

            def broken(_err: LakepkgError = err) -> None:
                raise _err
            broken.__doc__ = f"(unavailable: {one_line(err, 120)})"
            snapshot_app.command(name)(broken)
            continue
        snapshot_app.command(name)(make_command(name, conn))
