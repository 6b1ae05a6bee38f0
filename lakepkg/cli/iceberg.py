"""`lakepkg snapshot iceberg`: snapshot Iceberg tables through a pyiceberg catalog."""
from __future__ import annotations

from typing import List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json, registry, show_progress


def snapshot_iceberg(
    tables: List[str] = typer.Argument(..., help="Iceberg tables, namespace.table or namespace.* patterns."),
    to: str = typer.Option(..., "--to", help="Package name to publish, e.g. sales/orders."),
    catalog_uri: Optional[str] = typer.Option(None, "--catalog-uri", envvar="LAKEPKG_ICEBERG_URI", help="SQL catalog URI (sqlite:///… or postgresql+psycopg://…); a password is better given by the environment or a .pyiceberg.yaml."),
    warehouse: Optional[str] = typer.Option(None, "--warehouse", help="Warehouse location of the catalog."),
    catalog_name: str = typer.Option("default", "--catalog", help="Catalog name (properties may come from ~/.pyiceberg.yaml)."),
    catalog_type: Optional[str] = typer.Option(None, "--catalog-type", help="pyiceberg catalog type (sql, rest, hive, glue…)."),
    snapshot_id: Optional[int] = typer.Option(None, "--snapshot-id", help="Iceberg snapshot to read (default: current)."),
    message: str = typer.Option("", "--message", "-m"),
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Snapshot Iceberg tables into one package version (data files stored byte for byte)."""
    from lakepkg.write.snapshotting import snapshot

    props = {k: v for k, v in {"uri": catalog_uri, "warehouse": warehouse, "type": catalog_type}.items() if v}
    res = snapshot("iceberg", to, registry=registry(reg), message=message, catalog=props,
                            catalog_name=catalog_name, tables=tables, snapshot_id=snapshot_id,
                            show_progress=show_progress(as_json))
    if as_json:
        emit_json(res.to_json())
    else:
        console().print(res.headline())


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    snapshot_app.command("iceberg")(snapshot_iceberg)
