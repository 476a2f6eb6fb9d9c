"""A QuickBooks customer with several email addresses in its one email field, as QuickBooks'
own forms keep them ("ap@…, boss@…"): read, searched, invoiced and sent to all of them (the
first in BillEmail, which takes one, the others in CC). Before,
reading such a customer failed (the field was taken for one malformed address), so its search
results and every draft of a deal linked to it failed too. Nor does a name or an address
QuickBooks holds beyond our limits fail the read any more."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from adapters.quickbooks.mappers import customer_from_qbo, invoice_to_qbo
from domain.customer import Customer
from domain.invoice_template import InvoiceExtras
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
    recorded = setup.emulator.invoices()[created.id]
    assert recorded["BillEmail"]["Address"] == "ap@lonestar.example"  # "only one" (§3.2)
    assert recorded["BillEmailCc"]["Address"] == "boss@lonestar.example"
    await setup.gateway.send_invoice(US_COMPANY, created.id, to=None, request_id=f"s-{draft.id}")

    company = setup.emulator.emulator.store.company(US_REALM)
    assert company is not None
    sent = [(e["to"], e["cc"]) for e in company.emails if e["invoice_id"] == created.id]
    assert sent == [("ap@lonestar.example", "boss@lonestar.example")]


def test_the_customers_other_addresses_are_copied_before_the_templates_each_once() -> None:
    draft = invoice("58")
    draft.customer = Customer("Acme", email="ap@acme.example, boss@acme.example")
    cc = "Boss@acme.example, audit@acme.example"
    body = invoice_to_qbo(
        draft, is_us=True, item_ids_by_name={}, extras=InvoiceExtras(bill_email_cc=cc)
    )
    assert body["BillEmail"] == {"Address": "ap@acme.example"}
    assert body["BillEmailCc"] == {"Address": "boss@acme.example, audit@acme.example"}


def test_a_customer_field_quickbooks_takes_but_no_address_reads_without_failing() -> None:
    """QuickBooks takes anything with an "@" and a "." (§6), as the emulator does."""
    assert _email_read("Accounts <ap@acme.example>; boss@acme.example") == "boss@acme.example"


def test_a_name_or_address_quickbooks_holds_beyond_our_limits_reads_without_failing() -> None:
    """Reading a customer never fails on what QuickBooks holds: a name with a tab or line
    break reads on one line, Line2 to Line5 (500 characters each there) fit our one line."""
    long_lines = {f"Line{n}": f"{n}" * 200 for n in range(2, 6)}
    body = {
        "Id": "58",
        "DisplayName": "Acme\tCorp\n",
        "BillAddr": {"Line1": "1 Main", **long_lines},
    }
    customer = customer_from_qbo(body).customer
    assert customer.display_name == "Acme Corp"
    assert customer.billing_address is not None
    assert len(customer.billing_address.line2) == 500
