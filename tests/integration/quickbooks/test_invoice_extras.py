"""What a template adds to an invoice reaches QuickBooks (the emulator) as QuickBooks keeps it:
the sales custom fields the company turned on, CC/BCC, the private note before dealbooks' own
line, and the online payment options; and the form's custom fields come from Preferences."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from application.errors import UpstreamRejectedError
from application.ports.accounting import NamedRef
from application.reasons import MetadataKey
from domain.invoice_line import InvoiceLine, LineKind
from domain.invoice_template import CustomFieldValue, InvoiceExtras
from domain.money import Money
from tests.integration.quickbooks.harness import (
    INTL_REALM,
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
US_COMPANY = "3001"
UK_COMPANY = "3002"


@pytest.fixture
async def setup() -> AsyncIterator[tuple[RunningEmulator, QuickBooksAccountingGateway]]:
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, US_COMPANY, US_REALM)
        await connect(emulator, store, UK_COMPANY, INTL_REALM)
        yield emulator, make_gateway(emulator, store)


async def test_the_options_list_the_sales_custom_fields_turned_on(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    _, gateway = setup

    us = await gateway.invoice_options(US_COMPANY)
    uk = await gateway.invoice_options(UK_COMPANY)

    assert us.custom_fields == (NamedRef("1", "Crew #"), NamedRef("2", "PO Number"))
    assert uk.custom_fields == (NamedRef("1", "PO Number"),)


async def test_extras_are_recorded_by_quickbooks_as_sent(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    draft = invoice("1")
    extras = InvoiceExtras(
        private_note="Retainer for March",
        custom_fields=(CustomFieldValue("2", "PO-9981"), CustomFieldValue("3", "not on")),
        bill_email_cc="ops@someone.example, boss@someone.example",
        bill_email_bcc="books@us.example",
        allow_online_card=True,
        allow_online_ach=False,
    )

    created = await gateway.create_invoice(
        US_COMPANY, draft, request_id=f"inv-{draft.id}", extras=extras
    )

    recorded = emulator.invoices(US_REALM)[created.id]
    assert recorded["CustomField"] == [
        {"DefinitionId": "1", "Type": "StringType", "Name": "Crew #"},
        {"DefinitionId": "2", "Type": "StringType", "Name": "PO Number", "StringValue": "PO-9981"},
    ]
    assert recorded["BillEmailCc"] == {"Address": "ops@someone.example, boss@someone.example"}
    assert recorded["BillEmailBcc"] == {"Address": "books@us.example"}
    assert recorded["PrivateNote"].startswith("Retainer for March\n\ndealbooks invoice ")
    assert draft.id in recorded["PrivateNote"]
    assert (recorded["AllowOnlineCreditCardPayment"], recorded["AllowOnlineACHPayment"]) == (
        True,
        False,
    )
    assert created.total.amount == draft.total().amount  # the preview is still QuickBooks'


async def test_without_extras_nothing_more_is_sent(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    draft = invoice("1")

    await gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    raw = emulator.requests("/invoice", method="POST")[-1]["body"]
    body = json.loads(raw) if isinstance(raw, str) else raw
    for key in ("CustomField", "BillEmailCc", "BillEmailBcc", "AllowOnlineCreditCardPayment"):
        assert key not in body
    assert body["PrivateNote"].startswith("dealbooks invoice ")


async def test_a_deposit_received_reduces_the_balance_quickbooks_records(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    draft = invoice("1")  # 2 x 125.50 = 251.00, no tax

    created = await gateway.create_invoice(
        US_COMPANY,
        draft,
        request_id=f"inv-{draft.id}",
        extras=InvoiceExtras(deposit=Decimal("75.30")),
    )

    recorded = emulator.invoices(US_REALM)[created.id]
    assert (recorded["TotalAmt"], recorded["Deposit"]) == (Decimal("251.00"), Decimal("75.30"))
    assert created.total == Money.of("251.00", "USD")
    assert created.balance == Money.of("175.70", "USD")  # what the preview shows


async def test_a_deposit_over_the_total_is_refused_by_the_emulator(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    _, gateway = setup
    draft = invoice("1")

    with pytest.raises(UpstreamRejectedError) as err:
        await gateway.create_invoice(
            US_COMPANY,
            draft,
            request_id=f"inv-{draft.id}",
            extras=InvoiceExtras(deposit=Decimal("251.01")),
        )

    assert err.value.metadata[MetadataKey.VENDOR_CODE] == "6000"


async def test_the_options_say_whether_the_sales_forms_take_discounts_and_deposits(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    emulator, gateway = setup
    await emulator.admin(
        "POST",
        f"companies/{US_REALM}/preferences",
        {"allow_discount": False, "allow_deposit": False},
    )

    us = (await gateway.invoice_options(US_COMPANY)).preferences
    uk = (await gateway.invoice_options(UK_COMPANY)).preferences

    assert (us.discounts_allowed, us.deposits_allowed) == (False, False)
    assert (uk.discounts_allowed, uk.deposits_allowed) == (True, True)


async def test_with_discounts_off_quickbooks_leaves_the_discount_line_out(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    """Why a discount is refused before it is sent to such a company: QuickBooks would record
    the invoice without it, for more than the preview showed."""
    emulator, gateway = setup
    await emulator.admin("POST", f"companies/{US_REALM}/preferences", {"allow_discount": False})
    draft = invoice(
        "1",
        [
            InvoiceLine("Work", Decimal(2), Decimal(100), name="Services"),
            InvoiceLine("Loyalty", Decimal(1), Decimal(-50), kind=LineKind.DISCOUNT),
        ],
    )

    created = await gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    assert created.total == Money.of("200", "USD") != draft.totals().total


async def test_with_custom_transaction_numbers_on_the_invoice_still_gets_the_next_number(
    setup: tuple[RunningEmulator, QuickBooksAccountingGateway],
) -> None:
    """QuickBooks leaves DocNumber empty for such a company unless asked to number it: the
    invoice would reach the customer with no number."""
    emulator, gateway = setup
    await emulator.admin("POST", f"companies/{US_REALM}/preferences", {"custom_txn_numbers": True})
    first, second = invoice("1"), invoice("1")

    numbered = [
        await gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
        for draft in (first, second)
    ]

    numbers = [created.doc_number for created in numbered]
    assert all(numbers)
    assert numbers[0] != numbers[1]
    assert [emulator.invoices(US_REALM)[c.id]["DocNumber"] for c in numbered] == numbers
