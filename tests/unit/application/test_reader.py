"""InvoiceReader: views of stored invoices, with their QuickBooks links."""

from __future__ import annotations

from datetime import date

from adapters.system_clock import FrozenClock
from application.invoices import InvoiceReader
from domain.ids import InvoiceId
from domain.invoice import InvoiceState, InvoiceStatus
from tests.unit.domain.domain_builders import NOW, an_invoice_in


class CountingLinks:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def invoice_link(self, company_id: str, invoice_id: str) -> str:
        self.asked.append((company_id, invoice_id))
        return f"https://qbo.test/{company_id}/{invoice_id}"


async def test_a_page_of_views_asks_for_each_link_once_ever() -> None:
    links = CountingLinks()
    reader = InvoiceReader(links, FrozenClock(NOW))  # type: ignore[arg-type]
    paid = an_invoice_in(InvoiceState.PAID, id=InvoiceId("inv-1"))
    deleted = an_invoice_in(InvoiceState.DELETED, id=InvoiceId("inv-2"))
    creating = an_invoice_in(InvoiceState.CREATING, id=InvoiceId("inv-3"))
    today = date(2025, 3, 14)

    first = await reader.views([paid, deleted, creating], today)
    again = await reader.views([paid, deleted, creating], today)

    assert [v.quickbooks_url for v in first] == ["https://qbo.test/company-1/qb-42", None, None]
    assert [v.quickbooks_url for v in again] == [v.quickbooks_url for v in first]
    assert [v.status for v in first] == [
        InvoiceStatus.PAID,
        InvoiceStatus.DELETED,
        InvoiceStatus.CREATING,
    ]
    assert links.asked == [("company-1", "qb-42")]
