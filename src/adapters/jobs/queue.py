"""The procrastinate App over our Postgres, its schema, and the JobQueue it implements."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import procrastinate
import psycopg
import structlog
from procrastinate import jobs as procrastinate_jobs
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.manager import JobManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import libpq_url

log = structlog.get_logger("dealbooks.jobs")

_SCHEMA_LOCK = 0x6A6F6273  # "jobs"


class SupersedingJobManager(JobManager):
    """procrastinate's job manager, except that a failed job gives way to a newer job queued
    for the same work while it ran: its retry would violate the queueing lock, and
    procrastinate would leave it 'doing' for ever, holding its lock, so that the newer job
    never started either (an invoice stuck in CREATING)."""

    async def retry_job(
        self,
        job: procrastinate_jobs.Job,
        retry_at: datetime | None = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        try:
            await super().retry_job(job, retry_at, priority=priority, queue=queue, lock=lock)
        except UniqueViolation:
            await self.finish_job(job, status=procrastinate_jobs.Status.FAILED, delete_job=False)
            log.info("jobs.retry_superseded", job_id=job.id, task=job.task_name)


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    # For the async pool only (the app is opened with open_async): a sync pool would not await
    # it, and its connections would silently keep psycopg's transactions.
    await connection.set_autocommit(True)


def build_app(database_url: str, *, pool_size: int = 10) -> procrastinate.App:
    """Each of procrastinate's queries is one statement (a call of its SQL functions), atomic by
    itself: its pool's connections are in autocommit. psycopg's default would wrap every query
    in BEGIN ... COMMIT, two more round trips each (about 10 a created invoice: its jobs'
    defer, fetch and finish). Set by ``configure`` since procrastinate opens its LISTEN
    connection with the pool's arguments and ``autocommit=True`` of its own."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        min_size=1,
        max_size=pool_size,
        configure=_autocommit,
    )
    app = procrastinate.App(connector=connector)
    # Before any task is registered: tasks keep the manager they were created with.
    app.job_manager = SupersedingJobManager(connector)
    return app


async def apply_schema(app: procrastinate.App, engine: AsyncEngine) -> None:
    """Install procrastinate's tables once (an advisory lock keeps concurrent starts apart)."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
        exists = (
            await conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        ).scalar_one()
        if not exists:
            # Many statements: send them through the driver's simple-query protocol.
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute(app.schema_manager.get_schema())  # type: ignore[union-attr]


class ProcrastinateJobQueue:
    def __init__(self, app: procrastinate.App) -> None:
        self._app = app
        self._queueing: set[asyncio.Task[None]] = set()

    async def _defer(
        self, task: str, queue: str, lock: str, queueing_lock: str, **args: str
    ) -> None:
        deferrer = self._app.configure_task(
            task, queue=queue, lock=lock, queueing_lock=queueing_lock
        )
        with contextlib.suppress(AlreadyEnqueued):  # one job waiting for the same work is enough
            await deferrer.defer_async(**args)

    async def finish_creation(
        self, company_id: str, invoice_id: str, batch_request_id: str | None = None
    ) -> None:
        key = f"batch-{batch_request_id}" if batch_request_id else f"invoice-{invoice_id}"
        await self._defer(
            "finish_invoice_creation",
            "invoices",
            lock=key,
            queueing_lock=f"finish-{key}",
            company_id=company_id,
            invoice_id=invoice_id,
        )

    async def run_invoice_rule(self, company_id: str, rule_id: str, deal_id: str) -> None:
        # Awaited (not in the background): the webhook is answered once the job is durable.
        lock = f"rule-run-{company_id}-{rule_id}-{deal_id}"
        await self._defer(
            "run_invoice_rule",
            "invoices",
            lock,
            lock,
            company_id=company_id,
            rule_id=rule_id,
            deal_id=deal_id,
        )

    async def subscribe_crm_webhooks(self, company_id: str) -> None:
        lock = f"crm-webhooks-{company_id}"  # never two at once: they would both subscribe
        await self._defer("subscribe_crm_webhooks", "crm", lock, lock, company_id=company_id)

    async def update_deal_timeline(self, company_id: str, invoice_id: str) -> None:
        """Queued in the background, as a follow-up is (the entries are committed: the sweep
        queues a job for any left unfinished). It shares the follow-up's lock: both post the
        invoice's timeline entries, which must never be posted by two runs at once."""
        task = asyncio.create_task(self._defer_timeline(company_id, invoice_id))
        self._queueing.add(task)
        task.add_done_callback(self._queueing.discard)

    async def _defer_timeline(self, company_id: str, invoice_id: str) -> None:
        try:
            await self._defer(
                "update_deal_timeline",
                "invoices",
                f"deal-follow-up-{invoice_id}",
                f"deal-timeline-{invoice_id}",
                company_id=company_id,
                invoice_id=invoice_id,
            )
        except Exception:  # the sweep queues it again; say why it had to
            log.exception(
                "jobs.queueing_failed", task="update_deal_timeline", invoice_id=invoice_id
            )

    async def update_deal_fields(self, company_id: str, deal_id: str) -> None:
        """Queued in the background, after the commit of the change. Lock and queueing lock per
        deal: one job runs and one waits at most, so a burst of changes makes one write."""
        task = asyncio.create_task(self._defer_deal_fields(company_id, deal_id))
        self._queueing.add(task)
        task.add_done_callback(self._queueing.discard)

    async def _defer_deal_fields(self, company_id: str, deal_id: str) -> None:
        lock = f"deal-fields-{company_id}-{deal_id}"
        try:
            await self._defer(
                "update_deal_fields", "crm", lock, lock, company_id=company_id, deal_id=deal_id
            )
        except Exception:  # the deal's next change queues it again; say why it was lost
            log.exception("jobs.queueing_failed", task="update_deal_fields", deal_id=deal_id)

    async def create_deal_fields(self, company_id: str) -> None:
        lock = f"create-deal-fields-{company_id}"  # never two at once: both would create them
        await self._defer("create_deal_fields", "crm", lock, lock, company_id=company_id)

    async def purge_company(self, company_id: str) -> None:
        lock = f"purge-{company_id}"
        await self._defer("purge_company", "purge", lock, lock, company_id=company_id)

    async def follow_up_on_deal(self, company_id: str, invoice_id: str) -> None:
        """Queued in the background: the caller already committed the follow-up, so the answer
        to the user does not wait for this insert, and a queueing lost to a crash is the
        sweep's to redo (it queues every follow-up left unfinished)."""
        task = asyncio.create_task(self._defer_follow_up(company_id, invoice_id))
        self._queueing.add(task)
        task.add_done_callback(self._queueing.discard)

    async def _defer_follow_up(self, company_id: str, invoice_id: str) -> None:
        lock = f"deal-follow-up-{invoice_id}"
        try:
            await self._defer(
                "follow_up_on_deal",
                "invoices",
                lock,
                lock,
                company_id=company_id,
                invoice_id=invoice_id,
            )
        except Exception:  # the sweep queues it again; say why it had to
            log.exception("jobs.queueing_failed", task="follow_up_on_deal", invoice_id=invoice_id)

    async def drain(self) -> None:
        """Wait for the background queueing still under way (before the app closes)."""
        if self._queueing:
            await asyncio.gather(*self._queueing, return_exceptions=True)
