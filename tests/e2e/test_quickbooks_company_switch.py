"""After a company switches QuickBooks companies, through the real service: an invoice of the
former company answers as last seen, marked so, and a QuickBooks action on it is refused with
FAILED_PRECONDITION (never reaching the new company, where its id names another invoice)."""

from __future__ import annotations

import grpc
import pytest

from dealbooks.v1 import invoice_pb2, invoice_service_pb2, invoice_service_pb2_grpc
from domain.errors import DomainReason
from entrypoints.emulated import INTL_REALM, Emulators
from entrypoints.service import Service
from tests.e2e.test_journey import MD, world  # noqa: F401 - the fixture
from tests.e2e.test_payment_link import create
from tests.e2e.test_settings_api import error_of
from tests.e2e.test_status_sync import grpc_address

pytestmark = pytest.mark.e2e


async def test_an_invoice_of_the_former_company_is_shown_and_never_acted_on(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    service, emulators = world
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        invoice = await create(channel, "switch-1")
        assert invoice.state == invoice_pb2.INVOICE_STATE_OPEN
        assert not invoice.other_quickbooks_company

        await emulators.connect_quickbooks(service.container.gateways.token_store(), INTL_REALM)

        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        shown = (
            await stub.GetInvoice(
                invoice_service_pb2.GetInvoiceRequest(name=invoice.name), metadata=MD
            )
        ).invoice
        assert shown.other_quickbooks_company
        assert shown.state == invoice_pb2.INVOICE_STATE_OPEN
        assert shown.quickbooks_url == ""
        code, info, _ = await error_of(
            stub.VoidInvoice(
                invoice_service_pb2.VoidInvoiceRequest(name=invoice.name, request_id="v-1"),
                metadata=MD,
            )
        )
        assert code is grpc.StatusCode.FAILED_PRECONDITION
        assert info.reason == DomainReason.INVOICE_IN_OTHER_QUICKBOOKS_COMPANY

    # No void reached QuickBooks, in either company.
    logged = (await emulators.admin("quickbooks", "GET", "requests"))["requests"]
    assert [r for r in logged if r["query"].get("operation") == "void"] == []


async def test_books_reset_under_the_same_realm_do_not_stop_the_next_invoice(
    world: tuple[Service, Emulators],  # noqa: F811
) -> None:
    """A sandbox company reset keeps its realm id and numbers invoices from 1 again [U]: the
    next invoice QuickBooks makes carries the id of one dealbooks already holds. It is recorded
    (not an INTERNAL error, nor an invoice stuck in CREATING), and the older invoice, gone with
    the reset, shows as deleted in the former books, never acted on."""
    service, emulators = world
    token_store = service.container.gateways.token_store()
    async with grpc.aio.insecure_channel(grpc_address(service)) as channel:
        before = await create(channel, "reset-1")
        assert before.state == invoice_pb2.INVOICE_STATE_OPEN

        await emulators.admin("quickbooks", "POST", "reset")
        await emulators.connect_quickbooks(token_store)  # the same realm, connected again

        after = await create(channel, "reset-2")
        assert after.state == invoice_pb2.INVOICE_STATE_OPEN
        assert after.quickbooks_invoice_id == before.quickbooks_invoice_id
        assert not after.other_quickbooks_company

        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        former, current = [
            (
                await stub.GetInvoice(invoice_service_pb2.GetInvoiceRequest(name=name), metadata=MD)
            ).invoice
            for name in (before.name, after.name)
        ]
        assert former.state == invoice_pb2.INVOICE_STATE_DELETED
        assert former.other_quickbooks_company
        assert former.quickbooks_url == ""
        assert current.state == invoice_pb2.INVOICE_STATE_OPEN
        assert current.quickbooks_url
