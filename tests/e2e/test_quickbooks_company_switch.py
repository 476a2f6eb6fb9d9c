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
