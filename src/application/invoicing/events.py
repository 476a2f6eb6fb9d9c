"""ListInvoiceEvents: the deal's invoicing history (or one of its invoices'), newest first."""

from __future__ import annotations

from dataclasses import dataclass

from application.commands import ListPageCommand
from application.invoicing.paging import deal_parent, decode_token, encode_token, page_size_of
from application.ports.persistence import RecordedEvent, UnitOfWorkFactory
from application.views import Page
from application.visibility import DealVisibility
from domain.errors import InvalidValueError
from domain.messages import MessageCode


@dataclass(frozen=True, slots=True)
class ListInvoiceEvents:
    uow_factory: UnitOfWorkFactory
    visibility: DealVisibility

    async def execute(self, cmd: ListPageCommand) -> Page[RecordedEvent]:
        ref = cmd.deal
        await self.visibility.ensure_visible(ref.principal, ref.company_id, ref.deal_id)
        size = page_size_of(cmd.page_size)
        parent = deal_parent(ref) + "/events"
        if cmd.invoice_id:  # a token of the whole history does not continue one invoice's
            parent += f"?invoice={cmd.invoice_id}"
        position = decode_token(parent, cmd.page_token)
        before = None
        if position is not None:
            before = position.get("b")
            # An event id, which the database keeps in an int4: anything else is no token of
            # ours (2**31 ended the call INTERNAL there).
            if isinstance(before, bool) or not isinstance(before, int) or not 0 < before < 2**31:
                raise InvalidValueError.of("page_token", MessageCode.PAGE_TOKEN_DAMAGED)
        async with self.uow_factory() as uow:
            rows = await uow.invoice_events.list_for_deal(
                ref.company_id,
                ref.deal_id,
                limit=size + 1,
                before_id=before,
                invoice_id=cmd.invoice_id or None,
            )
        token = encode_token(parent, {"b": rows[size - 1].id}) if len(rows) > size else ""
        return Page(items=rows[:size], next_page_token=token)
