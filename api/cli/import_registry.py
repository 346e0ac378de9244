"""`unfragile import mcp-registry`: the MCP Registry's servers as mcp-server artifacts."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from unfragile.api.cli.main import friendly, get_settings, import_app


@import_app.command(
    "mcp-registry",
    epilog="Without SOURCE this reads https://registry.modelcontextprotocol.io/v0/servers, "
    "which needs the network; a FILE works offline (the tests serve pages from 127.0.0.1).",
)
@friendly
def import_mcp_registry(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="URL|FILE",
            help="A registry's list URL (GET /v0/servers, followed page by page with its "
            "cursor), a URL of one JSON file, or a local JSON file: a list response, an array "
            "of server records (the 2025 seed's shape) or one server.json. Default: the "
            "official registry.",
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="The source is not the whole registry: mark nothing removed. (A URL with a "
            "filter such as ?search= is taken as partial by itself.)",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for each page of the API.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Import the MCP Registry's servers (the latest version of each) as mcp-server artifacts.

    Packages and remotes are kept as facts; descriptions are decomposed into capabilities.
    All is read and checked first: a failed page or a bad record changes nothing.
    Importing again updates in place; servers a complete listing no longer holds are
    marked removed, not deleted. 429 and 503 answers are retried after Retry-After.
    """
    from unfragile.engine.db import open_graph
    from unfragile.engine.importers.mcp_registry import (
        DEFAULT_URL,
        Fetcher,
        read_listing,
        write_listing,
    )

    # Read and check everything before opening the graph: a bad source fails at once.
    listing = read_listing(source or DEFAULT_URL, Fetcher(timeout_s=timeout))
    with open_graph(get_settings(ctx), apply_schema=True) as graph:
        report = write_listing(graph, listing, partial=partial)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    removed = (
        f"{report.removed} marked removed"
        if report.removed is not None
        else "none marked removed (a partial listing)"
    )
    typer.echo(
        f"Imported {report.servers} MCP servers ({report.capabilities} capabilities) from "
        f"{report.records} records in {report.pages} page(s): {report.blank} blank skipped, "
        f"{report.merged} merged into another version of the same server, {removed}; "
        f"{report.seconds:.1f}s."
    )
