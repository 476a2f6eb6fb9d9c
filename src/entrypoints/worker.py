"""The procrastinate tasks: each handler calls a use case (built by the composition root)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from procrastinate import App, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from application.crm_events import CheckAllCrmWebhooks, SubscribeCrmWebhooks
from application.deal_fields import CreateDealFields, UpdateDealFields
from application.installation import PurgeCompany, QueueDuePurges
from application.invoicing.by_rule import QueuePendingRuleRuns, RunInvoiceRule
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.follow_up import FollowUpOnDeal
from application.invoicing.installments import CreateDueInstallments
from application.ports.connections import TokenStore
from application.sync import (
    CATCH_UP_EVERY,
    CatchUpCompany,
    ForgetOldNotices,
    ProcessChangeNotices,
    RecordOverdueInvoices,
    SweepStuckCreations,
    due_for_catch_up,
)
from application.timeline import UpdateDealTimeline
from domain.connection import Vendor
from domain.invoice import InvoiceState

log = structlog.get_logger("dealbooks.worker")

JOBS_KEPT_HOURS = 7 * 24  # a finished job, for looking into what happened last week
FAILED_JOBS_KEPT_HOURS = 30 * 24


class StillCreatingError(Exception):
    """QuickBooks could not take the invoice yet; the job is retried with backoff."""


async def retry_stalled_jobs(app: App, seconds_since_heartbeat: float = 30) -> int:
    """Jobs of a worker that died (SIGKILL) are found by its missing heartbeat and retried."""
    manager = app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    for job in stalled:
        # When the sweep already queued a job for the same invoice (same queueing lock), the job
        # manager (adapters.jobs.queue.SupersedingJobManager) finishes this one instead.
        await manager.retry_job(job)
    return len(stalled)


def register_tasks(
    app: App,
    *,
    finish: FinishInvoiceCreation,
    follow_up: FollowUpOnDeal,
    timeline: UpdateDealTimeline,
    deal_fields: UpdateDealFields,
    create_deal_fields: CreateDealFields,
    process_notices: ProcessChangeNotices,
    catch_up: CatchUpCompany,
    sweep: SweepStuckCreations,
    overdue: RecordOverdueInvoices,
    forget_notices: ForgetOldNotices,
    subscribe_webhooks: SubscribeCrmWebhooks,
    check_webhooks: CheckAllCrmWebhooks,
    run_rule: RunInvoiceRule,
    queue_rule_runs: QueuePendingRuleRuns,
    queue_purges: QueueDuePurges,
    purge: PurgeCompany,
    on_purged: Callable[[], None],
    token_store: TokenStore,
    installments: CreateDueInstallments,
    cdc_minutes: int,
    catch_up_every: timedelta = CATCH_UP_EVERY,
) -> None:
    """``on_purged`` counts each company whose data a purge job forgot (the metric)."""
    # Attempts 1, 6, 11 ... 56 s apart (about 6 minutes in all); after that the minute sweep
    # queues a new job for anything still CREATING: a long outage never loses an invoice.
    backoff = RetryStrategy(max_attempts=12, wait=1, linear_wait=5)

    @app.task(name="finish_invoice_creation", retry=backoff, queue="invoices")
    async def finish_invoice_creation(company_id: str, invoice_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="finish_invoice_creation"):
            invoice = await finish.execute(company_id, invoice_id)
            if invoice.state is InvoiceState.CREATING:
                raise StillCreatingError(invoice_id)

    @app.task(name="follow_up_on_deal", retry=backoff, queue="invoices")
    async def follow_up_on_deal(company_id: str, invoice_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="follow_up_on_deal"):
            await follow_up.execute(company_id, invoice_id)

    # Lock and queueing lock "rule-run-<company>-<rule>-<deal>" (adapters/jobs/queue.py). A
    # retry (or a copy after a worker died) creates nothing twice: the invoice's request id is
    # the run's (RunInvoiceRule).
    @app.task(name="run_invoice_rule", retry=backoff, queue="invoices")
    async def run_invoice_rule(company_id: str, rule_id: str, deal_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="run_invoice_rule"):
            await run_rule.execute(company_id, rule_id, deal_id)

    # Lock "deal-follow-up-<invoice>", shared with the follow-up: never two posting at once.
    @app.task(name="update_deal_timeline", retry=backoff, queue="invoices")
    async def update_deal_timeline(company_id: str, invoice_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="update_deal_timeline"):
            await timeline.execute(company_id, invoice_id)

    # Lock and queueing lock "deal-fields-<company>-<deal>" (adapters/jobs/queue.py).
    @app.task(name="update_deal_fields", retry=backoff, queue="crm")
    async def update_deal_fields(company_id: str, deal_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="update_deal_fields"):
            await deal_fields.execute(company_id, deal_id)

    @app.task(
        name="create_deal_fields",
        retry=RetryStrategy(max_attempts=10, wait=5, linear_wait=30),
        queue="crm",
    )
    async def create_deal_fields_task(company_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="create_deal_fields"):
            await create_deal_fields.execute(company_id)

    # Queued by the NoticeInbox (adapters/jobs/inbox.py: lock "realm-<key>", queueing lock
    # "notices-<key>", the key a digest of the realm). ``keys``: jobs queued before one job
    # applied a realm's every pending notice still carry theirs; they are among the pending ones.
    @app.task(name="apply_quickbooks_changes", retry=backoff, queue="sync")
    async def apply_quickbooks_changes(realm_key: str, keys: list[str] | None = None) -> None:
        with structlog.contextvars.bound_contextvars(job="apply_quickbooks_changes"):
            await process_notices.execute(realm_key)

    @app.task(name="catch_up_company", retry=RetryStrategy(max_attempts=3, wait=30), queue="sync")
    async def catch_up_company(company_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="catch_up_company"):
            report = await catch_up.execute(company_id)
            log.info("sync.caught_up", company_id=company_id, changed=report.invoices_changed)

    @app.periodic(cron=f"*/{cdc_minutes} * * * *", periodic_id="cdc")
    @app.task(name="schedule_catch_up", queue="sync", queueing_lock="schedule_catch_up")
    async def schedule_catch_up(timestamp: int) -> None:
        connected = await token_store.connected_companies(Vendor.QUICKBOOKS)
        tick_start = datetime.fromtimestamp(timestamp, UTC)
        tick = timedelta(minutes=cdc_minutes)
        for company_id in due_for_catch_up(connected, tick_start, tick=tick, every=catch_up_every):
            with contextlib.suppress(AlreadyEnqueued):  # the previous one is still pending
                await catch_up_company.configure(
                    lock=f"cdc-{company_id}", queueing_lock=f"cdc-{company_id}"
                ).defer_async(company_id=company_id)

    @app.periodic(cron="* * * * *", periodic_id="sweep")
    @app.task(name="sweep", queue="sync", queueing_lock="sweep")
    async def sweep_stuck(timestamp: int) -> None:
        queued = await sweep.execute()
        rule_runs = await queue_rule_runs.execute()
        retried = await retry_stalled_jobs(app)
        if queued or retried or rule_runs:
            log.info(
                "sync.swept", creations=queued, rule_runs=rule_runs, stalled_jobs_retried=retried
            )

    # Each installment's invoice on its date: every 10 minutes the due ones are created, each
    # under its installment's request id (exactly once, however often this runs).
    @app.periodic(cron="*/10 * * * *", periodic_id="installments")
    @app.task(name="create_due_installments", queue="invoices", queueing_lock="installments")
    async def create_due_installments(timestamp: int) -> None:
        created = await installments.execute()
        if created:
            log.info("installments.invoiced", invoices=created)

    @app.periodic(cron="7 * * * *", periodic_id="overdue")
    @app.task(name="record_overdue", queue="sync", queueing_lock="record_overdue")
    async def record_overdue(timestamp: int) -> None:
        await overdue.execute()

    # What is kept only for a while is deleted once a day: processed QuickBooks notices after
    # 30 days (ForgetOldNotices), finished jobs after 7 days, and failed, cancelled or aborted
    # ones after 30 (procrastinate's own deletion, as its documentation advises): otherwise
    # both tables grow by every notice and job the deployment ever had (a minute sweep alone is
    # 43,200 jobs a month).
    @app.periodic(cron="17 4 * * *", periodic_id="retention")
    @app.task(name="retention", queue="sync", queueing_lock="retention")
    async def retention(timestamp: int) -> None:
        notices = await forget_notices.execute()
        await app.job_manager.delete_old_jobs(nb_hours=JOBS_KEPT_HOURS)
        await app.job_manager.delete_old_jobs(
            nb_hours=FAILED_JOBS_KEPT_HOURS,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )
        log.info("retention.done", notices_forgotten=notices)

    # 5, 35, 65 ... 275 s apart (about 23 minutes in all); after that the daily check below
    # queues it again. Pipedrive being down during an install never loses the subscriptions.
    @app.task(
        name="subscribe_crm_webhooks",
        retry=RetryStrategy(max_attempts=10, wait=5, linear_wait=30),
        queue="crm",
    )
    async def subscribe_crm_webhooks(company_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="subscribe_crm_webhooks"):
            await subscribe_webhooks.execute(company_id)

    # Pipedrive deletes a webhook after 3 days of failed deliveries (and an outage can outlast a
    # job's retries): once a day every installed company's subscriptions are checked (10 tokens).
    @app.periodic(cron="23 3 * * *", periodic_id="crm_webhooks")
    @app.task(name="check_crm_webhooks", queue="crm", queueing_lock="check_crm_webhooks")
    async def check_crm_webhooks(timestamp: int) -> None:
        queued = await check_webhooks.execute()
        log.info("crm.webhook_checks_queued", companies=queued)

    # A company's data is forgotten once its purge is due (DEALBOOKS_PURGE_AFTER_DAYS after its
    # last user uninstalled): every hour the due ones get a job each, retried with backoff; a
    # failing one is queued again the next hour.
    @app.periodic(cron="41 * * * *", periodic_id="purges")
    @app.task(name="schedule_purges", queue="purge", queueing_lock="schedule_purges")
    async def schedule_purges(timestamp: int) -> None:
        queued = await queue_purges.execute()
        if queued:
            log.info("company.purges_queued", companies=queued)

    @app.task(name="purge_company", retry=RetryStrategy(max_attempts=5, wait=30), queue="purge")
    async def purge_company(company_id: str) -> None:
        with structlog.contextvars.bound_contextvars(job="purge_company"):
            if await purge.execute(company_id):
                on_purged()
