"""`unfragile db`: start, stop, inspect or empty the Neo4j database."""

from __future__ import annotations

import json
import shutil
from typing import Annotated, Any

import typer

from unfragile.api.cli.main import db_app, fail, friendly, get_settings
from unfragile.engine.errors import GraphUnavailable


@db_app.command("start")
@friendly
def db_start(
    ctx: typer.Context,
    browser: Annotated[
        bool,
        typer.Option(
            "--browser",
            help="Also serve Neo4j Browser on 127.0.0.1 (same password; the saved "
            "explorations as its guide). Also UNFRAGILE_NEO4J_BROWSER=1.",
        ),
    ] = False,
) -> None:
    """Start the local Neo4j (idempotent); returns once Bolt answers."""
    from unfragile.engine.db import local_server, open_graph, start_local

    settings = get_settings(ctx)
    if browser:
        settings = settings.with_(neo4j_browser=True)
    if settings.external_neo4j:
        graph = open_graph(settings, apply_schema=True)
        graph.close()
        typer.echo(
            f"Using the external Neo4j at {settings.neo4j_uri} (NEO4J_URI): "
            "nothing to start. Schema applied."
        )
        if settings.neo4j_browser:
            typer.echo("Neo4j Browser: --browser is for the local server; use your server's own.")
        return
    running = local_server(settings).info()
    if settings.neo4j_browser and running is not None and running.browser_url is None:
        fail(
            "Neo4j already runs without Neo4j Browser: stop it first "
            "(`unfragile db stop`, then `unfragile db start --browser`).",
            1,
        )
    if running is None:
        typer.echo("Starting Neo4j (the first start fetches it from Maven Central)...", err=True)
    info, started = start_local(settings)
    graph = open_graph(settings, apply_schema=True)
    graph.close()
    verb = "Started" if started else "Already running:"
    typer.echo(f"{verb} Neo4j at {info.uri} (pid {info.pid}, home {settings.home}).")
    if info.browser_url:
        typer.echo(
            f"Neo4j Browser: {info.browser_url} (user neo4j, password in "
            f"{local_server(settings).password_file}; the guide lists the saved explorations)."
        )


@db_app.command("stop")
@friendly
def db_stop(ctx: typer.Context) -> None:
    """Stop the local Neo4j cleanly."""
    from unfragile.engine.db import local_server

    settings = get_settings(ctx)
    if settings.external_neo4j:
        typer.echo(f"Using the external Neo4j at {settings.neo4j_uri}: nothing to stop.")
        return
    stopped = local_server(settings).stop()
    typer.echo("Stopped Neo4j." if stopped else f"Neo4j was not running (home {settings.home}).")


@db_app.command("status")
@friendly
def db_status(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Say which Neo4j the engine uses, where, and whether it answers."""
    from unfragile.engine.db import local_server, open_graph

    settings = get_settings(ctx)
    status: dict[str, Any] = {"home": str(settings.home)}
    if settings.external_neo4j:
        status.update(mode="external", uri=settings.neo4j_uri, user=settings.neo4j_user)
    else:
        server = local_server(settings)
        info = server.info()
        status.update(
            mode="local",
            running=info is not None,
            uri=info.uri if info else None,
            pid=info.pid if info else None,
            browser=info.browser_url if info else None,
            user="neo4j",
            password_file=str(server.password_file),
            data=str(server.dir / "dbms"),
            log=str(server.log_file),
        )
    status["reachable"] = False
    if settings.external_neo4j or status.get("running"):
        try:
            graph = open_graph(settings)
        except GraphUnavailable as e:
            status["error"] = str(e)
        else:
            with graph:
                status["reachable"] = True
                status["version"] = graph.read(
                    "CALL dbms.components() YIELD name, versions, edition "
                    "RETURN name, versions[0] AS version, edition"
                )[0]
                gds = graph.read("SHOW FUNCTIONS YIELD name WHERE name = 'gds.version' RETURN name")
                status["gds"] = graph.read("RETURN gds.version() AS v")[0]["v"] if gds else None
    status.setdefault("gds", None)
    if status["gds"] is None:
        status["gds_problem"] = (
            "not installed on the external server"
            if settings.external_neo4j
            else local_server(settings).runtime().gds_problem
            or "not loaded (is the server running?)"
        )
    status.setdefault("browser", None)
    if status["browser"] is None:
        status["browser_problem"] = (
            "not ours to serve on an external server (open its own, if it has one)"
            if settings.external_neo4j
            else "off: start with `unfragile db start --browser`"
            if status.get("running")
            else "not running"
        )
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    if status["mode"] == "external":
        typer.echo(f"Neo4j: external server {status['uri']} (user {status['user']})")
    elif status["running"]:
        typer.echo(f"Neo4j: local, running (pid {status['pid']}) at {status['uri']}")
        typer.echo(f"  user neo4j, password in {status['password_file']} (mode 0600)")
        typer.echo(f"  data {status['data']}")
        typer.echo(f"  log  {status['log']}")
    else:
        typer.echo("Neo4j: local, not running. Start it with `unfragile db start`.")
    if status["reachable"]:
        v = status["version"]
        typer.echo(f"  answers: {v['name']} {v['version']} {v['edition']}")
    elif "error" in status:
        typer.echo(f"  not answering: {status['error']}")
    if status["gds"]:
        typer.echo(f"  Graph Data Science {status['gds']}: enabled")
    else:
        typer.echo(f"  Graph Data Science: off: {status['gds_problem']}")
    if status["browser"]:
        typer.echo(f"  Neo4j Browser: {status['browser']} (same user and password)")
    else:
        typer.echo(f"  Neo4j Browser: {status['browser_problem']}")
    typer.echo(f"  home {status['home']}")


@db_app.command("reset")
@friendly
def db_reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete everything.")] = False,
) -> None:
    """Empty the graph and delete the indexes (schema stays)."""
    from unfragile.engine.db import empty_graph, open_graph

    settings = get_settings(ctx)
    if not yes:
        fail("this deletes every node, edge and index; run again with --yes to confirm.", 2)
    with open_graph(settings, apply_schema=True) as graph:
        empty_graph(graph)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    typer.echo("The graph is empty and the indexes are gone.")
