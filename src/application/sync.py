"""Apply what QuickBooks says changed (webhooks now; CDC and jobs build on the same path)."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog

from application.deal_fields import queue_deal_fields
from application.invoicing.calendar import today_of
from application.invoicing.facts import apply_facts
from application.invoicing.stored import QUICKBOOKS_ACTOR
from application.ports.accounting import AccountingChanges, AccountingGateway, AccountingInvoice
from application.ports.clock import Clock
from application.ports.connections import TokenStore
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from application.ports.sync import ChangeNotice, NoticeInbox, NoticeStore
from application.timeline import record_timeline, timeline_policy
from domain.connection import Vendor

log = structlog.get_logger("dealbooks.sync")
PAYMENT_LOOKBACK = timedelta(minutes=15)  # a payment notice without a time
PAYMENT_MARGIN = timedelta(minutes=1)  # before a payment's time, for QuickBooks' own ordering
NOTICES_PER_PASS = 1000  # applied together: their invoices read in a few QuickBooks calls


def facts_of(changes: AccountingChanges) -> dict[str, AccountingInvoice | None]:
    """The facts CDC sent, by QuickBooks id (None: deleted)."""
    return {i.id: i for i in changes.invoices} | dict.fromkeys(changes.deleted_invoice_ids)


@dataclass(frozen=True, slots=True)
class SyncReport:
    companies: int
    invoices_read: int
    invoices_changed: int


@dataclass(frozen=True, slots=True)
class ApplyAccountingChanges:
    """Apply what QuickBooks says changed to the invoices dealbooks knows, reading as little as
    possible: facts QuickBooks already sent (CDC) are used as they are, the rest is read in one
    query per 1,000 invoices, and only invoices whose facts changed are written."""

    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    token_store: TokenStore
    clock: Clock
    _: KW_ONLY
    jobs: JobQueue | None = None  # queues the deal timeline's entries (None: the sweep does)

    async def execute(self, notices: Sequence[ChangeNotice]) -> SyncReport:
        by_realm: dict[str, list[ChangeNotice]] = defaultdict(list)
        for notice in notices:
            if notice.entity in ("Invoice", "Payment"):
                by_realm[notice.realm_id].append(notice)
        read = changed = companies = 0
        for realm_id, realm_notices in by_realm.items():
            connection = await self.token_store.load_by_external_id(Vendor.QUICKBOOKS, realm_id)
            if connection is None:
                log.info("sync.unknown_realm", realm_id=realm_id)
                continue
            companies += 1
            n_read, n_changed = await self._apply_notices(connection.company_id, realm_notices)
            read += n_read
            changed += n_changed
        return SyncReport(companies=companies, invoices_read=read, invoices_changed=changed)

    async def _apply_notices(
        self, company_id: str, notices: Sequence[ChangeNotice]
    ) -> tuple[int, int]:
        invoices = [n for n in notices if n.entity == "Invoice"]
        payments = [n for n in notices if n.entity == "Payment"]
        wanted = {n.entity_id for n in invoices}
        # An invoice dealbooks created comes back as a Create notice: QuickBooks' answer to the
        # create already said all there is (a later change has a notice of its own).
        created = wanted - {n.entity_id for n in invoices if n.operation != "Create"}
        facts: dict[str, AccountingInvoice | None] = {}
        if payments:
            # A payment names its invoices only in its own lines: ask QuickBooks what changed
            # since the payments (CDC), which also says how those invoices stand now.
            times = [n.occurred_at for n in payments if n.occurred_at is not None]
            since = min(times) - PAYMENT_MARGIN if times else self.clock.now() - PAYMENT_LOOKBACK
            recent = await self.accounting.changes_since(company_id, since)
            facts = facts_of(recent)
            wanted |= set(recent.payment_invoice_ids) | set(facts)
        return await self.apply(company_id, sorted(wanted), facts=facts, created=created)

    async def apply(
        self,
        company_id: str,
        quickbooks_ids: Sequence[str],
        *,
        facts: Mapping[str, AccountingInvoice | None] | None = None,
        created: Set[str] = frozenset(),
    ) -> tuple[int, int]:
        """Apply the current facts of these QuickBooks invoices (those dealbooks knows): as in
        ``facts`` (None: deleted), else read from QuickBooks. An id in ``created`` whose
        invoice dealbooks confirmed needs no read. Returns (invoices read, changed)."""
        known_facts = dict(facts or {})
        async with self.uow_factory() as uow:
            known = await uow.invoices.find_by_quickbooks_ids(company_id, quickbooks_ids)
        ids = [
            i.quickbooks_id
            for i in known
            if i.quickbooks_id
            and not (
                i.quickbooks_id in created
                and i.quickbooks_id not in known_facts
                and i.sync_token is not None
            )
        ]
        if not ids:
            return 0, 0
        unread = [i for i in ids if i not in known_facts]
        if unread:
            found = await self.accounting.get_invoices(company_id, unread)
            known_facts.update({i: found.get(i) for i in unread})  # not found: deleted
        today = await today_of(company_id, self.accounting, self.clock)
        now = self.clock.now()
        changed: list[str] = []
        synced: list[str] = []
        timeline: list[str] = []
        deals: list[str] = []
        async with self.uow_factory() as uow:
            policy = await timeline_policy(uow, company_id)
            # Locked: a refresh and a webhook's job applying the same invoice take turns, the
            # second reading what the first stored (``apply_facts`` ignores older facts).
            for invoice in await uow.invoices.find_by_quickbooks_ids(company_id, ids, lock=True):
                assert invoice.quickbooks_id is not None
                if apply_facts(invoice, known_facts[invoice.quickbooks_id], today=today, now=now):
                    changed.append(invoice.quickbooks_id)
                    deals.append(invoice.deal_id)
                    if await record_timeline(uow, invoice, now, policy):
                        timeline.append(invoice.id)
                    await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
                elif invoice.last_synced_at == now:
                    synced.append(invoice.quickbooks_id)  # only "last synced" to write
            await uow.invoices.mark_synced(company_id, synced, now)
            await uow.commit()
        await queue_timelines(self.jobs, company_id, timeline)
        await queue_deal_fields(self.uow_factory, self.jobs, company_id, deals)
        log.info("sync.applied", company_id=company_id, read=len(ids), changed=len(changed))
        return len(ids), len(changed)


async def queue_timelines(jobs: JobQueue | None, company_id: str, invoice_ids: list[str]) -> None:
    """After the commit: a job per invoice whose deal timeline has entries to post."""
    if jobs is not None:
        for invoice_id in invoice_ids:
            await jobs.update_deal_timeline(company_id, invoice_id)


@dataclass(frozen=True, slots=True)
class RecordChangeNotices:
    """Webhook side: keep each notice once with its processing queued (no QuickBooks call)."""

    inbox: NoticeInbox
    clock: Clock

    async def execute(self, notices: Sequence[ChangeNotice]) -> int:
        new = await self.inbox.accept(notices, self.clock.now())
        # On the request's one log line (this runs for every webhook delivery).
        structlog.contextvars.bind_contextvars(notices=len(notices), new_notices=len(new))
        return len(new)


@dataclass(frozen=True, slots=True)
class ProcessChangeNotices:
    """Job side: apply every notice of the realm still pending, then mark them processed (a
    retry re-applies). Notices recorded while it runs have a job of their own waiting."""

    notices: NoticeStore
    apply: ApplyAccountingChanges
    clock: Clock

    async def execute(self, realm_key: str) -> SyncReport:
        """``realm_key``: the realm as the inbox queued the job (see ``NoticeStore.pending``)."""
        companies = read = changed = 0
        while True:
            notices = await self.notices.pending(realm_key, NOTICES_PER_PASS)
            if not notices:
                break
            report = await self.apply.execute(notices)
            await self.notices.mark_processed([n.key for n in notices], self.clock.now())
            companies = max(companies, report.companies)
            read += report.invoices_read
            changed += report.invoices_changed
            if len(notices) < NOTICES_PER_PASS:
                break
        return SyncReport(companies=companies, invoices_read=read, invoices_changed=changed)


CDC_WINDOW = timedelta(days=29)  # QuickBooks answers CDC for the last 30 days
FIRST_LOOKBACK = timedelta(hours=1)


# Webhooks bring changes within seconds; the catch-up repairs what a lost one missed. Once a
# day per company meets "a lost webhook repaired within a day" (issue 15) at 30 metered CDC
# reads a month, where every 5 minutes cost 8,640.
CATCH_UP_EVERY: Final = timedelta(hours=24)


def due_for_catch_up(
    company_ids: Iterable[str], tick_start: datetime, *, tick: timedelta, every: timedelta
) -> list[str]:
    """The companies whose catch-up falls in the tick starting at ``tick_start``: each once per
    ``every``, in a slot of its own (from a hash of its id), so that a tick queues an even
    share of the companies, not all of them."""
    slots = max(1, every // tick)
    slot = int(tick_start.timestamp() // tick.total_seconds()) % slots
    return [c for c in company_ids if zlib.crc32(c.encode()) % slots == slot]


@dataclass(frozen=True, slots=True)
class CatchUpCompany:
    """CDC catch-up for one company: what changed since the watermark, applied, and only then
    the watermark advanced, as far as the changes are complete. A gap longer than CDC's window
    reconciles every open invoice, as do deletions CDC could not list. The
    one read that costs the same for a quiet company as for a busy one, so the first skipped
    when the month's metered reads run low."""

    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    notices: NoticeStore
    apply: ApplyAccountingChanges
    clock: Clock

    async def execute(self, company_id: str) -> SyncReport:
        if await self.accounting.reads_rationed():
            # The month's metered reads are running low: webhooks keep statuses current, and
            # the watermark stays, so the first catch-up of the next month repairs what a lost
            # one missed (past CDC's window, by reading every open invoice).
            log.warning("sync.catch_up_deferred", company_id=company_id, reason="reads_rationed")
            return SyncReport(companies=0, invoices_read=0, invoices_changed=0)
        now = self.clock.now()
        since = await self.notices.watermark(company_id) or now - FIRST_LOOKBACK
        facts: dict[str, AccountingInvoice | None] = {}
        if now - since > CDC_WINDOW:
            ids = await self._open_invoice_ids(company_id)
            as_of = now
            log.warning("sync.full_reconciliation", company_id=company_id, invoices=len(ids))
        else:
            changes = await self.accounting.changes_since(company_id, since)
            facts = facts_of(changes)
            ids = sorted(set(facts) | set(changes.payment_invoice_ids))
            if not changes.all_deletions_listed:
                # QuickBooks lists deleted invoices after the changed ones, and a window with
                # more changes than one answer holds lists some of them nowhere: the open
                # invoices are read (one query per 1,000), and one no longer there is deleted.
                open_ids = await self._open_invoice_ids(company_id)
                ids = sorted(set(ids) | set(open_ids))
                log.info("sync.deletions_reconciled", company_id=company_id, invoices=len(open_ids))
            as_of = changes.as_of
        read, changed = await self.apply.apply(company_id, ids, facts=facts) if ids else (0, 0)
        await self.notices.set_watermark(company_id, as_of)
        return SyncReport(companies=1, invoices_read=read, invoices_changed=changed)

    async def _open_invoice_ids(self, company_id: str) -> list[str]:
        async with self.uow_factory() as uow:
            invoices = await uow.invoices.list_unsettled(company_id)
        return [i.quickbooks_id for i in invoices if i.quickbooks_id]


@dataclass(frozen=True, slots=True)
class SweepStuckCreations:
    """Queue a finishing job for every invoice left CREATING, a follow-up job for every deal
    follow-up left unfinished, and a timeline job for every invoice whose deal timeline
    entries are (crash, outage, lost job)."""

    uow_factory: UnitOfWorkFactory
    jobs: JobQueue
    clock: Clock

    async def execute(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        cutoff = self.clock.now() - older_than
        async with self.uow_factory() as uow:
            stuck = await uow.invoices.list_creating(older_than=cutoff, limit=500)
            batches = [
                (await uow.invoices.creation_options(i.company_id, i.id)).batch_request_id
                for i in stuck
            ]
            follow_ups = await uow.deal_follow_ups.list_unfinished(older_than=cutoff, limit=500)
            timelines = await uow.deal_timeline.list_unfinished(older_than=cutoff, limit=500)
        queued: set[str] = set()
        for invoice, batch in zip(stuck, batches, strict=True):
            if batch in queued:
                continue  # its batch's job re-sends it with the others
            if batch:
                queued.add(batch)
            await self.jobs.finish_creation(invoice.company_id, invoice.id, batch)
        for follow_up in follow_ups:
            await self.jobs.follow_up_on_deal(follow_up.company_id, follow_up.invoice_id)
        for company_id, invoice_id in timelines:
            await self.jobs.update_deal_timeline(company_id, invoice_id)
        return len(stuck) + len(follow_ups) + len(timelines)


NOTICE_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ForgetOldNotices:
    """A processed notice is kept 30 days, long enough to recognise a redelivery (QuickBooks
    redelivers an unacknowledged one every 6 hours, and a redelivered one costs a read when
    applied again), then deleted: the table holds about a month of notices, not the
    deployment's whole history. Notices not yet processed are never deleted."""

    notices: NoticeStore
    clock: Clock

    async def execute(self) -> int:
        forgotten = await self.notices.forget_processed(self.clock.now() - NOTICE_RETENTION)
        if forgotten:
            log.info("sync.notices_forgotten", notices=forgotten)
        return forgotten


LATEST_UTC_OFFSET = timedelta(hours=14)  # Pacific/Kiritimati: the first to reach each date


@dataclass(frozen=True, slots=True)
class RecordOverdueInvoices:
    """Invoices whose due date passed in the company's time zone become OVERDUE with a history
    event, whether or not QuickBooks says anything (it never does: overdue is our rule)."""

    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    token_store: TokenStore
    clock: Clock
    _: KW_ONLY
    jobs: JobQueue | None = None  # queues the deal timeline's entries (None: the sweep does)

    async def execute(self) -> int:
        # Only companies with an invoice that may have become overdue are looked at (one indexed
        # query), so the hourly pass grows with the invoices falling due, not with the number of
        # companies. An invoice due on or after the date at UTC+14, the earliest time zone to
        # reach a date, is overdue nowhere yet.
        furthest_today = (self.clock.now() + LATEST_UTC_OFFSET).date()
        async with self.uow_factory() as uow:
            candidates = await uow.invoices.companies_with_overdue_unrecorded(furthest_today)
        if not candidates:
            return 0
        connected = set(await self.token_store.connected_companies(Vendor.QUICKBOOKS))
        recorded = 0
        for company_id in (c for c in candidates if c in connected):
            today = await today_of(company_id, self.accounting, self.clock)
            now = self.clock.now()
            timeline: list[str] = []
            deals: list[str] = []
            async with self.uow_factory() as uow:
                policy = await timeline_policy(uow, company_id)
                for invoice in await uow.invoices.list_unsettled(company_id):
                    if invoice.record_overdue(today, now):
                        deals.append(invoice.deal_id)
                        if await record_timeline(uow, invoice, now, policy):
                            timeline.append(invoice.id)
                        await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
                        recorded += 1
                await uow.commit()
            await queue_timelines(self.jobs, company_id, timeline)
            await queue_deal_fields(self.uow_factory, self.jobs, company_id, deals)
        if recorded:
            log.info("sync.overdue_recorded", invoices=recorded)
        return recorded
