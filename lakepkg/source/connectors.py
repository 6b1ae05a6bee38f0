"""Connector discovery: source systems plug in through the ``lakepkg.connectors`` entry-point group.

A connector is an object with a ``name``, a ``snapshot_tables(**options)``
method returning :class:`lakepkg.source.table_snapshot.TableSnapshot` objects,
and (for its ``lakepkg snapshot NAME`` command) ``options``: a list of
:class:`ConnectorOption`. It only reads its source; :func:`lakepkg.snapshot`
stores and publishes. A third party registers one in its own pyproject::

    [project.entry-points."lakepkg.connectors"]
    mysource = "my_pkg.lakepkg_connector:connector"

Optional hooks a connector may define:

* ``cli_options(values) -> dict``: turn the parsed command-line values (one per
  declared option, by ``param``) into ``snapshot_tables`` options (default: the
  values without the ones left unset);
* ``describe(name, facts) -> str``: the line ``lakepkg snapshot`` prints for a table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Mapping, Optional, Protocol, Union, runtime_checkable

from lakepkg.errors import ConfigError, one_line

if TYPE_CHECKING:  # its module imports pyarrow; the CLI lists connectors without it
    from lakepkg.source.table_snapshot import TableSnapshot

GROUP = "lakepkg.connectors"


@dataclass(frozen=True)
class ConnectorOption:
    """One option of a connector, as its ``lakepkg snapshot NAME`` command offers it.

    ``name``: the long flag without dashes (``table-name``); ``param``: the keyword the value is
    passed as (default: ``name`` with ``-`` → ``_``); ``type``: ``str``, ``int``, ``float`` or
    ``bool`` (a flag); ``multiple``: repeatable, the value is a list; ``argument``: positional
    (then ``multiple`` takes one or more); ``short``: a one-letter alias (``q`` → ``-q``);
    ``envvar``: an environment variable that supplies the value (keeps a password off the
    command line); ``hidden``: accepted but not shown by ``--help`` (a renamed option's old spelling)."""

    name: str
    type: type = str
    help: str = ""
    required: bool = False
    multiple: bool = False
    default: Any = None
    argument: bool = False
    short: Optional[str] = None
    envvar: Optional[str] = None
    param: Optional[str] = None
    hidden: bool = False  # not in --help (an old spelling kept for a release)

    @property
    def dest(self) -> str:
        """The keyword the value travels under."""
        return self.param or self.name.replace("-", "_")


@runtime_checkable
class Connector(Protocol):
    name: str

    def snapshot_tables(self, **options: Any) -> list[TableSnapshot]:
        """Read the source and describe the tables to snapshot (consistent with each other)."""
        ...


@dataclass
class Source:
    """One source of a snapshot: a connector (name or object) and its options.

    >>> lakepkg.snapshot([Source("sql", {"url": url, "tables": "public.orders"}),
    ...                   Source("files", {"tables": {"events": "/data/events"}})], to="etl/nightly")
    """

    connector: "str | Connector"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The connector's name."""
        return self.connector if isinstance(self.connector, str) else self.connector.name

    def resolve(self) -> Connector:
        """The connector object (loaded from its entry point when given by name)."""
        return get_connector(self.connector) if isinstance(self.connector, str) else self.connector


SourceLike = Union[Source, "tuple[str | Connector, Mapping[str, Any]]", Mapping[str, Any]]


def as_source(item: Any) -> Source:
    """A :class:`Source` from a Source, a ``(connector, options)`` pair, or a spec-file mapping
    ``{"connector": NAME, "options": {...}}``."""
    if isinstance(item, Source):
        return item
    if isinstance(item, Mapping):
        unknown = set(item) - {"connector", "options"}
        if "connector" not in item or unknown:
            raise ConfigError(f"a source is {{connector: NAME, options: {{...}}}}; got keys {sorted(item)}")
        opts = item.get("options") or {}
        if not isinstance(opts, Mapping):
            raise ConfigError(f"options of source {item['connector']!r} must be a mapping")
        return Source(item["connector"], dict(opts))
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
        return Source(item[0], dict(item[1]))
    raise ConfigError(f"a source is Source(connector, options) or a (connector, options) pair, not {type(item).__name__}")


def available() -> list[str]:
    """Names of installed connectors."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def get_connector(name: str) -> Connector:
    """Load the connector registered under ``name``."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except ImportError as exc:
                raise ConfigError(f"connector {name!r} needs an optional dependency: {one_line(exc)}; "
                                  f"install it with `pip install 'lakepkg[{name}]'`") from None
    raise ConfigError(f"no connector named {name!r}; installed: {', '.join(available()) or 'none'}")
