"""ListInvoices: a deal's invoices, newest first, one query per page on the read side."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.commands import ListPageCommand
from application.invoicing.calendar import today_of
from application.invoicing.paging import deal_parent, decode_token, encode_token, page_size_of
from application.ports.accounting import AccountingGateway
from application.ports.clock import Clock
from application.ports.persistence import InvoiceViews, PageCursor
from application.views import InvoiceView, Page
from application.visibility import DealVisibility
from domain.errors import InvalidValueError
from domain.messages import MessageCode


@dataclass(frozen=True, slots=True)
class ListInvoices:
    views: InvoiceViews
    accounting: AccountingGateway
    clock: Clock
    visibility: DealVisibility

    async def execute(self, cmd: ListPageCommand) -> Page[InvoiceView]:
        """The page, for a caller who may see the deal in Pipedrive."""
        await self.visibility.ensure_visible(
            cmd.deal.principal, cmd.deal.company_id, cmd.deal.deal_id
        )
        return await self.page(cmd)

    async def page(self, cmd: ListPageCommand) -> Page[InvoiceView]:
        """The page, for a caller already checked (RefreshInvoices: one visibility read)."""
        ref = cmd.deal
        ref.principal.ensure_can_access(ref.company_id)
        size = page_size_of(cmd.page_size)
        parent = deal_parent(ref)
        position = decode_token(parent, cmd.page_token)
        after = None
        if position is not None:
            try:
                after = PageCursor(datetime.fromisoformat(position["t"]), str(position["i"]))
            except (KeyError, ValueError, TypeError):
                raise InvalidValueError.of("page_token", MessageCode.PAGE_TOKEN_DAMAGED) from None
        rows = await self.views.list_for_deal(
            ref.company_id,
            ref.deal_id,
            today=await today_of(ref.company_id, self.accounting, self.clock),
            limit=size + 1,
            after=after,
        )
        token = ""
        if len(rows) > size:
            last = rows[size - 1]
            token = encode_token(parent, {"t": last.created_at.isoformat(), "i": last.id})
        return Page(items=rows[:size], next_page_token=token)
