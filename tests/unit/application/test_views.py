"""Views of stored invoices: status on the company's today, and the QuickBooks link."""

from __future__ import annotations

from datetime import date

from application.views import InvoiceView
from domain.ids import InvoiceId
from domain.invoice import InvoiceState, InvoiceStatus
from tests.unit.domain.domain_builders import an_invoice_in


def test_a_view_links_to_quickbooks_unless_the_invoice_is_deleted() -> None:
    paid = an_invoice_in(InvoiceState.PAID, id=InvoiceId("inv-1"))
    deleted = an_invoice_in(InvoiceState.DELETED, id=InvoiceId("inv-2"))
    creating = an_invoice_in(InvoiceState.CREATING, id=InvoiceId("inv-3"))
    today = date(2025, 3, 14)

    views = [InvoiceView.of(i, today) for i in (paid, deleted, creating)]

    assert [v.quickbooks_url for v in views] == ["https://qbo.test/company-1/qb-42", None, None]
    assert [v.status for v in views] == [
        InvoiceStatus.PAID,
        InvoiceStatus.DELETED,
        InvoiceStatus.CREATING,
    ]


def test_an_open_invoice_past_its_due_date_is_overdue_in_its_view() -> None:
    invoice = an_invoice_in(InvoiceState.OPEN)
    assert invoice.due_date is not None

    on_time = InvoiceView.of(invoice, invoice.due_date)
    late = InvoiceView.of(invoice, date.fromordinal(invoice.due_date.toordinal() + 1))

    assert on_time.status is InvoiceStatus.OPEN
    assert late.status is InvoiceStatus.OVERDUE
    assert late.totals.balance == invoice.balance()
