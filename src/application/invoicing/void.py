"""VoidInvoice: irreversible, paid or not; QuickBooks first, then ours."""

from __future__ import annotations

from datetime import datetime

from application.commands import InvoiceActionCommand
from application.invoicing.stored import InvoiceAction
from application.views import InvoiceView
from domain.invoice import Invoice, InvoiceState
from domain.permissions import Action


class VoidInvoice(InvoiceAction):
    async def execute(self, cmd: InvoiceActionCommand) -> InvoiceView:
        ref = cmd.invoice
        invoice = await self._checked(ref, Action.VOID)
        assert invoice.quickbooks_id is not None  # OPEN/PAID states always have one
        facts = await self.accounting.void_invoice(
            ref.company_id, invoice.quickbooks_id, request_id=f"void-{invoice.id}"
        )

        def change(current: Invoice, now: datetime) -> None:
            if current.state is not InvoiceState.VOIDED:
                current.void(now)
                current.sync_token = facts.sync_token

        return await self._recorded(ref, change)
