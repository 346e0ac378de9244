"""The `unfragile` typer app: its command groups, the --home callback and `friendly`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from unfragile.api.failures import INTERRUPTED, failure, known
from unfragile.engine.errors import InvalidInput, SettingsError
from unfragile.engine.settings import Settings

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


def get_settings(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj


def fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly(fn: F) -> F:
    """Turn the errors a person can cause into one message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            fail(
                "interrupted. Batches already written are complete; run the same command "
                "again to finish.",
                INTERRUPTED,
            )
        except Exception as e:
            if not known(e):  # a bug, not a person's doing: the traceback helps
                raise
            # Input refused by a command that writes is refused whole: say so.
            writes = isinstance(e, InvalidInput) and e.writes
            fail(f"{e}\nNothing was written." if writes else str(e), failure(e).exit_code)

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
        fail(str(e), failure(e).exit_code)
    if home is not None:
        settings = settings.with_(home=home.expanduser())
    ctx.obj = settings
