"""Inputs that once ended INTERNAL, each through a real server and Postgres: every one is now
INVALID_ARGUMENT naming the field (as ``test_hostile_input`` fuzzes for). They sit in a module of
their own: each test here empties the database (``pg_engine``), which would pull it from under
the server that module shares between its tests."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from dealbooks.v1 import (
    customer_pb2,
    invoice_pb2,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_pb2,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from domain.messages import MessageCode
from entrypoints.demo import DemoStack
from entrypoints.emulated import DEMO_COMPANY
from entrypoints.service import Service
from tests.e2e.conftest import TOKEN_A, bearer
from tests.e2e.test_invoice_templates import field_violations
from tests.e2e.test_ui_api import call as call_ui_api

pytestmark = pytest.mark.e2e


@pytest.fixture
async def rpc(service: Service) -> AsyncIterator[grpc.aio.Channel]:
    assert service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as ch:
        yield ch


DEAL = "companies/1001/deals/42"


def a_line(**fields: Any) -> invoice_pb2.LineItem:
    return invoice_pb2.LineItem(
        **{"name": "Services", "quantity": "1", "unit_price": "1", "item_id": "1", **fields}
    )


def an_invoice(**fields: Any) -> invoice_pb2.Invoice:
    fields.setdefault("lines", [a_line()])
    fields.setdefault("customer", customer_pb2.Customer(display_name="Acme Corp"))
    return invoice_pb2.Invoice(currency_code="USD", **fields)


async def create_invoice(
    channel: grpc.aio.Channel, invoice: invoice_pb2.Invoice, request_id: str = "hostile-1"
) -> invoice_service_pb2.CreateInvoiceResponse:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
    request = invoice_service_pb2.CreateInvoiceRequest(
        parent=DEAL, invoice=invoice, request_id=request_id
    )
    reply: invoice_service_pb2.CreateInvoiceResponse = await stub.CreateInvoice(
        request, metadata=bearer(TOKEN_A)
    )
    return reply


async def refusal(call: Awaitable[object]) -> dict[str, str]:
    """The field violations (field -> MessageCode) of a call that must end INVALID_ARGUMENT."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    exc = raised.value
    assert exc.code() is grpc.StatusCode.INVALID_ARGUMENT, (exc.code(), exc.details())
    return field_violations(exc)


@pytest.mark.parametrize(
    ("lines", "field", "code"),
    [
        # 14 digits before the point is what an amount column holds (NUMERIC(20, 6)).
        (
            [a_line(quantity="100000000000000")],
            "invoice.lines[0].quantity",
            MessageCode.NUMBER_TOO_LARGE,
        ),
        (
            [a_line(unit_price="1000000000000000")],
            "invoice.lines[0].unit_price",
            MessageCode.NUMBER_TOO_LARGE,
        ),
        (
            [a_line(quantity="10000000", unit_price="10000000")],
            "invoice.lines[0]",
            MessageCode.AMOUNT_TOO_LARGE,
        ),
        (
            [a_line(quantity="60000000000000"), a_line(quantity="60000000000000")],
            "invoice.lines",
            MessageCode.AMOUNT_TOO_LARGE,
        ),
    ],
    ids=["quantity", "unit price", "quantity x price", "the lines' total"],
)
async def test_an_amount_too_large_to_store_is_a_field_error(
    rpc: grpc.aio.Channel, lines: list[invoice_pb2.LineItem], field: str, code: str
) -> None:
    found = await refusal(create_invoice(rpc, an_invoice(lines=lines)))
    assert found.get(field) == code, found


async def test_the_largest_amount_an_invoice_may_have_is_stored(rpc: grpc.aio.Channel) -> None:
    lines = [a_line(quantity="99999999999999.99")]
    reply = await create_invoice(rpc, an_invoice(lines=lines))
    assert reply.invoice.totals.total.amount == "99999999999999.99"


NUL_IN_CREATE = {
    "invoice.memo": an_invoice(memo="a\x00b"),
    "invoice.lines[0].name": an_invoice(lines=[a_line(name="a\x00b")]),
    "invoice.lines[0].description": an_invoice(lines=[a_line(description="a\x00b")]),
    "invoice.lines[0].item_id": an_invoice(lines=[a_line(item_id="1\x00")]),
    "invoice.terms_id": an_invoice(terms_id="3\x00"),
    "invoice.customer.email": an_invoice(
        customer=customer_pb2.Customer(display_name="Acme", email="a\x00@b.com")
    ),
    "invoice.customer.tax_id": an_invoice(
        customer=customer_pb2.Customer(display_name="Acme", tax_id="x\x00y")
    ),
    "invoice.customer.quickbooks_customer_id": an_invoice(
        customer=customer_pb2.Customer(display_name="Acme", quickbooks_customer_id="1\x00")
    ),
    "invoice.customer.billing_address.line1": an_invoice(
        customer=customer_pb2.Customer(
            display_name="Acme", billing_address=customer_pb2.PostalAddress(line1="x\x00y")
        )
    ),
}


@pytest.mark.parametrize("field", list(NUL_IN_CREATE))
async def test_text_with_a_nul_character_is_refused_naming_its_field(
    rpc: grpc.aio.Channel, field: str
) -> None:
    found = await refusal(create_invoice(rpc, NUL_IN_CREATE[field]))
    assert found == {field: MessageCode.NOT_TEXT}


@pytest.mark.parametrize("field", ["default_item", "default_terms"])
async def test_a_setting_with_a_nul_character_is_refused_naming_its_field(
    rpc: grpc.aio.Channel, field: str
) -> None:
    stub = settings_service_pb2_grpc.SettingsServiceStub(rpc)
    settings = settings_pb2.Settings(name="companies/1001/settings", **{field: "1\x00"})
    request = settings_service_pb2.UpdateSettingsRequest(
        settings=settings, update_mask=field_mask_pb2.FieldMask(paths=[field])
    )
    found = await refusal(stub.UpdateSettings(request, metadata=bearer(TOKEN_A)))
    assert found == {f"settings.{field}": MessageCode.NOT_TEXT}


async def test_the_ui_api_refuses_text_with_a_nul_character_naming_its_field(
    demo: DemoStack,
) -> None:
    status, _, body = await call_ui_api(
        demo,
        "/api/v1/InvoiceService/CreateInvoice",
        {
            "parent": f"companies/{DEMO_COMPANY}/deals/3",
            "requestId": "ui-api-nul",
            "invoice": {
                "customer": {"displayName": "Initech Inc."},
                "currencyCode": "USD",
                "memo": "a\u0000b",
                "lines": [{"name": "Consulting", "quantity": "1", "unitPrice": "150"}],
            },
        },
    )
    assert status == 400, body
    found = [(e["field"], e["code"]) for e in body["errors"]]
    assert found == [("invoice.memo", MessageCode.NOT_TEXT)]


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([a_line(quantity="1e999999", unit_price="10")], "invoice.lines[0].quantity"),
        ([a_line(unit_price="1e999999")], "invoice.lines[0].unit_price"),
        (
            [a_line(), a_line(unit_price="-1e999999", kind=invoice_pb2.LINE_KIND_DISCOUNT)],
            "invoice.lines[1].unit_price",
        ),
    ],
    ids=["quantity", "unit price", "discount line"],
)
async def test_a_number_too_large_to_compute_with_is_a_field_error(
    rpc: grpc.aio.Channel, lines: list[invoice_pb2.LineItem], field: str
) -> None:
    found = await refusal(create_invoice(rpc, an_invoice(lines=lines)))
    assert found.get(field) == MessageCode.NUMBER_TOO_LARGE, found


async def use_due_date_rule(channel: grpc.aio.Channel, rule: int) -> None:
    stub = settings_service_pb2_grpc.SettingsServiceStub(channel)
    day = 10 if rule == customer_pb2.DUE_DATE_RULE_DAY_OF_NEXT_MONTH else 0
    settings = settings_pb2.Settings(
        name="companies/1001/settings",
        due_date_policy=customer_pb2.DueDatePolicy(rule=rule, day_of_month=day),  # type: ignore[arg-type]
    )
    request = settings_service_pb2.UpdateSettingsRequest(
        settings=settings, update_mask=field_mask_pb2.FieldMask(paths=["due_date_policy"])
    )
    await stub.UpdateSettings(request, metadata=bearer(TOKEN_A))


@pytest.mark.parametrize(
    ("rule", "terms_id"),
    [
        (customer_pb2.DUE_DATE_RULE_END_OF_NEXT_MONTH, ""),
        (customer_pb2.DUE_DATE_RULE_DAY_OF_NEXT_MONTH, ""),
        (customer_pb2.DUE_DATE_RULE_QUICKBOOKS_TERM, "3"),  # Net 30
        (customer_pb2.DUE_DATE_RULE_QUICKBOOKS_TERM, "6"),  # 15th of the month
    ],
    ids=["end of next month", "day of next month", "net 30", "date-driven term"],
)
async def test_a_far_future_issue_date_is_a_field_error_whatever_the_due_date_rule(
    rpc: grpc.aio.Channel, rule: int, terms_id: str
) -> None:
    await use_due_date_rule(rpc, rule)
    invoice = an_invoice(issue_date="9999-12-20", terms_id=terms_id)
    found = await refusal(create_invoice(rpc, invoice))
    assert found == {"invoice.issue_date": MessageCode.DATE_OUT_OF_RANGE}


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"issue_date": "0001-01-01"}, "invoice.issue_date"),
        ({"due_date": "9999-12-31"}, "invoice.due_date"),
    ],
    ids=["issued in year 1", "due in year 9999"],
)
async def test_dates_outside_the_range_invoices_use_are_field_errors(
    rpc: grpc.aio.Channel, dates: dict[str, str], field: str
) -> None:
    found = await refusal(create_invoice(rpc, an_invoice(**dates)))
    assert found == {field: MessageCode.DATE_OUT_OF_RANGE}


def a_page_token(position: dict[str, object]) -> str:
    raw = json.dumps(position).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [
        {"t": "0001-01-01T00:00:00+14:00", "i": "x"},  # year 0 in UTC
        {"t": "9999-12-31T23:59:59-14:00", "i": "x"},  # year 10000 in UTC
        {"t": "2020-01-01T00:00:00", "i": "x"},  # no offset: we never issue one
        {"t": "2020-01-01T00:00:00+00:00", "i": "\u0000"},
        {"t": "2020-01-01T00:00:00+00:00", "i": "x" * 65},
        {"t": "2020-01-01T00:00:00+00:00", "i": 7},
    ],
    ids=["year 0", "year 10000", "naive", "nul id", "long id", "number id"],
)
async def test_an_edited_invoice_page_token_is_damaged(
    rpc: grpc.aio.Channel, position: dict[str, object]
) -> None:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(rpc)
    token = a_page_token({"p": DEAL, **position})
    request = invoice_service_pb2.ListInvoicesRequest(parent=DEAL, page_token=token)
    found = await refusal(stub.ListInvoices(request, metadata=bearer(TOKEN_A)))
    assert found == {"page_token": MessageCode.PAGE_TOKEN_DAMAGED}


@pytest.mark.parametrize("before", [2**31, 10**30, 0, -1, True])
async def test_an_edited_history_page_token_is_damaged(
    rpc: grpc.aio.Channel, before: object
) -> None:
    stub = invoice_service_pb2_grpc.InvoiceServiceStub(rpc)
    token = a_page_token({"p": f"{DEAL}/events", "b": before})
    request = invoice_service_pb2.ListInvoiceEventsRequest(parent=DEAL, page_token=token)
    found = await refusal(stub.ListInvoiceEvents(request, metadata=bearer(TOKEN_A)))
    assert found == {"page_token": MessageCode.PAGE_TOKEN_DAMAGED}
