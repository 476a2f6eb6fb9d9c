"""The resilience suite: the running system attacked the way production will attack it.

`make test` runs it at SHORT scale, `make soak` at FULL (DEALBOOKS_SOAK=1). Each scenario records
its counts in a tally; the table is printed at the end of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.settings import AppSettings
from tests.e2e.conftest import app_settings  # noqa: F401 - the e2e settings fixture, reused
from tests.resilience.support import SCALE, SOAK, Scale, Stack

#: scenario -> figure -> value, in the order the tests record them.
TALLIES: dict[str, dict[str, Any]] = {}


class Tally:
    def __init__(self, scenario: str) -> None:
        self._figures = TALLIES.setdefault(scenario, {})

    def __setitem__(self, figure: str, value: Any) -> None:
        self._figures[figure] = value


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    return Tally(request.node.module.SCENARIO)


@pytest.fixture
def scale() -> Scale:
    return SCALE


@pytest.fixture
async def stack(
    app_settings: AppSettings,  # noqa: F811
    pg_engine: AsyncEngine,
    database_url: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    running = Stack(app_settings, database_url, pg_engine, tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    tallies = {scenario: figures for scenario, figures in TALLIES.items() if figures}
    if not tallies:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"resilience counts ({'soak' if SOAK else 'short'} scale)")
    width = max(len(f) for figures in tallies.values() for f in figures) + 2
    for scenario, figures in tallies.items():
        write(f"{scenario}")
        for figure, value in figures.items():
            write(f"  {figure:<{width}}{value}")
