"""RefreshInvoices: the current facts of a deal's invoices from QuickBooks, now (one read)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import timedelta

from application.commands import DealRef, ListPageCommand
from application.deal_fields import queue_deal_fields
from application.invoicing.calendar import today_of
from application.invoicing.facts import apply_facts
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.listing import ListInvoices
from application.invoicing.paging import MAX_PAGE_SIZE
from application.invoicing.stored import QUICKBOOKS_ACTOR
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.jobs import JobQueue
from application.ports.persistence import UnitOfWorkFactory
from application.timeline import record_timeline, timeline_policy
from application.views import InvoiceView, Page
from domain.invoice import InvoiceState

STALE_CREATING = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class RefreshInvoices:
    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    clock: Clock
    finish: FinishInvoiceCreation
    list_invoices: ListInvoices
    _: KW_ONLY
    jobs: JobQueue | None = None  # queues the deal timeline's entries (None: the sweep does)

    async def execute(self, ref: DealRef) -> Page[InvoiceView]:
        await self.list_invoices.visibility.ensure_visible(
            ref.principal, ref.company_id, ref.deal_id
        )
        async with self.uow_factory() as uow:
            invoices = await uow.invoices.list_for_deal(
                ref.company_id, ref.deal_id, limit=MAX_PAGE_SIZE
            )
        stale = self.clock.now() - STALE_CREATING
        for invoice in invoices:
            if invoice.state is InvoiceState.CREATING and invoice.updated_at < stale:
                await self.finish.execute(ref.company_id, invoice.id)
        ids = [  # an invoice of another QuickBooks company is not asked of this one
            i.quickbooks_id
            for i in invoices
            if i.quickbooks_id
            and i.state is not InvoiceState.DELETED
            and not i.other_quickbooks_company
        ]
        facts = await self.accounting.get_invoices(ref.company_id, ids) if ids else {}
        now = self.clock.now()
        today = await today_of(ref.company_id, self.accounting, self.clock)
        timeline: list[str] = []
        changed = False
        async with self.uow_factory() as uow:
            policy = await timeline_policy(uow, ref.company_id)
            for invoice in await uow.invoices.find_by_quickbooks_ids(ref.company_id, ids):
                assert invoice.quickbooks_id is not None
                if apply_facts(invoice, facts.get(invoice.quickbooks_id), today=today, now=now):
                    changed = True
                if await record_timeline(uow, invoice, now, policy):
                    timeline.append(invoice.id)
                await uow.invoices.save(invoice, actor=QUICKBOOKS_ACTOR)
            await uow.commit()
        if self.jobs is not None:
            for invoice_id in timeline:
                await self.jobs.update_deal_timeline(ref.company_id, invoice_id)
        if changed:
            await queue_deal_fields(self.uow_factory, self.jobs, ref.company_id, [ref.deal_id])
        # What the deal shows now: the first page, exactly as ListInvoices gives it.
        return await self.list_invoices.page(ListPageCommand(ref))
