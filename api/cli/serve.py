"""`unfragile serve` (the HTTP API and web page) and `unfragile demo`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from unfragile.api.cli.data import ingest
from unfragile.api.cli.db import db_start
from unfragile.api.cli.main import app, fail, friendly, get_settings
from unfragile.api.cli.rank import compare, rank
from unfragile.api.cli.search import index, search
from unfragile.engine.settings import Settings

# Package data of unfragile.data: data/catalog in a checkout, inside the wheel when installed.
DEMO_CATALOG = Path(str(resources.files("unfragile.data"))) / "catalog"


@app.command()
@friendly
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Serve the HTTP API and web page with uvicorn (keys for POST /events: UNFRAGILE_API_KEYS)."""
    _serve(get_settings(ctx), host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import socket

    import uvicorn

    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    try:
        config = ApiConfig.from_env()
    except ValueError as e:
        fail(str(e), 2)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            fail(f"cannot listen on {host}:{port} ({e.strerror}); pick another --port.", 2)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"warning: listening on {host}, not loopback: other machines can reach it.", err=True
        )
    shown = f"[{host}]" if ":" in host else host
    writes = (
        "POST /events needs an X-API-Key"
        if config.api_keys
        else "writes are off: set UNFRAGILE_API_KEYS"
    )
    typer.echo(
        f"Serving Unfragile at http://{shown}:{port}  (API docs at /docs; {writes}). "
        "Ctrl-C stops it."
    )
    uvicorn.run(
        create_app(settings, config), host=host, port=port, log_level="warning", access_log=False
    )


@app.command()
@friendly
def demo(
    ctx: typer.Context,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Print the comparison page and a search, then exit.")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Set up everything on the bundled data (Neo4j, catalog and events, indexes, ranks), then
    serve the API and page at http://127.0.0.1:8000. Safe to run again."""
    settings = get_settings(ctx)
    db_start(ctx)
    ingest(ctx, DEMO_CATALOG)
    index(ctx)
    rank(ctx)
    if no_serve:
        typer.echo("")
        compare(ctx, "vit-base-patch16-224", "flux-1-pro")
        typer.echo('\n$ unfragile search "open source alternative to midjourney" --top-k 3')
        search(ctx, "open source alternative to midjourney", top_k=3)
        return
    _serve(settings, host, port)
