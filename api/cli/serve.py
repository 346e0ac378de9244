"""`unfragile serve` (the HTTP API and web page) and `unfragile demo`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli import remote
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
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request on stderr.")
    ] = False,
) -> None:
    """Serve the HTTP API and web page with uvicorn (keys for POST /events: UNFRAGILE_API_KEYS).

    While it runs, `unfragile search` on the same home asks it instead of loading the models."""
    _serve(get_settings(ctx), host, port, access_log)


def _serve(settings: Settings, host: str, port: int, access_log: bool = False) -> None:
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
    server = _recorded_server()(
        uvicorn.Config(
            create_app(settings, config),
            host=host,
            port=port,
            log_level="info" if access_log else "warning",
            access_log=access_log,
        ),
        settings,
    )
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        pass
    finally:  # a start that failed, or Ctrl-C: the record must not outlive the server
        remote.forget(settings)
    if not server.started:
        raise typer.Exit(1)  # uvicorn said why (the port, the app's start-up)


def _recorded_server() -> type:
    """uvicorn.Server that records itself in the home's run file while it listens."""
    import uvicorn

    class Recorded(uvicorn.Server):
        def __init__(self, config: uvicorn.Config, settings: Settings):
            super().__init__(config)
            self.settings = settings

        async def startup(self, sockets: list[Any] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            other = remote.live(self.settings)
            if other is not None:
                typer.echo(
                    f"note: another `unfragile serve` of this home (pid {other.pid}) answers "
                    "searches; this one serves only its own port.",
                    err=True,
                )
            else:  # none, or a stale record (its pid gone, its port silent): ours replaces it
                remote.record(self.settings, self.config.host, self.config.port)

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            # Forgotten first: a search started now goes standalone instead of to a closing
            # port. Here and not after run(): uvicorn re-raises SIGTERM once it has shut down.
            remote.forget(self.settings)
            await super().shutdown(sockets)

    return Recorded


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
