"""SendInvoice: QuickBooks emails the invoice (to the customer, or to an address given)."""

from __future__ import annotations

from datetime import datetime

from application.commands import SendInvoiceCommand
from application.invoicing.stored import InvoiceAction, validate_request_id
from application.views import InvoiceView
from domain.customer import is_plausible_email
from domain.errors import InvalidValueError
from domain.invoice import Invoice
from domain.messages import MessageCode
from domain.permissions import Action


class SendInvoice(InvoiceAction):
    async def execute(self, cmd: SendInvoiceCommand) -> InvoiceView:
        ref = cmd.invoice
        to = cmd.to.strip()
        if to and not is_plausible_email(to):  # one address: QuickBooks' sendTo
            raise InvalidValueError.of("to", MessageCode.NOT_AN_EMAIL, value=to[:80])
        invoice = await self._checked(ref, Action.SEND)
        recipient = to or invoice.customer.email
        if not recipient:
            raise InvalidValueError.of("to", MessageCode.NO_RECIPIENT)
        assert invoice.quickbooks_id is not None
        # QuickBooks remembers a request id across the whole QuickBooks company and replays
        # its first answer: the caller's id names this invoice's send to this recipient only
        # (the same id for another invoice or address is another send, not a replay of one).
        asked = validate_request_id(cmd.request_id) or self.clock.now().strftime("%Y%m%d%H%M%S")
        facts = await self.accounting.send_invoice(
            ref.company_id,
            invoice.quickbooks_id,
            to=to or None,
            request_id=f"send-{invoice.id}-{to}-{asked}",
        )

        def change(current: Invoice, now: datetime) -> None:
            current.record_sent(recipient, now)
            current.sync_token = facts.sync_token

        return await self._recorded(ref, change)
