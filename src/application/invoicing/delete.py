"""DeleteInvoice: gone from QuickBooks (if it was there), then DELETED here."""

from __future__ import annotations

import contextlib
from datetime import datetime

from application.commands import InvoiceActionCommand
from application.errors import NotFoundError
from application.invoicing.stored import InvoiceAction
from application.views import InvoiceView
from domain.invoice import Invoice, InvoiceState
from domain.permissions import Action


class DeleteInvoice(InvoiceAction):
    async def execute(self, cmd: InvoiceActionCommand) -> InvoiceView:
        ref = cmd.invoice
        invoice = await self._checked(ref, Action.DELETE)
        if invoice.quickbooks_id:
            # Already gone from QuickBooks: deleting it here is all that is left.
            with contextlib.suppress(NotFoundError):
                await self.accounting.delete_invoice(
                    ref.company_id, invoice.quickbooks_id, request_id=f"del-{invoice.id}"
                )

        def change(current: Invoice, now: datetime) -> None:
            if current.state is not InvoiceState.DELETED:
                current.delete(now)

        return await self._recorded(ref, change)
