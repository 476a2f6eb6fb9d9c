"""What is kept only for a while goes once a day (issue 15): the worker's ``retention`` job,
on the real service and Postgres, deletes QuickBooks notices processed over 30 days ago and
jobs finished over 7 days ago, and keeps everything else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.system_clock import FrozenClock
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from tests.e2e.polling import eventually
from tests.e2e.test_journey import free_port

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC)


@pytest.fixture
async def service(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[Service]:
    http_port = free_port()
    settings = replace(app_settings, public_url=f"http://127.0.0.1:{http_port}")
    service = Service(
        settings, grpc_port=0, http_port=http_port, overrides={"clock": FrozenClock(NOW)}
    )
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def scalars(engine: AsyncEngine, sql: str) -> list[object]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).scalars())


async def run_job(service: Service, task: str, **args: object) -> None:
    """The job queued, then run by the service's worker to its end."""
    assert service.container is not None
    engine: AsyncEngine = service.container.gateways.engine()
    app = service.container.gateways.jobs_app()
    job_id = await app.configure_task(task).defer_async(**args)
    await eventually(
        lambda: scalars(engine, f"SELECT status FROM procrastinate_jobs WHERE id = {job_id}"),
        lambda status: status == ["succeeded"],
    )


async def test_the_daily_retention_forgets_old_notices_and_finished_jobs_only(
    service: Service,
) -> None:
    assert service.container is not None
    engine: AsyncEngine = service.container.gateways.engine()
    async with engine.begin() as conn:
        for key, processed in (
            ("old", NOW - timedelta(days=31)),
            ("recent", NOW - timedelta(days=29)),
            ("pending", None),
        ):
            await conn.execute(
                text(
                    "INSERT INTO accounting_notices (key, entity, entity_id, operation, "
                    "received_at, processed_at, realm_key) VALUES "
                    "(:key, 'Invoice', '1', 'Update', :received, :processed, 'realm-digest')"
                ),
                {"key": key, "received": NOW - timedelta(days=40), "processed": processed},
            )
    # A timeline job with nothing to post, finished 8 days ago once backdated, and one now.
    await run_job(service, "update_deal_timeline", company_id="c", invoice_id="old")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE procrastinate_events SET at = at - interval '8 days' WHERE job_id IN "
                "(SELECT id FROM procrastinate_jobs WHERE task_name = 'update_deal_timeline')"
            )
        )
    await run_job(service, "update_deal_timeline", company_id="c", invoice_id="new")

    await run_job(service, "retention", timestamp=int(time.time()))

    assert sorted(map(str, await scalars(engine, "SELECT key FROM accounting_notices"))) == [
        "pending",
        "recent",
    ]
    kept = await scalars(
        engine,
        "SELECT args->>'invoice_id' FROM procrastinate_jobs "
        "WHERE task_name = 'update_deal_timeline'",
    )
    assert kept == ["new"]
