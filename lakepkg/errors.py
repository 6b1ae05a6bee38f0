"""lakepkg's exception hierarchy.

Every error a user can cause ends in one of these classes, with a one-line
message that says what is wrong and what to do. The CLI prints ``str(exc)``
and exits non-zero; it never shows a traceback from a dependency.
"""
from __future__ import annotations


class LakepkgError(Exception):
    """Base class of every error lakepkg raises on purpose."""

    exit_code = 1


class InvalidNameError(LakepkgError, ValueError):
    """A package name, tag or table name breaks the naming rules."""


class InvalidRefError(LakepkgError, ValueError):
    """A package reference (``name@hash``, ``name:tag``, ``name@time``) cannot be parsed."""


class NotFoundError(LakepkgError, LookupError):
    """A package, version, tag, node or object does not exist."""


class AmbiguousRefError(LakepkgError, LookupError):
    """A hash prefix matches more than one version."""


class IntegrityError(LakepkgError):
    """Stored bytes do not match their hash, or a manifest is malformed."""


class MissingObjectError(IntegrityError, NotFoundError):
    """An object a manifest names is not in the store."""


class SchemaMismatchError(LakepkgError):
    """Fragments of one table do not share one schema."""


class UnsafePathError(LakepkgError, ValueError):
    """A logical key escapes its folder (``..``, absolute path, empty segment)."""


class ConcurrentUpdateError(LakepkgError):
    """A compare-and-swap on a tag lost against another writer too many times."""


class SourceError(LakepkgError):
    """A source system (database, metastore, catalog, file system) failed or refused."""


class SourceNotFoundError(SourceError, NotFoundError):
    """A source location, file or table does not exist: retrying will not make it appear (an
    orchestrator fails the task without retries)."""


class ConfigError(LakepkgError):
    """A setting, option or location is missing or malformed."""


class QueryError(LakepkgError, ValueError):
    """A query cannot run against a snapshot: not a query, a syntax error, or Spark refused it."""


class PermissionDeniedError(LakepkgError, PermissionError):
    """A registry, store or cache file this user may not read or write (another user's registry)."""


class StoreUnavailableError(LakepkgError):
    """A remote store or registry cannot be reached or refuses the credentials."""


class LakepkgDeprecationWarning(FutureWarning):
    """A renamed spelling (a CLI option, a keyword, a method) was used: the old one keeps working for
    one release, then goes. A ``FutureWarning``, so Python shows it to users, not only to developers;
    the CLI prints it as one ``lakepkg: warning: ...`` line."""


_deprecations_shown: set[str] = set()


def deprecated(old: str, new: str) -> None:
    """Warn (once per process and ``old``) that ``old`` is now spelled ``new``."""
    if old in _deprecations_shown:
        return
    _deprecations_shown.add(old)
    import warnings

    warnings.warn(f"{old} is renamed {new}; the old spelling works in this release and goes in the next",
                  LakepkgDeprecationWarning, stacklevel=3)


def one_line(text: object, limit: int = 300) -> str:
    """Collapse ``text`` to a single line of at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
