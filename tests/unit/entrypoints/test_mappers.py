"""Proto -> command mapping details that callers rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from google.protobuf import timestamp_pb2

from application.views import InvoiceView
from dealbooks.v1 import field_mapping_pb2, invoice_pb2
from domain.customer import Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceLine
from domain.money import Money
from entrypoints.grpc.invoice_mappers import InvoiceProtoCache, invoice_to_proto, timestamp
from entrypoints.grpc.mappers import field_source_from_proto


def test_an_empty_field_source_means_not_mapped() -> None:
    mapping = field_mapping_pb2.FieldMapping(tax_id=field_mapping_pb2.FieldSource())

    assert mapping.HasField("tax_id")
    assert field_source_from_proto(mapping, "tax_id") is None


def test_a_source_without_an_entity_is_reported_not_dropped() -> None:
    mapping = field_mapping_pb2.FieldMapping(to=field_mapping_pb2.FieldSource(field_key="name"))

    source = field_source_from_proto(mapping, "to")

    assert source is not None
    assert (source.entity, source.field_key) == ("unspecified", "name")


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 13, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 13, 10, 0, 0, 999999, tzinfo=timezone(timedelta(hours=-7))),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime(2026, 3, 13, 10, 0, 0, 1),  # naive: taken as UTC
    ],
)
def test_timestamps_are_what_the_protobuf_library_makes_of_the_same_time(
    value: datetime,
) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(value)

    assert timestamp(value) == expected


def _an_open_invoice() -> Invoice:
    now = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    invoice = Invoice.request(
        id=InvoiceId("inv-1"),
        company_id=CompanyId("1001"),
        deal_id=DealId("42"),
        customer=Customer("Acme Corp", "ana@acme.test"),
        lines=[InvoiceLine(description="Design", quantity=Decimal(2), unit_price=Decimal(100))],
        currency="USD",
        issue_date=date(2026, 3, 13),
        due_date=date(2026, 3, 20),
        memo="",
        created_by="user-7",
        now=now,
    )
    invoice.confirm_created("qb-7", "1001", "0", invoice.total(), now)
    return invoice


def test_a_remembered_invoice_message_is_the_one_mapping_makes_until_the_invoice_changes() -> None:
    protos = InvoiceProtoCache()
    invoice = _an_open_invoice()
    today = date(2026, 3, 14)

    first = protos(InvoiceView(invoice, invoice.status(today), "https://qbo.test/7"))
    assert first == invoice_to_proto(
        InvoiceView(invoice, invoice.status(today), "https://qbo.test/7")
    )

    invoice.apply_accounting_facts(
        invoice.total(), Money.of("50", "USD"), "1", None, datetime(2026, 3, 14, tzinfo=UTC)
    )
    changed = protos(InvoiceView(invoice, invoice.status(today), "https://qbo.test/7"))
    overdue = protos(InvoiceView(invoice, invoice.status(date(2026, 4, 1)), "https://qbo.test/7"))

    assert changed.totals.amount_paid.amount == "150.00"
    assert changed.state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
    assert overdue.state == invoice_pb2.INVOICE_STATE_OVERDUE


def test_a_remembered_page_is_reused_until_one_of_its_invoices_changes() -> None:
    protos = InvoiceProtoCache()
    today = date(2026, 3, 14)
    invoices = [_an_open_invoice(), _an_open_invoice()]
    invoices[1].id = InvoiceId("inv-2")

    def views() -> list[InvoiceView]:
        return [InvoiceView(i, i.status(today), f"https://qbo.test/{i.id}") for i in invoices]

    first = protos.page(views(), "next")
    again = protos.page(views(), "next")
    other_token = protos.page(views(), "")
    invoices[1].apply_accounting_facts(
        invoices[1].total(), Money.of("0", "USD"), "1", None, datetime(2026, 3, 14, tzinfo=UTC)
    )
    after_payment = protos.page(views(), "next")

    assert again is first
    assert [m.name for m in first.invoices] == [
        "companies/1001/deals/42/invoices/inv-1",
        "companies/1001/deals/42/invoices/inv-2",
    ]
    assert first.next_page_token == "next"
    assert other_token.next_page_token == ""
    assert after_payment is not first
    assert after_payment.invoices[1].state == invoice_pb2.INVOICE_STATE_PAID
    assert first.invoices[1].state == invoice_pb2.INVOICE_STATE_OPEN  # the old page untouched


def test_a_remembered_get_response_follows_its_invoice() -> None:
    protos = InvoiceProtoCache()
    invoice = _an_open_invoice()
    today = date(2026, 3, 14)

    first = protos.response(InvoiceView(invoice, invoice.status(today), "https://qbo.test/7"))
    again = protos.response(InvoiceView(invoice, invoice.status(today), "https://qbo.test/7"))
    later = protos.response(
        InvoiceView(invoice, invoice.status(date(2026, 4, 1)), "https://qbo.test/7")
    )

    assert again is first
    assert first.invoice == invoice_to_proto(
        InvoiceView(invoice, invoice.status(today), "https://qbo.test/7")
    )
    assert later.invoice.state == invoice_pb2.INVOICE_STATE_OVERDUE


def test_a_row_changed_without_a_new_version_gets_a_new_message() -> None:
    """The read model hands out a new invoice object for a new row version, even when an
    UPDATE by hand left ``version`` alone: messages follow the object, not only the key."""
    protos = InvoiceProtoCache()
    today = date(2026, 3, 14)
    before, after = _an_open_invoice(), _an_open_invoice()
    after.memo = "changed by hand"

    first = protos.page([InvoiceView(before, before.status(today), None)], "")
    second = protos.page([InvoiceView(after, after.status(today), None)], "")
    alone = protos.response(InvoiceView(after, after.status(today), None))

    assert first.invoices[0].memo == ""
    assert second.invoices[0].memo == "changed by hand"
    assert alone.invoice.memo == "changed by hand"
