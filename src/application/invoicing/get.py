"""GetInvoice: one query on the read side."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import InvoiceRef
from application.invoicing.stored import InvoiceAnswers
from application.views import InvoiceView
from application.visibility import DealVisibility


@dataclass(frozen=True, slots=True)
class GetInvoice:
    answers: InvoiceAnswers
    visibility: DealVisibility

    async def execute(self, ref: InvoiceRef) -> InvoiceView:
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        return await self.answers.view(ref.company_id, ref.deal_id, ref.invoice_id)
