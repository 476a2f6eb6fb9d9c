"""The read side over what the fake database has committed (``InvoiceViews``)."""

from __future__ import annotations

from datetime import date

from adapters.in_memory.persistence import InMemoryStore, newest_first
from application.ports.persistence import PageCursor
from application.views import InvoiceView


class InMemoryInvoiceViews:
    """The read side over what the fake database has committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def get(self, company_id: str, invoice_id: str, *, today: date) -> InvoiceView | None:
        found = self._store.invoices.get((company_id, invoice_id))
        return InvoiceView.of(found, today) if found is not None else None

    async def list_for_deal(
        self,
        company_id: str,
        deal_id: str,
        *,
        today: date,
        limit: int,
        after: PageCursor | None = None,
    ) -> list[InvoiceView]:
        invoices = self._store.invoices.values()
        return [
            InvoiceView.of(i, today)
            for i in newest_first(invoices, company_id, deal_id, limit, after)
        ]
