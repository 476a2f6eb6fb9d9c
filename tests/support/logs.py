"""Every log line as the deployed JSON, into a file: for tests that read what was logged."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from entrypoints.log_config import configure_logging


@contextmanager
def logs_into(path: Path, level: str) -> Iterator[Path]:
    """Log at ``level`` and up into ``path`` (set before a service starts, every logger it
    makes writes there), then back to what tests/conftest.py sets."""
    with path.open("w", encoding="utf-8") as handle:
        stdout, sys.stdout = sys.stdout, handle
        try:
            configure_logging(level, "json", cache=False)
        finally:
            sys.stdout = stdout
        yield path
        configure_logging("WARNING", "json", cache=False)
