"""RefreshInvoices: the current facts of a deal's invoices from QuickBooks, now (one read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.commands import DealRef, ListPageCommand
from application.invoicing.finish import FinishInvoiceCreation
from application.invoicing.listing import ListInvoices
from application.invoicing.paging import MAX_PAGE_SIZE
from application.ports.clock import Clock
from application.ports.persistence import UnitOfWorkFactory
from application.sync import ApplyAccountingChanges
from application.views import InvoiceView, Page
from domain.invoice import InvoiceState

STALE_CREATING = timedelta(seconds=5)


@dataclass(frozen=True, slots=True)
class RefreshInvoices:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    finish: FinishInvoiceCreation
    list_invoices: ListInvoices
    apply: ApplyAccountingChanges

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
        if ids:  # one read, applied as a webhook's facts are (the two may meet: see ``apply``)
            await self.apply.apply(ref.company_id, ids)
        # What the deal shows now: the first page, exactly as ListInvoices gives it.
        return await self.list_invoices.page(ListPageCommand(ref))
