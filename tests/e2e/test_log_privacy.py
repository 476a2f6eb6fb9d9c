"""Logs never carry QuickBooks business data (issue 18; Intuit's app assessment asks it): the
whole journey runs with DEBUG logs captured, and no line holds the customer's name, email,
address, or the invoice's amounts. Ids, states and Intuit's trace id (intuit_tid) are fine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from dealbooks.v1 import (
    customer_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
)
from entrypoints.emulated import US_REALM, Emulators
from entrypoints.service import Service
from tests.e2e.test_journey import (  # noqa: F401  (world: the fixture)
    DEAL,
    MD,
    create_invoice,
    draft_of,
    world,
)
from tests.support.logs import logs_into

pytestmark = pytest.mark.e2e

NAME = "Zyxwv Privacy Holdings"
EMAIL = "privacy-scan@zyxwv.example"
STREET = "77 Quillfeather Lane"


@pytest.fixture
def debug_logs(tmp_path: Path) -> Iterator[Path]:
    """Every log line, DEBUG and up, as the deployed JSON, into a file (set before the service
    starts, so that every logger it makes writes there)."""
    with logs_into(tmp_path / "service.log", "DEBUG") as path:
        yield path


async def test_the_journeys_logs_hold_no_customer_data_and_no_amounts(
    debug_logs: Path,
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        draft = await draft_of(invoices)
        invoice = invoice_pb2.Invoice()
        invoice.CopyFrom(draft.invoice)
        for line in invoice.lines:
            line.item_id = line.item_id or "1"
        invoice.customer.CopyFrom(
            customer_pb2.Customer(
                display_name=NAME,
                email=EMAIL,
                billing_address=customer_pb2.PostalAddress(
                    line1=STREET, city="Sacramento", region="CA", postal_code="95814"
                ),
            )
        )
        created = await create_invoice(invoices, DEAL, invoice, "log-privacy-1")
        assert created.state == invoice_pb2.INVOICE_STATE_OPEN, created.failure_reason
        await invoices.SendInvoice(
            invoice_service_pb2.SendInvoiceRequest(name=created.name), metadata=MD
        )
        await emulators.admin(
            "quickbooks",
            "POST",
            f"companies/{US_REALM}/payments",
            invoice_id=created.quickbooks_invoice_id,
            amount="100.00",
        )
        refreshed = await invoices.RefreshInvoices(
            invoice_service_pb2.RefreshInvoicesRequest(parent=DEAL), metadata=MD
        )
        assert refreshed.invoices[0].state == invoice_pb2.INVOICE_STATE_PARTIALLY_PAID
        await invoices.GetInvoicePdf(
            invoice_service_pb2.GetInvoicePdfRequest(name=created.name), metadata=MD
        )

    text = await asyncio.to_thread(debug_logs.read_text, encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    names = {event.get("event") for event in events}
    assert {"invoice.created", "vendor.request_completed"} <= names  # the logs were captured
    assert len(lines) > 20
    assert any(event.get("intuit_tid") for event in events)  # Intuit's trace id is kept

    total = Decimal(created.totals.total.amount)
    forbidden = [NAME, EMAIL, STREET, "Quillfeather", f"{total:.2f}", f"{total:,.2f}", "100.00"]
    leaks = [(word, line) for line in lines for word in forbidden if word.lower() in line.lower()]
    assert leaks == []
