"""Proto -> command mapping details that callers rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from google.protobuf import timestamp_pb2

from application.ports.accounting import AccountingCustomer
from application.views import InvoiceView
from dealbooks.v1 import field_mapping_pb2, invoice_pb2
from domain.customer import Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine
from domain.money import Money
from entrypoints.grpc.invoice_mappers import accounting_customer_to_proto, invoice_to_proto
from entrypoints.grpc.mappers import field_source_from_proto, timestamp


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
    invoice.confirm_created(
        "qb-7", "1001", "0", invoice.total(), now, quickbooks_url="https://qbo.test/7"
    )
    return invoice


def test_an_invoice_maps_with_its_payments_and_its_status_on_the_day() -> None:
    invoice = _an_open_invoice()
    today = date(2026, 3, 14)
    invoice.apply_accounting_facts(
        invoice.total(), Money.of("50", "USD"), "1", None, datetime(2026, 3, 14, tzinfo=UTC)
    )

    changed = invoice_to_proto(InvoiceView.of(invoice, today))
    overdue = invoice_to_proto(InvoiceView.of(invoice, date(2026, 4, 1)))

    assert changed.name == "companies/1001/deals/42/invoices/inv-1"
    assert changed.totals.amount_paid.amount == "150.00"
    assert changed.lines[0].amount.amount == "200.00"
    assert changed.quickbooks_url == "https://qbo.test/7"
    assert changed.state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
    assert overdue.state == invoice_pb2.INVOICE_STATE_OVERDUE


@pytest.mark.parametrize(
    ("tax_id", "offered"), [("XXXXXX56789", ""), ("GB123456789", "GB123456789")]
)
def test_a_quickbooks_customer_is_offered_without_a_tax_id_quickbooks_masked(
    tax_id: str, offered: str
) -> None:
    found = AccountingCustomer("58", Customer("Globex Ltd", tax_id=tax_id, quickbooks_id="58"))

    proto = accounting_customer_to_proto(found)

    assert (proto.tax_id, proto.quickbooks_customer_id) == (offered, "58")
