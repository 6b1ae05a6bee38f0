"""Operators: pin what a DAG run wrote as one package version (write, audit, publish).

``LakepkgSnapshotOperator`` snapshots one or more sources — across systems —
into ONE version under one top hash; ``LakepkgBuildOperator`` builds a version
from files and frames. Both:

1. *write*: store every table (content-addressed; nothing visible yet);
2. *audit*: run ``checks`` against the written version (when given);
3. *publish*: through the one publish (``lakepkg.write.publish``), with the run
   record (dag, run, task, try, logical date, params, owner, code version,
   inputs); then move ``publish_tag`` by compare-and-swap.

A failed check fails the task with one line and publishes nothing. A retry
of the same source state publishes nothing new and returns the same top
hash. The task returns (XCom) ``{package, top_hash, ref, created, tag, tables:
{name: {rows, fragments, bytes}}}``, announces the version on the package
Asset (event extra: ``package``, ``top_hash``, ``ref``, ``created``) and reports
OpenLineage on completion.
"""
from __future__ import annotations

import inspect
import os
from typing import Any, Callable, Mapping, Optional, Sequence

from airflow.sdk import BaseOperator

from lakepkg.airflow.assets import package_asset, package_uri, triggering_versions
from lakepkg.airflow.checks import Check, run_checks, validate_checks
from lakepkg.airflow.errors import CheckFailedError, fail
from lakepkg.airflow.hooks import LakepkgHook, _mask
from lakepkg.airflow.run_record import owner_of, run_record
from lakepkg.airflow.sources import resolve_sources, validate_specs
from lakepkg.errors import ConcurrentUpdateError
from lakepkg.format.names import validate_package_name, validate_tag
from lakepkg.write.publish import publish

__all__ = ["LakepkgSnapshotOperator", "LakepkgBuildOperator"]


class _PublishingOperator(BaseOperator):
    """What both operators share: registry, write-audit-publish, run record, Asset, XCom, lineage."""

    ui_color = "#e8f1fb"

    def __init__(self, *, package: str, lakepkg_conn_id: Optional[str] = LakepkgHook.default_conn_name,
                 message: str = "", tags: Sequence[str] = (), meta: Optional[dict[str, Any]] = None,
                 inputs: Optional[Sequence[str]] = None, publish_tag: Optional[str] = None,
                 checks: Sequence[Check] = (), outlets: Any = None, **kwargs: Any) -> None:
        validate_package_name(package)
        if publish_tag is not None:
            validate_tag(publish_tag)
        validate_checks(checks)
        if checks and publish_tag is None:
            from lakepkg.errors import ConfigError

            raise ConfigError("checks run before publish_tag moves; give publish_tag (e.g. 'prod') with checks")
        asset = package_asset(package, lakepkg_conn_id)
        super().__init__(outlets=[asset] if outlets is None else outlets, **kwargs)
        self.package = package
        self.lakepkg_conn_id = lakepkg_conn_id
        self.asset = asset
        self.message = message
        self.tags = list(tags)
        self.meta = meta
        self.inputs = list(inputs) if inputs is not None else None
        self.publish_tag = publish_tag
        self.checks = list(checks)
        self._lineage_inputs: list[tuple[str, str, Optional[str], str]] = []  # namespace, name, version, table
        self._lineage: Any = None

    # -- subclasses --------------------------------------------------------
    def _write(self, context: Any, registry: Any, secrets: list[str]) -> Any:
        """Store the tables and return the built package (``BuiltPackage``); fill ``_lineage_inputs``."""
        raise NotImplementedError

    def _default_message(self) -> str:
        return f"airflow {self.dag_id}.{self.task_id}"

    # -- the one flow ------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        secrets: list[str] = []
        try:
            hook = LakepkgHook(self.lakepkg_conn_id)
            registry = hook.get_registry()
            built = self._write(context, registry, secrets)
            return self._audit_publish(context, hook, registry, built)
        except Exception as exc:
            fail(exc, secrets)

    def _audit_publish(self, context: Any, hook: LakepkgHook, registry: Any, built: Any) -> dict[str, Any]:
        from lakepkg.read.package import Package

        pkg = Package(registry, built.top_hash, None, name=self.package)
        held: Optional[str] = None
        if self.publish_tag:
            held = registry.tags(self.package).get(self.publish_tag)
        if self.checks:
            try:
                results = run_checks(pkg, self.checks)
            except CheckFailedError as exc:
                where = f"{self.publish_tag} left at {held[:10]}" if held else f"{self.publish_tag} not set"
                raise CheckFailedError(f"{exc}; {where}, nothing published") from None
            self.log.info("lakepkg: %d check(s) passed on %s@%s", len(results), self.package, built.top_hash[:10])
        inputs = self._inputs(context)
        result = publish(registry, self.package, built, message=self.message or self._default_message(),
                                 author=owner_of(context), run=run_record(context, inputs), inputs=inputs,
                                 tags=tuple(self.tags))
        top = result.top_hash
        if self.publish_tag and held != top:
            try:  # compare-and-swap: only from the value the audit saw
                registry.set_tag(self.package, self.publish_tag, top, expected=held)
            except ConcurrentUpdateError as exc:
                raise ConcurrentUpdateError(f"{exc}; the version {result.ref} is published but not tagged "
                                            f"{self.publish_tag}") from None
        self.log.info("lakepkg: %s %s (top hash %s)%s", result.ref, "published" if result.created else
                      "unchanged, nothing new minted", top,
                      f"; {self.publish_tag} -> {top[:10]}" if self.publish_tag else "")
        tables = {n: {k: facts[k] for k in ("rows", "fragments", "bytes") if k in facts}
                  for n, facts in result.tables.items()}
        out = {"package": self.package, "top_hash": top, "ref": result.ref, "created": bool(result.created),
               "tag": self.publish_tag, "tables": tables}
        self._announce(context, out)
        from lakepkg.airflow.lineage import operator_lineage

        inputs_ol = [(ns, name, version, pkg.table(t).schema) for ns, name, version, t in self._lineage_inputs]
        self._lineage = operator_lineage(inputs_ol, registry_id=hook.registry_id, package=pkg,
                                         created=bool(result.created), tag=self.publish_tag)
        return out

    def _inputs(self, context: Any) -> Optional[list[str]]:
        """Declared inputs, else the package versions whose asset events triggered this run."""
        if self.inputs is not None:
            return list(self.inputs)
        found = [v.ref for v in triggering_versions(context)]
        return found or None

    def _announce(self, context: Any, out: dict[str, Any]) -> None:
        """Put the exact version into the asset event of every package outlet."""
        events = context.get("outlet_events")
        if events is None:
            return
        uri = package_uri(self.package, self.lakepkg_conn_id or "default")
        for outlet in self.outlets or []:
            if getattr(outlet, "uri", None) == uri:
                events[outlet].extra = {"package": out["package"], "top_hash": out["top_hash"], "ref": out["ref"],
                                        "created": out["created"]}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Lineage of the finished snapshot (sources in, package version out)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        return self._lineage if self._lineage is not None else OperatorLineage()


class LakepkgSnapshotOperator(_PublishingOperator):
    """Snapshot one or more sources, across systems, into one package version.

    :param package: the package name ``ns/name`` (also its Asset; not templated).
    :param sources: list of source dicts (see :mod:`lakepkg.airflow.sources`): SQL databases by
        Airflow connection id, Hive by connection or URI, Iceberg by catalog config, folders by path.
    :param lakepkg_conn_id: the ``lakepkg`` connection of the registry (``None``: lakepkg's config).
    :param message, tags, meta: the version's message, extra tags (set as is), root metadata.
    :param files: ``{logical key: local path}`` plain files to add (e.g. ``README.md``).
    :param inputs: package versions the run read; default: those whose Assets triggered the run.
    :param publish_tag: tag moved (compare-and-swap) after the checks pass, e.g. ``"prod"``.
    :param checks: write-audit-publish checks (:mod:`lakepkg.airflow.checks`).
    :param incremental: reuse the previous version's unchanged files (default True).
    """

    template_fields: Sequence[str] = ("sources", "message", "tags", "meta", "inputs", "files")
    template_fields_renderers = {"sources": "json", "meta": "json", "files": "json"}

    def __init__(self, *, package: str, sources: Sequence[Any], files: Optional[dict[str, str]] = None,
                 incremental: bool = True, **kwargs: Any) -> None:
        validate_specs(sources)
        super().__init__(package=package, **kwargs)
        self.sources = sources
        self.files = files
        self.incremental = incremental

    def _default_message(self) -> str:
        return f"airflow {self.dag_id}.{self.task_id}: snapshot of {len(self.sources)} source(s)"

    def _write(self, context: Any, registry: Any, secrets: list[str]) -> Any:
        from lakepkg.airflow.lineage import table_lineage
        from lakepkg.write.snapshotting import Snapshot

        resolved = resolve_sources(self.sources)
        for r in resolved:
            secrets.extend(r.secrets)
        _mask(secrets)
        by_source = {id(r.source): r for r in resolved}
        job = Snapshot([r.source for r in resolved], self.package, registry=registry, meta=self.meta,
                       files=self.files, incremental=self.incremental)
        described = job.describe()
        built = job.build()  # the audit and the one publish follow in _audit_publish
        self._lineage_inputs = []
        for src, snap in described:
            origin = by_source.get(id(src))
            if origin is None:
                continue
            volatile = (built.sources.get(snap.name) or {}).get("volatile") or {}
            ns, name, version = table_lineage(origin.system, origin.namespace, origin.database, snap, volatile)
            self._lineage_inputs.append((ns, name, version, snap.name))
        return built


class LakepkgBuildOperator(_PublishingOperator):
    """Build a package version from local files/folders and frames (no source connector).

    :param tables: ``{name: path | DataFrame | pyarrow.Table | callable(context) -> data}``; a path is a
        Parquet/CSV file or a folder of them (``key=value`` folders are partitions).
    :param files: ``{logical key: local path}`` plain files.
    :param partition_cols: ``{table: [columns]}`` for frames.
    Everything else as :class:`LakepkgSnapshotOperator`.
    """

    template_fields: Sequence[str] = ("tables", "files", "message", "tags", "meta", "inputs")

    def __init__(self, *, package: str, tables: Optional[Mapping[str, Any]] = None,
                 files: Optional[dict[str, str]] = None, partition_cols: Optional[dict[str, list[str]]] = None,
                 **kwargs: Any) -> None:
        super().__init__(package=package, **kwargs)
        self.tables = dict(tables or {})
        self.files = files
        self.partition_cols = partition_cols or {}

    def _write(self, context: Any, registry: Any, secrets: list[str]) -> Any:
        from lakepkg.write.build import PackageBuilder

        builder = PackageBuilder(registry, meta=self.meta)
        self._lineage_inputs = []
        for name, data in self.tables.items():
            if callable(data):
                data = _call(data, context)
            builder.add_table(name, data, partition_cols=self.partition_cols.get(name))
            if isinstance(data, str):
                self._lineage_inputs.append(("file", os.path.abspath(data), None, name))
        for key, path in (self.files or {}).items():
            builder.add_file(key, path)
        return builder.build()


def _call(fn: Callable[..., Any], context: Any) -> Any:
    """``fn(context)``, or ``fn()`` for a function that takes no argument."""
    try:
        takes = len(inspect.signature(fn).parameters) > 0
    except (TypeError, ValueError):
        takes = True
    return fn(context) if takes else fn()

