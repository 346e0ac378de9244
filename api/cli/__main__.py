"""`python -m unfragile.api.cli`: the same command as `unfragile`."""

import sys

from unfragile.api.cli import app

if __name__ == "__main__":
    sys.exit(app())
