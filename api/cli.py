"""The `unfragile` command: database lifecycle, ingest, imports, stats and Cypher."""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from unfragile.engine.db import local_server, open_graph
from unfragile.engine.records import InputError
from unfragile.engine.settings import Settings, SettingsError
from unfragile.graph import store
from unfragile.graph.connection import GraphUnavailable, QueryError
from unfragile.graph.server import ServerError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    help="Unfragile: find, rank and compare AI models and tools.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Start, stop, inspect or empty the Neo4j database.", no_args_is_help=True)
import_app = typer.Typer(help="Import public data sets.", no_args_is_help=True)
images_app = typer.Typer(help="Add images of artifacts and index them.", no_args_is_help=True)
probe_app = typer.Typer(
    help="Probe artifacts: render samples of open image models.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(images_app, name="images")
app.add_typer(probe_app, name="probe")
events_app = typer.Typer(
    help="Search events: what people searched, clicked and said.", no_args_is_help=True
)
app.add_typer(events_app, name="events")


def _settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(fn: F) -> F:
    """Turn the errors a person can cause into one message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            _fail(f"{e}\nNothing was written." if e.writes else str(e), 2)
        except QueryError as e:
            _fail(str(e), 2)
        except (GraphUnavailable, ServerError) as e:
            _fail(str(e), 3)
        except Exception as e:
            # The indexing layer's errors; imported here so commands that never index
            # do not pay for loading FAISS and torch.
            from unfragile.indexing.images import ImageRejected
            from unfragile.indexing.render import RenderError
            from unfragile.indexing.text import ModelLoadError
            from unfragile.indexing.vectors import IndexProblem

            if isinstance(e, ImageRejected | RenderError):
                _fail(str(e), 2)
            if isinstance(e, ModelLoadError | IndexProblem):
                _fail(str(e), 4)
            raise
        except KeyboardInterrupt:
            _fail(
                "interrupted. Batches already written are complete; run the same command "
                "again to finish.",
                130,
            )

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Folder for everything the engine keeps "
            "(default: $UNFRAGILE_HOME or ~/.local/share/unfragile)."
        ),
    ] = None,
) -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as e:
        _fail(str(e), 2)
    if home is not None:
        settings = settings.with_(home=home.expanduser())
    ctx.obj = settings


# -- db ------------------------------------------------------------------------------------


@db_app.command("start")
@friendly
def db_start(ctx: typer.Context) -> None:
    """Start the local Neo4j (idempotent); returns once Bolt answers."""
    settings = _settings(ctx)
    if settings.external_neo4j:
        graph = open_graph(settings, apply_schema=True)
        graph.close()
        typer.echo(
            f"Using the external Neo4j at {settings.neo4j_uri} (NEO4J_URI): "
            "nothing to start. Schema applied."
        )
        return
    server = local_server(settings)
    if server.info() is None:
        typer.echo("Starting Neo4j (the first start fetches it from Maven Central)...", err=True)
    info, started = server.start(timeout_s=settings.neo4j_start_timeout_s)
    graph = open_graph(settings, apply_schema=True)
    graph.close()
    verb = "Started" if started else "Already running:"
    typer.echo(f"{verb} Neo4j at {info.uri} (pid {info.pid}, home {settings.home}).")


@db_app.command("stop")
@friendly
def db_stop(ctx: typer.Context) -> None:
    """Stop the local Neo4j cleanly."""
    settings = _settings(ctx)
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
    settings = _settings(ctx)
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
    status["browser"] = None
    status["browser_problem"] = (
        "Neo4j Browser is served by the Neo4j server's HTTP "
        "connector; the embedded DBMS has none (use `unfragile "
        "cypher`)"
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
    typer.echo(f"  Neo4j Browser: off: {status['browser_problem']}")
    typer.echo(f"  home {status['home']}")


@db_app.command("reset")
@friendly
def db_reset(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete everything.")] = False,
) -> None:
    """Empty the graph and delete the indexes (schema stays)."""
    settings = _settings(ctx)
    if not yes:
        _fail("this deletes every node, edge and index; run again with --yes to confirm.", 2)
    with open_graph(settings, apply_schema=True) as graph:
        store.delete_everything(graph)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    typer.echo("The graph is empty and the indexes are gone.")


# -- data ----------------------------------------------------------------------------------


@app.command()
@friendly
def ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .jsonl/.json file or a folder of them.")],
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Records per batch; up to 10,000 events are written in one transaction.",
        ),
    ] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Load artifacts and search events; validates everything before writing anything."""
    from unfragile.engine.ingest import ingest as run_ingest

    settings = _settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, path, batch_size=batch_size)
    _report(report.as_dict(), as_json)


@events_app.command("ingest")
@friendly
def events_ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A .jsonl/.json file or folder.")],
    batch_size: Annotated[int, typer.Option(min=1)] = 2000,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add search events (match, click, dwell, feedback, prefer); then run `unfragile index`."""
    from unfragile.engine.ingest import ingest as run_ingest

    settings = _settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, path, batch_size=batch_size, events_only=True)
    _report(report.as_dict(), as_json)


@import_app.command("metatool")
@friendly
def import_metatool(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="The MetaTool data folder.")],
    no_queries: Annotated[
        bool, typer.Option("--no-queries", help="Load the tools alone, not queries.csv.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import MetaTool: 199 tools as artifacts, its labelled queries as match events."""
    from unfragile.engine.ingest import ingest as run_ingest
    from unfragile.engine.metatool import metatool_records
    from unfragile.indexing.text import TextEncoder

    settings = _settings(ctx)
    # The model groups merged-away plugins under their merged tool (engine.metatool); it is
    # loaded once the folder has been read, so a wrong folder fails without waiting for it.
    records = metatool_records(
        folder,
        with_queries=not no_queries,
        embed=lambda texts: TextEncoder(settings.text_model).encode(texts),
    )
    with open_graph(settings, apply_schema=True) as graph:
        report = run_ingest(graph, records=records)
    _report(report.as_dict(), as_json)


def _report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report))
    else:
        typer.echo(
            f"Loaded {report['artifacts']} artifacts ({report['capabilities']} "
            f"capabilities) and {report['events']} events in {report['seconds']:.1f}s."
        )


@app.command()
@friendly
def stats(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Count artifacts, capabilities, queries, match edges and images."""
    with open_graph(_settings(ctx)) as graph:
        counts = store.stats(graph)
    if as_json:
        typer.echo(json.dumps(counts))
    else:
        for name, value in counts.items():
            typer.echo(f"{name:>13}: {value}")


@app.command()
@friendly
def cypher(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="A Cypher query (read-only).")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the query from a file.")] = None,
    saved: Annotated[
        str | None, typer.Option(help="Run a saved exploration from cypher/explore by name.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A parameter as name=value (JSON values allowed); repeatable."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of rows.")] = False,
) -> None:
    """Run a read-only Cypher query with a time limit, a row cap and a byte cap."""
    from unfragile.engine import explore

    settings = _settings(ctx)
    if [query, file, saved].count(None) != 2:
        _fail("give one of a QUERY, --file PATH or --saved NAME.", 2)
    params = parse_params(param or [])
    if saved is not None:
        exploration = explore.get(saved)
        query, params = exploration.text, exploration.bind(params)
    if file is not None:
        try:
            query = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"{file}: cannot read it ({e.__class__.__name__}).", 2)
        # A saved query's header declares its parameters: defaults apply, types are checked.
        params = explore.bind_text(query, str(file), params)
    with open_graph(settings) as graph:
        columns, rows, truncated = graph.run_read_only(
            query,
            params,
            settings.query_timeout_s,
            settings.cypher_row_cap,
            settings.cypher_byte_cap,
        )
    if as_json:
        typer.echo(json.dumps(rows, default=str))
    else:
        _print_table(columns, rows)
    if truncated:
        typer.echo(
            f"(stopped at the row cap of {settings.cypher_row_cap} rows or the byte cap of "
            f"{settings.cypher_byte_cap:,} bytes)",
            err=True,
        )


@app.command()
@friendly
def index(
    ctx: typer.Context,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Rebuild every index from scratch.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Build missing indexes and update changed ones (capabilities, queries, artifacts, images)."""
    from unfragile.engine.indexer import Indexer

    settings = _settings(ctx)
    with open_graph(settings) as graph:
        reports = Indexer(settings, graph).sync_all(rebuild=rebuild)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports]))
        return
    for r in reports:
        typer.echo(
            f"{r.collection:>12}: {r.total} vectors ({r.index_type}); +{r.added} new, "
            f"{r.updated} updated, -{r.removed} removed in {r.seconds:.1f}s"
        )


@images_app.command("add")
@friendly
def images_add(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Image files.")],
    artifact: Annotated[str, typer.Option(help="The artifact they depict.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Store images (keyed by content hash) linked to an artifact, and index them."""
    from unfragile.engine.indexer import Indexer

    settings = _settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        _require_artifact(graph, artifact)
        ids = Indexer(settings, graph).add_images(paths, artifact)
    if as_json:
        typer.echo(json.dumps({"artifact": artifact, "images": ids}))
    else:
        typer.echo(f"Added {len(ids)} image(s) to {artifact}.")


@probe_app.command("render")
@friendly
def probe_render(
    ctx: typer.Context,
    artifact: Annotated[str, typer.Option(help="An open text-to-image artifact.")],
    prompts: Annotated[Path, typer.Option(help="A file of prompts, one a line.")],
    seed: Annotated[int, typer.Option(help="The seed of the first prompt.")] = 0,
    steps: Annotated[int, typer.Option(min=1, max=200)] = 4,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Render prompts with the artifact's diffusers pipeline; store and index the images."""
    from unfragile.engine.probe import render_samples

    settings = _settings(ctx)
    with open_graph(settings, apply_schema=True) as graph:
        rows = render_samples(settings, graph, artifact, prompts, seed=seed, steps=steps)
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo(f"{row['image'][:12]}  seed {row['seed']}  {row['prompt']}")


@app.command()
@friendly
def search(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="What you need, in words.")] = None,
    image: Annotated[
        Path | None, typer.Option(help="Find artifacts whose images look like this one.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(help="A file of queries, one a line; writes one JSON line per query."),
    ] = None,
    alternatives_to: Annotated[
        str | None, typer.Option("--alternatives-to", help="Artifacts that do what this one does.")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100)] = 10,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    pricing: Annotated[str | None, typer.Option(help="Only this pricing tier.")] = None,
    open_weights: Annotated[
        bool | None,
        typer.Option("--open-weights/--closed-weights", help="Only open (or closed) weights."),
    ] = None,
    modality: Annotated[str | None, typer.Option(help="Only with this modality.")] = None,
    provider: Annotated[str | None, typer.Option(help="Only from this provider.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find artifacts for a need, ranked, with the capability and evidence behind each."""
    from unfragile.engine.search import Filters

    settings = _settings(ctx)
    modes = sum(x is not None for x in (query, image, batch, alternatives_to))
    if modes != 1:
        _fail("give one of: QUERY, --image PATH, --batch FILE or --alternatives-to ID.", 2)
    filters = Filters(
        kind=kind, pricing=pricing, open_weights=open_weights, modality=modality, provider=provider
    )
    filters.check()
    with open_graph(settings) as graph:
        if image is not None:
            from unfragile.engine.indexer import Indexer

            _print_image_results(
                Indexer(settings, graph).search_image(image, top_k), image, as_json
            )
            return
        from unfragile.engine.search import SearchEngine, check_providers

        check_providers(graph, filters)
        engine = SearchEngine(settings, graph)
        if batch is not None:
            _search_batch(engine, batch, top_k, filters)
            return
        if alternatives_to is not None:
            results = engine.alternatives(alternatives_to, top_k, filters)
            shown_query = f"alternatives to {alternatives_to}"
        else:
            results = engine.search(query, top_k, filters)
            shown_query = query
    if as_json:
        typer.echo(json.dumps({"query": shown_query, "results": [r.as_dict() for r in results]}))
        return
    if not results:
        typer.echo("No match. Try other words, or fewer filters.")
    for rank, r in enumerate(results, start=1):
        typer.echo(
            f"{rank:>2}. {r.name} [{r.artifact}, {r.kind}]  score {r.score:.3f}  "
            + " ".join(f"{n} {v:.2f}" for n, v in r.components.items())
        )
        if r.capability:
            typer.echo(f"    capability: {r.capability['title']}")
        for e in r.evidence:
            typer.echo(
                f'    searched as "{e["query"]}" (similarity {e["similarity"]:.2f}, '
                f"{e['sessions']} session{'s' * (e['sessions'] != 1)}, "
                f"{e['clicks']} click{'s' * (e['clicks'] != 1)})"
            )


def _search_batch(engine: Any, path: Path, top_k: int, filters: Any) -> None:
    """One JSON line per input line; a bad line is reported (stderr) and skipped."""
    from unfragile.engine.search import SearchError, check_query

    failures = 0
    try:
        raw_lines = path.read_bytes().splitlines()
    except OSError as e:
        raise InputError(str(path), None, None, f"cannot read it ({e.strerror})") from None
    pending: list[tuple[int, str]] = []

    def flush() -> None:
        if pending:
            answers = engine.search_many([q for _, q in pending], top_k, filters)
            for (_, q), results in zip(pending, answers, strict=True):
                typer.echo(
                    json.dumps(
                        {
                            "query": q,
                            "results": [
                                {
                                    "artifact": r.artifact,
                                    "score": r.score,
                                    "capability": r.capability,
                                    "components": r.components,
                                    "evidence": r.evidence,
                                }
                                for r in results
                            ],
                        }
                    )
                )
            pending.clear()

    for number, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            failures += 1
            typer.echo(f"error: {path}:{number}: not valid UTF-8; skipped", err=True)
            continue
        if not text.strip():
            continue
        try:
            pending.append((number, check_query(text)))
        except SearchError as e:
            failures += 1
            typer.echo(f"error: {path}:{number}: query {e.message}; skipped", err=True)
            continue
        if len(pending) >= 64:
            flush()
    flush()
    if failures:
        raise typer.Exit(2)


def _print_image_results(results: list[dict[str, Any]], image: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"image": str(image), "results": results}))
        return
    if not results:
        typer.echo("No indexed images yet: add some with `unfragile images add`.")
    for rank, r in enumerate(results, start=1):
        typer.echo(f"{rank:>2}. {r['artifact']}  ({r['kind']})  score {r['score']:.3f}")


def _require_artifact(graph: Any, artifact: str) -> None:
    if not graph.read("MATCH (a:Artifact {id: $id}) RETURN a.id AS id", id=artifact):
        raise InputError("--artifact", None, None, f"unknown artifact {artifact!r}")


# -- ranking -------------------------------------------------------------------------------


@app.command()
@friendly
def rank(
    ctx: typer.Context,
    engine: Annotated[
        str,
        typer.Option(
            help="Where PageRank runs: networkx (default) or gds (Neo4j Graph Data Science)."
        ),
    ] = "networkx",
    weights: Annotated[
        Path | None,
        typer.Option(
            help="A TOML file of weights (default: $UNFRAGILE_RANK_WEIGHTS or the "
            "built-in engine/ranking/rank_weights.toml)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Recompute UnfragileRank, sub-scores and ALTERNATIVE_TO edges; write them back."""
    from unfragile.engine.ranking import load_config
    from unfragile.engine.ranking import rank as run_rank

    settings = _settings(ctx)
    config = load_config(weights)
    with open_graph(settings, apply_schema=True) as graph:
        report = run_rank(
            graph, config, engine=engine, settings=settings, batch_size=settings.batch_size
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        typer.echo(
            f"Ranked {report.artifacts} artifacts ({report.matched_artifacts} with "
            f"match evidence from {report.sessions} sessions) with {report.engine} in "
            f"{report.seconds['total']:.1f}s; {report.alternative_edges} ALTERNATIVE_TO "
            f"edges ({report.alternatives_source}); freshness reference "
            f"{report.reference_date}."
        )


@app.command()
@friendly
def leaderboard(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="How many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The best-ranked artifacts, with their interval and sub-scores."""
    from unfragile.engine.records import KINDS
    from unfragile.graph import projection

    if kind is not None and kind not in KINDS:
        _fail(f"--kind {kind!r}: use one of {', '.join(KINDS)}.", 2)
    with open_graph(_settings(ctx)) as graph:
        rows = projection.leaderboard(graph, kind, top)
        if not rows and not projection.ranked_count(graph):
            _fail("nothing is ranked yet: run `unfragile rank` first.", 2)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for n, r in enumerate(rows, start=1):
        typer.echo(
            f"{n:>3}. {r['unfragile_rank']:>3} [{r['rank_low']}-{r['rank_high']}]  "
            f"{r['name']} ({r['id']}, {r['kind']})  adoption {r['adoption']:.0f}  "
            f"quality {r['quality']:.0f} ({r['quality_source']})  ecosystem "
            f"{r['ecosystem']:.0f}  match graph {r['match_graph']:.0f}  freshness "
            f"{r['freshness']:.0f}  matched {r['times_matched']}"
        )


@app.command()
@friendly
def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="An artifact id or name.")],
    b: Annotated[str, typer.Argument(help="Another artifact id or name.")],
    fmt: Annotated[str, typer.Option("--format", help="md (default), json or html.")] = "md",
) -> None:
    """Compare two artifacts: verdict, scores table, capabilities, where to look instead."""
    from unfragile.engine.compare import FORMATS, build_page, render

    if fmt not in FORMATS:
        _fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}.", 2)
    with open_graph(_settings(ctx)) as graph:
        page = build_page(graph, a, b)
    typer.echo(render(page, fmt), nl=False)


def parse_params(items: list[str]) -> dict[str, Any]:
    """`name=value` pairs: JSON values, else the text itself; exit 2 on a value Neo4j cannot
    take (so the driver never fails on it mid-query with a traceback)."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            _fail(f"--param {item!r}: expected name=value with a name of letters, digits, '_'.", 2)
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
        except (RecursionError, ValueError):  # nested too deeply; over 4,300 digits
            _fail(f"--param {name}: the JSON value nests too deeply or has too many digits.", 2)
        problem = _param_problem(params[name])
        if problem:
            _fail(f"--param {name}: {problem}", 2)
    return params


def _param_problem(value: Any) -> str | None:
    """What keeps Neo4j from taking a parameter: an integer past 64 bits, text that is not
    valid Unicode, nesting deeper than any query needs. Walked without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > 64:
            return "the JSON value nests more than 64 levels deep."
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and not -(2**63) <= item < 2**63:
            return f"the integer {item} does not fit in 64 bits (Neo4j's integers)."
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "the text is not valid Unicode (a lone surrogate or a bad byte)."
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def _print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    cells = [
        [
            json.dumps(r.get(c), default=str) if not isinstance(r.get(c), str) else r.get(c)
            for c in columns
        ]
        for r in rows
    ]
    widths = [
        min(60, max([len(c)] + [len(row[i]) for row in cells])) for i, c in enumerate(columns)
    ]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        typer.echo("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)))
    typer.echo(f"({len(rows)} row{'s' * (len(rows) != 1)})", err=True)


# -- the HTTP API ------------------------------------------------------------------------------

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
    _serve(_settings(ctx), host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import socket

    import uvicorn

    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    try:
        config = ApiConfig.from_env()
    except ValueError as e:
        _fail(str(e), 2)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            _fail(f"cannot listen on {host}:{port} ({e.strerror}); pick another --port.", 2)
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
    settings = _settings(ctx)
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


if __name__ == "__main__":
    sys.exit(app())
