"""Apply what QuickBooks says changed (webhooks now; CDC and jobs build on the same path)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog

from application.invoices import QUICKBOOKS_ACTOR, InvoiceReader, apply_facts
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.connections import TokenStore
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from application.ports.sync import ChangeNotice, NoticeInbox, NoticeStore
from domain.connection import Vendor

log = structlog.get_logger("dealbooks.sync")
PAYMENT_LOOKBACK = timedelta(minutes=15)
NOTICES_PER_PASS = 1000  # applied together: their invoices read in a few QuickBooks calls


@dataclass(frozen=True, slots=True)
class SyncReport:
    companies: int
    invoices_read: int
    invoices_changed: int


class ApplyAccountingChanges:
    """Read the changed invoices of each company in as few calls as possible, apply the facts."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        token_store: TokenStore,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._tokens = token_store
        self._clock = clock
        self._reader = InvoiceReader(accounting, clock)

    async def execute(self, notices: Sequence[ChangeNotice]) -> SyncReport:
        by_realm: dict[str, set[str]] = defaultdict(set)
        payments: set[str] = set()
        for notice in notices:
            if notice.entity == "Invoice":
                by_realm[notice.realm_id].add(notice.entity_id)
            elif notice.entity == "Payment":
                by_realm.setdefault(notice.realm_id, set())
                payments.add(notice.realm_id)
        read = changed = companies = 0
        for realm_id, invoice_ids in by_realm.items():
            connection = await self._tokens.load_by_external_id(Vendor.QUICKBOOKS, realm_id)
            if connection is None:
                log.info("sync.unknown_realm", realm_id=realm_id)
                continue
            company_id = connection.company_id
            companies += 1
            ids = set(invoice_ids)
            if realm_id in payments:
                # A payment names its invoices only in its own lines: ask QuickBooks what
                # changed lately instead of reading each payment.
                since = self._clock.now() - PAYMENT_LOOKBACK
                recent = await self._accounting.changes_since(company_id, since)
                ids.update(recent.payment_invoice_ids)
                ids.update(i.id for i in recent.invoices)
            n_read, n_changed = await self.apply(company_id, sorted(ids))
            read += n_read
            changed += n_changed
        return SyncReport(companies=companies, invoices_read=read, invoices_changed=changed)

    async def apply(self, company_id: str, quickbooks_ids: Sequence[str]) -> tuple[int, int]:
        """Apply the current facts of these QuickBooks invoices (those dealbooks knows)."""
        async with self._uow_factory() as uow:
            known = await uow.invoices.find_by_quickbooks_ids(company_id, quickbooks_ids)
        ids = [i.quickbooks_id for i in known if i.quickbooks_id]
        if not ids:
            return 0, 0
        facts = await self._accounting.get_invoices(company_id, ids)
        today = await self._reader.today(company_id)
        now = self._clock.now()
        changed = 0
        async with self._uow_factory() as uow:
            for invoice in await uow.invoices.find_by_quickbooks_ids(company_id, ids):
                assert invoice.quickbooks_id is not None
                if apply_facts(invoice, facts.get(invoice.quickbooks_id), today=today, now=now):
                    changed += 1
                await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
            await uow.commit()
        log.info("sync.applied", company_id=company_id, read=len(ids), changed=changed)
        return len(ids), changed


class RecordChangeNotices:
    """Webhook side: keep each notice once with its processing queued. Fast: no QuickBooks call;
    it returns once the new notices and their job are committed."""

    def __init__(self, inbox: NoticeInbox, clock: Clock) -> None:
        self._inbox = inbox
        self._clock = clock

    async def execute(self, notices: Sequence[ChangeNotice]) -> int:
        new = await self._inbox.accept(notices, self._clock.now())
        # On the request's one log line (this runs for every webhook delivery).
        structlog.contextvars.bind_contextvars(notices=len(notices), new_notices=len(new))
        return len(new)


class ProcessChangeNotices:
    """Job side: apply every notice of the realm still pending, then mark them processed (a
    retry re-applies). Notices recorded while it runs have a job of their own waiting."""

    def __init__(self, notices: NoticeStore, apply: ApplyAccountingChanges, clock: Clock) -> None:
        self._notices = notices
        self._apply = apply
        self._clock = clock

    async def execute(self, realm_id: str) -> SyncReport:
        companies = read = changed = 0
        while True:
            notices = await self._notices.pending(realm_id, NOTICES_PER_PASS)
            if not notices:
                break
            report = await self._apply.execute(notices)
            await self._notices.mark_processed([n.key for n in notices], self._clock.now())
            companies = max(companies, report.companies)
            read += report.invoices_read
            changed += report.invoices_changed
            if len(notices) < NOTICES_PER_PASS:
                break
        return SyncReport(companies=companies, invoices_read=read, invoices_changed=changed)


CDC_WINDOW = timedelta(days=29)  # QuickBooks answers CDC for the last 30 days
FIRST_LOOKBACK = timedelta(hours=1)


class CatchUpCompany:
    """CDC catch-up for one company: what changed since the watermark, applied, and only then
    the watermark advanced. A gap longer than CDC's window reconciles every open invoice."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        notices: NoticeStore,
        apply: ApplyAccountingChanges,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._notices = notices
        self._apply = apply
        self._clock = clock

    async def execute(self, company_id: str) -> SyncReport:
        now = self._clock.now()
        since = await self._notices.watermark(company_id) or now - FIRST_LOOKBACK
        if now - since > CDC_WINDOW:
            ids = await self._open_invoice_ids(company_id)
            as_of = now
            log.warning("sync.full_reconciliation", company_id=company_id, invoices=len(ids))
        else:
            changes = await self._accounting.changes_since(company_id, since)
            ids = sorted(
                {i.id for i in changes.invoices}
                | set(changes.deleted_invoice_ids)
                | set(changes.payment_invoice_ids)
            )
            as_of = changes.as_of
        read, changed = await self._apply.apply(company_id, ids) if ids else (0, 0)
        await self._notices.set_watermark(company_id, as_of)
        return SyncReport(companies=1, invoices_read=read, invoices_changed=changed)

    async def _open_invoice_ids(self, company_id: str) -> list[str]:
        async with self._uow_factory() as uow:
            invoices = await uow.invoices.list_unsettled(company_id)
        return [i.quickbooks_id for i in invoices if i.quickbooks_id]


class SweepStuckCreations:
    """Queue a finishing job for every invoice left CREATING, and a follow-up job for every deal
    follow-up left unfinished (crash, outage, lost job)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, jobs: JobQueue, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._jobs = jobs
        self._clock = clock

    async def execute(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        async with self._uow_factory() as uow:
            stuck = await uow.invoices.list_creating(
                older_than=self._clock.now() - older_than, limit=500
            )
            follow_ups = await uow.deal_follow_ups.list_unfinished(
                older_than=self._clock.now() - older_than, limit=500
            )
        for invoice in stuck:
            await self._jobs.finish_creation(invoice.company_id, invoice.id)
        for follow_up in follow_ups:
            await self._jobs.follow_up_on_deal(follow_up.company_id, follow_up.invoice_id)
        return len(stuck) + len(follow_ups)


class RecordOverdueInvoices:
    """Invoices whose due date passed in the company's time zone become OVERDUE with a history
    event, whether or not QuickBooks says anything (it never does: overdue is our rule)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        accounting: AccountingGateway,
        token_store: TokenStore,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._tokens = token_store
        self._clock = clock
        self._reader = InvoiceReader(accounting, clock)

    async def execute(self) -> int:
        recorded = 0
        for company_id in await self._tokens.connected_companies(Vendor.QUICKBOOKS):
            today = await self._reader.today(company_id)
            now = self._clock.now()
            async with self._uow_factory() as uow:
                for invoice in await uow.invoices.list_unsettled(company_id):
                    if invoice.record_overdue(today, now):
                        await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
                        recorded += 1
                await uow.commit()
        if recorded:
            log.info("sync.overdue_recorded", invoices=recorded)
        return recorded
