"""A QuickBooks customer with several email addresses in its one email field, as QuickBooks'
own forms keep them ("ap@…, boss@…"): read, searched, invoiced and sent to all of them. Before,
reading such a customer failed (the field was taken for one malformed address), so its search
results and every draft of a deal linked to it failed too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.quickbooks.mappers import customer_from_qbo
from domain.customer import Customer
from tests.integration.quickbooks.harness import US_REALM, Setup, connected, invoice

pytestmark = pytest.mark.integration
US_COMPANY = "3001"


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with connected((US_COMPANY, US_REALM)) as setup:
        yield setup


def _email_read(text: str) -> str | None:
    body = {"Id": "58", "DisplayName": "Acme", "PrimaryEmailAddr": {"Address": text}}
    return customer_from_qbo(body).customer.email


def test_every_address_of_a_customers_email_field_is_read() -> None:
    assert _email_read("ap@acme.example,boss@acme.example") == (
        "ap@acme.example, boss@acme.example"
    )
    assert _email_read("ap@acme.example; boss@acme.example") == (
        "ap@acme.example, boss@acme.example"
    )


def test_what_does_not_look_like_an_address_is_left_out_rather_than_failing_the_read() -> None:
    # QuickBooks checks only for an "@" and a "." (reference §6).
    assert _email_read("Accounts Payable <ap@acme.example>") is None
    assert _email_read("ap@acme.example, see the contract") == "ap@acme.example"
    # 100 characters without spaces in QuickBooks; ", " between them would make 101.
    first, second = "a" * 40 + "@acme.example", "b" * 33 + "@acme.example"
    assert len(f"{first},{second}") == 100
    assert _email_read(f"{first},{second}") == first


async def test_a_customer_with_two_addresses_is_invoiced_and_sent_to_both(setup: Setup) -> None:
    both = "ap@lonestar.example, boss@lonestar.example"
    name = f"Two Inboxes {uuid.uuid4().hex[:6]}"
    made = await setup.gateway.create_customer(
        US_COMPANY, Customer(name, email=both), request_id=f"cus-{uuid.uuid4()}"
    )

    read = await setup.gateway.get_customer(US_COMPANY, made.id)
    assert read.customer.email == both
    found = await setup.gateway.search_customers(US_COMPANY, name[:11])
    assert [c.customer.email for c in found if c.id == made.id] == [both]

    draft = invoice(made.id)
    draft.customer = read.customer
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert setup.emulator.invoices()[created.id]["BillEmail"]["Address"] == both
    await setup.gateway.send_invoice(US_COMPANY, created.id, to=None, request_id=f"s-{draft.id}")

    company = setup.emulator.emulator.store.company(US_REALM)
    assert company is not None
    assert [e["to"] for e in company.emails if e["invoice_id"] == created.id] == [both]
