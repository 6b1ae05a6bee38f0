"""``lakepkg restore`` and ``lakepkg metastore start``: writing back to and running a Hive metastore.

(``lakepkg snapshot hive`` is generated from the hive connector's options, :mod:`lakepkg.cli.snapshot`.)"""
from __future__ import annotations

import os
from typing import Any, Optional

import typer

from lakepkg.cli._common import JsonOpt, MetastoreOpt, RegistryOpt, S3EndpointOpt, registry
from lakepkg.cli.output import make_output


def _storage_options(endpoint: Optional[str]) -> Optional[dict[str, Any]]:
    return {"endpoint_url": endpoint} if endpoint else None


def restore(
    ref: str = typer.Argument(..., help="Package version, e.g. sales/orders@3fa2c1 or sales/orders:good."),
    table: str = typer.Option(..., "--table", "-t", help="Table of the package to restore."),
    into: str = typer.Option(..., "--into", help="New metastore table, database.table (must not exist)."),
    location: str = typer.Option(..., "--location", help="Empty folder (path, file: or s3:// URI) for the table's files."),
    metastore: Optional[str] = MetastoreOpt,
    s3_endpoint: Optional[str] = S3EndpointOpt,
    reg: Optional[str] = RegistryOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Write a snapshotted table to a location and register it in the Hive metastore (rollback)."""
    import lakepkg

    out = make_output(as_json)
    out.restored(lakepkg.restore(ref, table=table, into=into, location=location, metastore=metastore,
                                 storage_options=_storage_options(s3_endpoint), registry=registry(reg),
                                 show_progress=out.progress))


metastore_app = typer.Typer(help="Run a local Hive metastore (Thrift, embedded Derby) from pyspark's jars.",
                            no_args_is_help=True)


@metastore_app.command("start")
def metastore_start(
    port: int = typer.Option(9083, "--port", help="Port to listen on."),
    directory: Optional[str] = typer.Option(None, "--dir",
                                            help="Folder for the Derby database, warehouse and log, kept across "
                                                 "restarts (default: $LAKEPKG_HOME/metastore)."),
    as_json: bool = JsonOpt,
) -> None:
    """Start a Hive metastore in the foreground (Ctrl-C stops it); prints its thrift:// URI."""
    import signal
    import sys
    import time

    from lakepkg.metastore.metastore_server import MetastoreServer

    from lakepkg.config import home

    out = make_output(as_json)
    ms = MetastoreServer(directory or os.path.join(home(), "metastore"), port=port)
    # SIGTERM stops the metastore too, also while it is starting (its Java process runs in its own session)
    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        ms.start()
    except KeyboardInterrupt:
        return
    try:
        info = {"uri": ms.uri, "pid": ms.proc.pid if ms.proc else None, "dir": ms.directory,
                "warehouse": ms.warehouse, "log": ms.log_path}
        out.serving("metastore", info, f"Hive metastore at {ms.uri} (warehouse {ms.warehouse}, log {ms.log_path}); "
                                       "Ctrl-C stops it")
        sys.stdout.flush()
        while ms.proc is not None and ms.proc.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        ms.stop()


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("restore")(restore)
    app.add_typer(metastore_app, name="metastore")
