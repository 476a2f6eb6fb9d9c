"""The payment link (issue 17), through the real service: where the QuickBooks company takes
online payments, CreateInvoice answers with QuickBooks' InvoiceLink, GetInvoice keeps it, and
the note on the Pipedrive emulator's deal carries it; without online payments, neither does."""

from __future__ import annotations

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
from tests.e2e.polling import eventually
from tests.e2e.test_deal_timeline import notes_about
from tests.e2e.test_journey import DEAL, MD, world  # noqa: F401 - the fixture
from tests.e2e.test_status_sync import grpc_address

pytestmark = pytest.mark.e2e


async def create(channel: grpc.aio.Channel, request_id: str) -> invoice_pb2.Invoice:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
    reply = await stub.CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=DEAL,
            request_id=request_id,
            invoice=invoice_pb2.Invoice(
                customer=customer_pb2.Customer(
                    display_name=f"Pay {request_id}", email="ap@payer.example"
                ),
                currency_code="USD",
                lines=[
                    invoice_pb2.LineItem(
                        name="Services", quantity="2", unit_price="100", item_id="1"
                    )
                ],
            ),
        ),
        metadata=MD,
    )
    return reply.invoice


async def test_with_online_payments_the_invoice_and_the_deal_note_carry_the_link(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    await emulators.admin(
        "quickbooks", "POST", f"companies/{US_REALM}/preferences", online_payments=True
    )
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "paylink-1")
        assert invoice.state == invoice_pb2.INVOICE_STATE_OPEN
        link = invoice.payment_link
        assert link.startswith(emulators.quickbooks_url + "/portal/app/CommerceNetwork/view/")

        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        got = await stub.GetInvoice(
            invoice_service_pb2.GetInvoiceRequest(name=invoice.name), metadata=MD
        )
        assert got.invoice.payment_link == link

        notes = await eventually(
            lambda: notes_about(emulators, invoice.quickbooks_invoice_id), bool
        )
        assert len(notes) == 1
        assert f"Pay online: {link}" in notes[0]

        # The email QuickBooks sends carries it too.
        await stub.SendInvoice(
            invoice_service_pb2.SendInvoiceRequest(name=invoice.name), metadata=MD
        )
        sent = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/emails")
        assert sent["emails"][-1]["invoice_link"] == link


async def test_without_online_payments_there_is_no_link_anywhere(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "paylink-2")
        assert invoice.state == invoice_pb2.INVOICE_STATE_OPEN
        assert invoice.payment_link == ""

        notes = await eventually(
            lambda: notes_about(emulators, invoice.quickbooks_invoice_id), bool
        )
        assert len(notes) == 1
        assert "Pay online" not in notes[0]
