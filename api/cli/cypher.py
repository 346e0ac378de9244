"""`unfragile cypher`: read-only Cypher, ad hoc, from a file or a saved exploration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from unfragile.api.cli.main import app, fail, friendly, get_settings


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
    from unfragile.engine.db import open_graph

    settings = get_settings(ctx)
    if [query, file, saved].count(None) != 2:
        fail("give one of a QUERY, --file PATH or --saved NAME.", 2)
    params = parse_params(param or [])
    if saved is not None:
        exploration = explore.get(saved)
        query, params = exploration.text, exploration.bind(params)
    if file is not None:
        try:
            query = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            fail(f"{file}: cannot read it ({e.__class__.__name__}).", 2)
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


def parse_params(items: list[str]) -> dict[str, Any]:
    """`name=value` pairs: JSON values, else the text itself; exit 2 on a value Neo4j cannot
    take (so the driver never fails on it mid-query with a traceback)."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            fail(f"--param {item!r}: expected name=value with a name of letters, digits, '_'.", 2)
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
        except (RecursionError, ValueError):  # nested too deeply; over 4,300 digits
            fail(f"--param {name}: the JSON value nests too deeply or has too many digits.", 2)
        problem = _param_problem(params[name])
        if problem:
            fail(f"--param {name}: {problem}", 2)
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
        [v if isinstance(v := r.get(c), str) else json.dumps(v, default=str) for c in columns]
        for r in rows
    ]
    widths = [
        min(60, max([len(c)] + [len(row[i]) for row in cells])) for i, c in enumerate(columns)
    ]
    typer.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        typer.echo("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)))
    typer.echo(f"({len(rows)} row{'s' * (len(rows) != 1)})", err=True)
