"""The procrastinate job queue on a real Postgres: what our job manager adds to procrastinate's."""

from __future__ import annotations

import pytest
from procrastinate import PsycopgConnector, RetryStrategy
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.jobs.queue import apply_schema, build_app

pytestmark = pytest.mark.integration


async def test_a_failed_job_gives_way_to_the_job_queued_for_the_same_work_while_it_ran(
    pg_engine: AsyncEngine, database_url: str
) -> None:
    app = build_app(database_url)
    await apply_schema(app, pg_engine)
    ran: list[int] = []

    @app.task(name="finish_something", queue="test", retry=RetryStrategy(max_attempts=5))
    async def finish_something(attempt: int) -> None:
        ran.append(attempt)
        if attempt == 1:
            # While this one runs, the same work is queued again (the sweep, a replayed request):
            # 'todo' is free, since this one is 'doing'. Then this one fails, to be retried.
            await finish_something.configure(lock="work", queueing_lock="work").defer_async(
                attempt=2
            )
            raise RuntimeError("QuickBooks is away")

    async with app.open_async():
        await finish_something.configure(lock="work", queueing_lock="work").defer_async(attempt=1)
        await app.run_worker_async(queues=["test"], wait=False, install_signal_handlers=False)
    async with pg_engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT args->>'attempt', status FROM procrastinate_jobs "
                "WHERE task_name = 'finish_something'"
            )
        )
        statuses = {str(attempt): str(status) for attempt, status in rows}
    # The first job did not stay 'doing' (holding the lock, the second could never start): it
    # gave way, and the second one did the work.
    assert statuses == {"1": "failed", "2": "succeeded"}
    assert ran == [1, 2]


async def test_procrastinates_queries_run_outside_a_transaction(
    pg_engine: AsyncEngine, database_url: str
) -> None:
    """Each of procrastinate's queries is one statement: no BEGIN/COMMIT around it."""
    app = build_app(database_url)
    await apply_schema(app, pg_engine)
    async with app.open_async():
        connector = app.connector
        assert isinstance(connector, PsycopgConnector)
        async with connector.pool.connection() as conn:
            await conn.execute("SELECT 1")
            assert conn.autocommit
            assert conn.info.transaction_status is TransactionStatus.IDLE
