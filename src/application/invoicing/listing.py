"""ListInvoices: a deal's invoices, newest first, one query per page on the read side."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

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

# What the tokens we issue hold: an invoice id, and a time with its offset.
_INVOICE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _cursor(position: dict[str, Any]) -> PageCursor:
    """The position a page token holds. Anything a token of ours never holds is a damaged
    token, not a query: a NUL in the id, or a time outside the database's range, ended the
    call INTERNAL there."""
    created_at, invoice_id = _utc_time(position.get("t")), position.get("i")
    if (
        created_at is None
        or not isinstance(invoice_id, str)
        or not _INVOICE_ID.fullmatch(invoice_id)
    ):
        raise InvalidValueError.of("page_token", MessageCode.PAGE_TOKEN_DAMAGED)
    return PageCursor(created_at, invoice_id)


def _utc_time(text: object) -> datetime | None:
    """``text``, an ISO time with an offset, in UTC; None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        time = datetime.fromisoformat(text)
        # In UTC, as the database compares it: "0001-01-01T00:00:00+14:00" is in year 0, which
        # neither Python nor asyncpg holds (OverflowError). Any time Python holds in UTC is in
        # Postgres' range (4713 BC to 294276 AD).
        return time.astimezone(UTC) if time.utcoffset() is not None else None
    except (ValueError, OverflowError):
        return None


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
        after = _cursor(position) if position is not None else None
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
