"""OpenLineage for a snapshot task: source tables in, the package version out.

Inputs: one dataset per source table, namespaced by its system
(``postgres://host:port``, ``mysql://host:port``, ``hive://host:port``,
``iceberg://<catalog>``, ``file`` / ``s3://bucket``), with a schema facet and,
where the source has one, a ``datasetVersion`` (Iceberg snapshot id, SQL
snapshot transaction time). Output: the package (namespace
``lakepkg://<registry id>``, name ``ns/name``, the same as its Asset) with
``datasetVersion`` = top hash, a schema facet (one nested field per table),
``outputStatistics`` (rows, bytes, fragments) and a ``lakepkg`` facet with
per-table facts. Nothing here holds a secret: connection URLs never reach it.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import attr
import pyarrow as pa
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (DatasetFacet, dataset_version_dataset, output_statistics_output_dataset,
                                         schema_dataset)

__all__ = ["LakepkgDatasetFacet", "table_lineage", "operator_lineage"]


@attr.define
class LakepkgDatasetFacet(DatasetFacet):
    """``lakepkg`` facet of the output: the exact version and its tables."""

    top_hash: str
    ref: str
    created: bool
    tables: dict = attr.field(factory=dict)
    tag: Optional[str] = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return "https://github.com/lakepkg/lakepkg/blob/main/docs/airflow.md#lineage"


def _field_type(f: pa.Field) -> str:
    meta = f.metadata or {}
    for key in (b"sql_type", b"hive_type"):
        if key in meta:
            return meta[key].decode()
    return str(f.type)


def _schema_facet(schema: pa.Schema) -> Any:
    return schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name=f.name, type=_field_type(f), ordinal_position=i)
        for i, f in enumerate(schema, 1)])


def table_lineage(system: str, namespace: str, database: Optional[str], snap: Any,
                  volatile: dict[str, Any]) -> tuple[str, str, Optional[str]]:
    """(namespace, name, version) of the source dataset behind one snapshotted table."""
    prov = snap.provenance or {}
    version: Optional[str] = None
    if system == "sql":
        name = prov.get("qualified_name") or prov.get("table") or f"query:{snap.name}"
        db = database or prov.get("database")
        if db and not str(name).startswith(f"{db}."):
            name = f"{db}.{name}"
        if volatile.get("snapshot_time"):
            version = str(volatile["snapshot_time"])
    elif system == "hive":
        name = prov.get("qualified_name") or snap.name
    elif system == "iceberg":
        name = prov.get("qualified_name") or snap.name
        if prov.get("snapshot_id") is not None:
            version = str(prov["snapshot_id"])
    elif system == "files":
        loc = str(prov.get("location") or volatile.get("path") or snap.name)
        if "://" in loc:
            scheme, rest = loc.split("://", 1)
            bucket, _, path = rest.partition("/")
            return f"{scheme}://{bucket}", path or "/", None
        return "file", loc, None
    else:
        name = prov.get("qualified_name") or snap.name
    return namespace, str(name), version


def operator_lineage(inputs: Sequence[tuple[str, str, Optional[str], pa.Schema]], *, registry_id: str,
                     package: Any, created: bool, tag: Optional[str] = None) -> Any:
    """The ``OperatorLineage`` Airflow's OpenLineage listener emits on completion.

    ``inputs``: (namespace, name, version, schema) per source table; ``package``: the published
    :class:`~lakepkg.read.package.Package`."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    ins = []
    for ns, name, version, schema in inputs:
        facets: dict[str, Any] = {"schema": _schema_facet(schema)}
        if version is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
        ins.append(InputDataset(namespace=ns, name=name, facets=facets))
    tables = {}
    nested = []
    rows = size = frags = 0
    for tname in package.tables:
        t = package.table(tname)
        node = t.node
        tables[tname] = {"rows": node.rows, "fragments": node.fragments, "bytes": node.bytes, "table_hash": t.hash}
        rows, size, frags = rows + node.rows, size + node.bytes, frags + node.fragments
        nested.append(schema_dataset.SchemaDatasetFacetFields(
            name=tname, type="table", fields=[schema_dataset.SchemaDatasetFacetFields(name=f.name, type=_field_type(f))
                                              for f in t.schema]))
    out = OutputDataset(
        namespace=f"lakepkg://{registry_id}", name=package.name,
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=package.top_hash),
                "schema": schema_dataset.SchemaDatasetFacet(fields=nested),
                "lakepkg": LakepkgDatasetFacet(top_hash=package.top_hash, ref=f"{package.name}@{package.top_hash[:10]}",
                                               created=created, tables=tables, tag=tag)},
        outputFacets={"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows, size=size, fileCount=frags)})
    return OperatorLineage(inputs=ins, outputs=[out])
