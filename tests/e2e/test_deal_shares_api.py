"""PrepareInvoice with a share of the deal, through a real gRPC server and Postgres."""

from __future__ import annotations

import grpc
import pytest

from dealbooks.v1 import installment_pb2, invoice_pb2, invoice_service_pb2
from domain.messages import MessageCode
from tests.e2e.conftest import TOKEN_A, bearer
from tests.e2e.test_invoice_api import DEAL, invoices
from tests.e2e.test_settings_api import error_of, violations

pytestmark = pytest.mark.e2e
Share = installment_pb2.InvoiceShare


def usd(amount: str) -> invoice_pb2.Money:
    return invoice_pb2.Money(currency_code="USD", amount=amount)


async def prepare(channel: grpc.aio.Channel, share: Share) -> invoice_service_pb2.InvoiceDraft:
    reply = await invoices(channel).PrepareInvoice(
        invoice_service_pb2.PrepareInvoiceRequest(parent=DEAL, share=share),
        metadata=bearer(TOKEN_A),
    )
    return reply.draft


async def test_a_deposit_then_the_rest_invoice_the_deal_exactly(channel: grpc.aio.Channel) -> None:
    deposit = await prepare(channel, Share(kind=Share.KIND_PERCENTAGE, value="30"))

    # The deal's lines ask for 2,059.78 before tax; 30 % is 617.934, half-up 617.93.
    assert deposit.deal_amount == usd("2059.78")
    assert deposit.share_amount == usd("617.93")
    assert deposit.share == Share(kind=Share.KIND_PERCENTAGE, value="30")
    totals = deposit.invoice.totals
    # The deal's 50.00 discount, 30 % of it too: 632.93 of items less 15.00.
    assert (totals.subtotal.amount, totals.discount.amount) == ("632.93", "15.00")
    assert deposit.invoice.lines[0].description.startswith("30 % of deal ")
    created = await invoices(channel).CreateInvoice(
        invoice_service_pb2.CreateInvoiceRequest(
            parent=DEAL, invoice=deposit.invoice, request_id="deposit"
        ),
        metadata=bearer(TOKEN_A),
    )
    assert created.invoice.state == invoice_pb2.INVOICE_STATE_OPEN

    rest = await prepare(channel, Share(kind=Share.KIND_REST))

    assert rest.invoiced_on_deal == usd("617.93")
    assert rest.share_amount == usd("1441.85")


async def test_a_share_over_what_is_left_is_a_field_violation(channel: grpc.aio.Channel) -> None:
    code, _info, details = await error_of(
        invoices(channel).PrepareInvoice(
            invoice_service_pb2.PrepareInvoiceRequest(
                parent=DEAL, share=Share(kind=Share.KIND_AMOUNT, value="99999")
            ),
            metadata=bearer(TOKEN_A),
        )
    )

    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(details) == {
        "share.value": MessageCode.SHARE_OVER_REST.english.format(rest="2059.78 USD")
    }
