"""``lakepkg catalog``: serve the web catalog of a registry (docs/catalog.md)."""
from __future__ import annotations

from typing import Optional

import typer

from lakepkg.cli._common import JsonOpt, RegistryOpt
from lakepkg.cli.output import make_output


def catalog(
    reg: Optional[str] = RegistryOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback needs --token."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on."),
    token: Optional[str] = typer.Option(None, "--token", envvar="LAKEPKG_CATALOG_TOKEN", show_envvar=True,
                                        help="Token every request must carry (open ?token=TOKEN once); required off loopback."),
    allow_write: bool = typer.Option(False, "--allow-write", help="Allow moving tags from the catalog (compare-and-swap, CSRF-protected)."),
    airflow_url: Optional[str] = typer.Option(None, "--airflow-url", envvar="LAKEPKG_AIRFLOW_URL",
                                              help="Airflow web UI base URL that run records link to."),
    cache_seconds: Optional[float] = typer.Option(None, "--cache-seconds", min=0, help="How long package listings are reused (default 5 s local, 30 s S3)."),
    as_json: bool = JsonOpt,
) -> None:
    """Serve a web catalog of the registry: packages, versions, tables, row diffs, a SQL console."""
    from lakepkg.catalog import serve
    from lakepkg.catalog.security import check_bind
    from lakepkg.cli._common import registry

    out = make_output(as_json)
    check_bind(host, token)
    r = registry(reg, create=False)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    out.serving("catalog", {"url": url, "registry": r.location, "read_only": not allow_write},
                f"lakepkg catalog of {r.location} on {url} ({'read-write' if allow_write else 'read-only'}); "
                "Ctrl-C stops it", err=True)
    serve(r, host=host, port=port, token=token, allow_write=allow_write, airflow_url=airflow_url,
          cache_seconds=cache_seconds)


def register(app: typer.Typer, snapshot_app: typer.Typer) -> None:
    app.command("catalog")(catalog)
