"""The one publish: a built package becomes the newest version of a name.

Every entry point (``PackageBuilder.publish``, :func:`lakepkg.snapshot`, each
connector, ``lakepkg build``, ``lakepkg snapshot``, the Spark driver commit, a
derived sub-package) ends here, and this is the only caller of
:meth:`lakepkg.registry.Registry.publish`. It always records:

* the author: the ``author`` argument, else the configured author
  (``LAKEPKG_AUTHOR`` or the config file), else the orchestrator's owner
  (``AIRFLOW_CTX_DAG_OWNER``), else the login name;
* the run context (:func:`lakepkg.write.run_context.collect`: Airflow
  variables, code commit, input package versions) merged with ``run``;
* ``derived_from`` and the per-table sources (listings, volatile facts).

It returns one :class:`PublishResult`, which the CLI prints
(:meth:`PublishResult.headline`) and ``--json`` serialises
(:meth:`PublishResult.to_json`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Protocol

from lakepkg.config import author as login_author, setting
from lakepkg.format.names import validate_package_name
from lakepkg.registry import Registry, VersionRecord
from lakepkg.write.run_context import collect

__all__ = ["PublishResult", "publish", "default_author", "Built"]


class Built(Protocol):
    """What :func:`publish` needs of a built package (:class:`lakepkg.write.build.BuiltPackage`)."""

    top_hash: str
    sources: dict[str, Any]
    tables: dict[str, dict[str, Any]]


@dataclass
class PublishResult:
    """What a publish did: the version record, whether it is new, and per-table facts.

    ``tables[name]`` holds at least ``rows``, ``fragments`` and ``bytes``, plus what the ingest and
    the connector learnt (``files_read``, ``files_reused``, ``key``, ``method``, ...)."""

    record: VersionRecord
    created: bool  # False: same top hash as the latest version (a retry minted nothing)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def package(self) -> str:
        """The package name, ``ns/name``."""
        return self.record.package

    @property
    def top_hash(self) -> str:
        """The version's top hash (64 hex digits)."""
        return self.record.top_hash

    @property
    def ref(self) -> str:
        """A reference that names this version: ``ns/name@<10 hex>``."""
        return f"{self.record.package}@{self.record.top_hash[:10]}"

    def to_json(self) -> dict[str, Any]:
        """The version record's JSON plus ``ref``, ``created`` and ``tables``."""
        return {**self.record.to_json(), "ref": self.ref, "created": self.created, "tables": self.tables}

    def headline(self) -> str:
        """``sales/orders@3fa2c1e0b4 published  top hash …`` (or ``unchanged …``)."""
        verb = "published" if self.created else "unchanged (same top hash as latest)"
        return f"{self.ref} {verb}  top hash {self.top_hash}"

    def __repr__(self) -> str:
        return f"<PublishResult {self.ref} {'created' if self.created else 'unchanged'} tables={sorted(self.tables)}>"


def default_author() -> str:
    """The configured author, else the orchestrator's owner (``AIRFLOW_CTX_DAG_OWNER``), else the login."""
    configured = setting("author")
    if configured:
        return str(configured)
    owner = os.environ.get("AIRFLOW_CTX_DAG_OWNER")
    return owner if owner else login_author()


def publish(registry: Registry, name: str, built: Built, *, message: str = "",
            author: Optional[str] = None, run: Optional[dict[str, Any]] = None,
            inputs: Optional[list[str]] = None, tags: Iterable[str] = (),
            derived_from: Optional[str] = None, merge: Optional[dict[str, Any]] = None,
            expect_latest: Optional[str] = "*") -> PublishResult:
    """Publish ``built`` (every object already stored) as the newest version of ``name``.

    ``created`` is False when ``latest`` already has this top hash (a retried task mints nothing);
    ``tags`` are set either way. ``inputs``: references of the package versions the run read.
    ``merge``: a merge's parents, base and strategy (the record's ``merge`` field);
    ``expect_latest``: publish only if ``latest`` still names this top hash (None: the package
    must be new; ``"*"``: whatever it names), see :meth:`lakepkg.registry.Registry.publish`."""
    validate_package_name(name)
    lease = getattr(built, "lease", None)  # the builder's writer lease: the publish settles with it, then ends it
    try:
        rec, created = registry.publish(
            name, built.top_hash, message=message, author=author or default_author(), run=collect(run, inputs),
            derived_from=derived_from, sources=built.sources, tags=tuple(tags), merge=merge,
            expect_latest=expect_latest, lease=lease)
    finally:
        if lease is not None:
            lease.close()
    return PublishResult(rec, created, {n: dict(facts) for n, facts in built.tables.items()})
