"""``lakepkg restore`` and ``lakepkg metastore start``: writing back to and running a Hive metastore.

(``lakepkg snapshot hive`` is generated from the hive connector's options, :mod:`lakepkg.cli.snapshot`.)"""
from __future__ import annotations

import os
from typing import Any, List, Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt, console, emit_json, show_progress
from lakepkg.sizes import human_bytes

MetastoreOpt = typer.Option(None, "--metastore", envvar="LAKEPKG_METASTORE",
                            help="Thrift URI of the Hive metastore, e.g. thrift://127.0.0.1:9083 (or $LAKEPKG_METASTORE).")
S3EndpointOpt = typer.Option(None, "--s3-endpoint", envvar="AWS_ENDPOINT_URL",
                             help="S3 endpoint URL for s3:// locations (MinIO, moto); credentials come from the AWS environment.")


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
    from lakepkg.errors import ConfigError
    from lakepkg.cli._common import registry
    from lakepkg.hive.restore import restore_table

    if not metastore:
        raise ConfigError("give --metastore thrift://host:9083 (or set LAKEPKG_METASTORE)")
    res = restore_table(ref, table=table, into=into, location=location, metastore=metastore,
                        registry=registry(reg), storage_options=_storage_options(s3_endpoint),
                        show_progress=show_progress(as_json))
    if as_json:
        emit_json(res.to_json())
    else:
        console().print(f"restored {res.source} as {res.table} at {res.location}: {res.files} files, "
                        f"{res.partitions} partitions, {res.rows:,} rows ({human_bytes(res.bytes)})")


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

    from lakepkg.hive.metastore_server import MetastoreServer

    from lakepkg.config import home

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
        if as_json:
            emit_json(info)
        else:
            console().print(f"Hive metastore at {ms.uri} (warehouse {ms.warehouse}, log {ms.log_path}); "
                            f"Ctrl-C stops it")
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
