"""GetInvoicePdf: the PDF QuickBooks renders."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import InvoiceRef
from application.invoicing.stored import load_invoice
from application.ports.accounting import AccountingGateway
from application.ports.persistence import UnitOfWorkFactory
from application.views import PdfView
from application.visibility import DealVisibility
from domain.errors import InvalidStateTransitionError
from domain.invoice import InvoiceState


@dataclass(frozen=True, slots=True)
class GetInvoicePdf:
    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    visibility: DealVisibility

    async def execute(self, ref: InvoiceRef) -> PdfView:
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        async with self.uow_factory() as uow:
            invoice = await load_invoice(uow, ref)
        if invoice.quickbooks_id is None or invoice.state is InvoiceState.DELETED:
            raise InvalidStateTransitionError(invoice.id, invoice.state.name, "download_pdf")
        invoice.ensure_in_connected_company("download_pdf")
        content = await self.accounting.invoice_pdf(ref.company_id, invoice.quickbooks_id)
        return PdfView(filename=f"invoice-{invoice.doc_number or invoice.id}.pdf", content=content)
