"""The `unfragile` command: database lifecycle, ingest, imports, search, ranking and the API."""

from unfragile.api.cli.main import app

# Importing a command module registers its commands on `app`; `unfragile --help` lists them in
# this order, so the imports keep it rather than the alphabet.
# isort: off
from unfragile.api.cli import data  # noqa: E402,F401
from unfragile.api.cli import import_hub  # noqa: E402,F401
from unfragile.api.cli import import_registry  # noqa: E402,F401
from unfragile.api.cli import cypher  # noqa: E402,F401
from unfragile.api.cli import search  # noqa: E402,F401
from unfragile.api.cli import train  # noqa: E402,F401
from unfragile.api.cli import rank  # noqa: E402,F401
from unfragile.api.cli import serve  # noqa: E402,F401
from unfragile.api.cli import db  # noqa: E402,F401
from unfragile.api.cli import images  # noqa: E402,F401

# isort: on

__all__ = ["app"]
