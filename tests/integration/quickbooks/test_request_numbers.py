"""Numbers in QuickBooks request bodies: plain notation, never an exponent (``1E+2``), and JSON
numbers as QuickBooks writes money (reference §1.3 [C]), exact: never through a float."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.quickbooks.client import json_body
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.quickbooks.mappers import invoice_to_qbo
from domain.invoice_line import InvoiceLine
from tests.integration.quickbooks.harness import (
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

US_COMPANY = "3001"


def _round_lines() -> list[InvoiceLine]:
    return [
        InvoiceLine("Licences", Decimal(100), Decimal(1500), name="Services"),
        InvoiceLine("Hours", Decimal("2.50"), Decimal("80.00"), name="Hours"),
    ]


def _details(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        line["SalesItemLineDetail"]
        for line in body["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    ]


def test_round_quantities_and_prices_are_in_plain_notation() -> None:
    body = invoice_to_qbo(invoice("1", _round_lines()), is_us=True, item_ids_by_name={})

    assert [(str(d["Qty"]), str(d["UnitPrice"])) for d in _details(body)] == [
        ("100", "1500"),
        ("2.50", "80"),  # a fraction is left as it is
    ]


def test_decimals_are_written_as_exact_json_numbers_in_plain_notation() -> None:
    body = {
        "Qty": Decimal("1E+2"),
        "UnitPrice": Decimal("1.5E+3"),
        "Amount": Decimal("150000.00"),
        "Rate": Decimal("0.1000000000000000055511151231257827"),  # no float holds it
        "Tiny": Decimal("1E-7"),
        "Line": [{"Amount": Decimal("-0.01")}, 3],
        "Note": 'Café "Où"',
        "Sparse": True,
        "Empty": None,
    }

    text = json_body(body).decode()

    assert text == (
        '{"Qty":100,"UnitPrice":1500,"Amount":150000.00,'
        '"Rate":0.1000000000000000055511151231257827,"Tiny":0.0000001,'
        '"Line":[{"Amount":-0.01},3],"Note":"Caf\\u00e9 \\"O\\u00f9\\"","Sparse":true,'
        '"Empty":null}'
    )
    assert json.loads(text, parse_float=Decimal)["Rate"] == body["Rate"]


def test_a_decimal_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        json_body({"Amount": Decimal("NaN")})


@pytest.fixture
async def setup() -> AsyncIterator[tuple[RunningEmulator, QuickBooksAccountingGateway]]:
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, US_COMPANY, US_REALM)
        yield emulator, make_gateway(emulator, store)


@pytest.mark.integration
async def test_an_invoice_with_round_numbers_goes_out_with_json_numbers_and_no_exponent(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    draft = invoice("1", _round_lines())

    created = await gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    (post,) = emulator.requests("/invoice", method="POST")
    assert "E+" not in post["body"].upper()
    sent = json.loads(post["body"], parse_float=Decimal)
    licences = sent["Line"][0]
    detail = licences["SalesItemLineDetail"]
    assert (detail["Qty"], detail["UnitPrice"]) == (100, 1500)
    assert licences["Amount"] == Decimal("150000.00")
    assert created.total == draft.total()
