"""The deployment's metered QuickBooks reads, counted by every process into one Postgres row a
month: what each process asks before an optional read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.read_budget import PostgresReadBudget
from adapters.system_clock import FrozenClock

pytestmark = pytest.mark.integration


async def test_two_processes_share_the_months_count_and_the_month_turns(
    pg_engine: AsyncEngine,
) -> None:
    clock = FrozenClock(datetime(2026, 4, 30, 23, 0, tzinfo=UTC))
    serve = PostgresReadBudget(pg_engine, clock, quota=10, reserve=0.2)
    worker = PostgresReadBudget(pg_engine, clock, quota=10, reserve=0.2)
    for _ in range(5):
        serve.count()
    assert await worker.used() == 0  # being added in the background
    assert await serve.used() == 5
    for _ in range(2):
        worker.count()
    assert await worker.used() == 7
    assert await serve.used() == 7
    assert not await worker.rationed()

    worker.count()
    await worker.close()
    assert await serve.rationed()  # 8 of 10: the reserve is reached, for every process

    clock.advance(timedelta(hours=2))  # May (UTC)
    assert await serve.used() == 0
    assert not await serve.rationed()
