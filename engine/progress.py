"""Progress bars for long work: shown on a terminal, silent when output is piped."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


def progress(total: int | None = None, desc: str = "", enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr, disabled unless stderr is a terminal (and `enabled`)."""
    return tqdm(
        total=total,
        desc=desc,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        disable=not (enabled and sys.stderr.isatty()),
        **kwargs,
    )
