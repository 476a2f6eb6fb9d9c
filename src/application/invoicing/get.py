"""GetInvoice: one query on the read side."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import InvoiceRef
from application.invoicing.stored import InvoiceAnswers
from application.views import InvoiceView


@dataclass(frozen=True, slots=True)
class GetInvoice:
    answers: InvoiceAnswers

    async def execute(self, ref: InvoiceRef) -> InvoiceView:
        ref.principal.ensure_can_access(ref.company_id)
        return await self.answers.view(ref.company_id, ref.deal_id, ref.invoice_id)
