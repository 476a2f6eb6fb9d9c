"""AccountingGateway: one suite, run against the in-memory fake and against the real QuickBooks
adapter talking to the QuickBooks emulator on 127.0.0.1 (the fake's behaviour is the contract)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.in_memory.accounting import InMemoryAccountingGateway
from adapters.in_memory.connections import InMemoryTokenStore
from application.errors import IntegrationNotConnectedError, NotFoundError
from application.ports.accounting import AccountingCustomer, AccountingGateway
from domain.customer import Address, Customer
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice
from domain.invoice_line import InvoiceLine
from domain.money import Money
from domain.payment_term import PaymentTerm
from tests.integration.quickbooks.harness import connect, make_gateway, running_emulator

COMPANY = "1001"


@dataclass
class Subject:
    gateway: AccountingGateway
    company_id: str
    now: datetime
    kind: str


@pytest.fixture(params=["in_memory", pytest.param("quickbooks", marks=pytest.mark.integration)])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "in_memory":
        fake = InMemoryAccountingGateway()
        fake.connect(COMPANY)
        yield Subject(fake, COMPANY, fake.now, "in_memory")
        return
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, COMPANY)
        yield Subject(make_gateway(emulator, store), COMPANY, datetime.now(UTC), "quickbooks")


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


async def new_customer(subject: Subject, name: str | None = None) -> AccountingCustomer:
    return await subject.gateway.create_customer(
        subject.company_id,
        Customer(name or unique("Contract Co"), email="ap@contract.example"),
        request_id=f"cus-{uuid.uuid4()}",
    )


def invoice_for(customer: AccountingCustomer, subject: Subject, **extra: object) -> Invoice:
    lines = extra.pop("lines", None) or [
        InvoiceLine("Implementation", Decimal(1), Decimal("1500.00"), name="Services"),
        InvoiceLine("Support hours", Decimal(3), Decimal("80.00"), name="Services"),
    ]
    return Invoice.request(
        id=InvoiceId(str(uuid.uuid4())),
        company_id=CompanyId(subject.company_id),
        deal_id=DealId("42"),
        customer=customer.customer,
        lines=lines,  # type: ignore[arg-type]
        currency="USD",
        issue_date=subject.now.date(),
        due_date=extra.pop("due_date", subject.now.date() + timedelta(days=30)),  # type: ignore[arg-type]
        memo="Thank you for your business.",
        created_by="7",
        now=subject.now,
        terms=extra.pop("terms", None),  # type: ignore[arg-type]
    )


async def test_calls_for_a_company_without_a_connection_are_refused(subject: Subject) -> None:
    with pytest.raises(IntegrationNotConnectedError):
        await subject.gateway.search_customers("no-such-company", "Acme")


async def test_a_created_customer_can_be_read_and_found_by_name_and_email(
    subject: Subject,
) -> None:
    name = unique("O'Hara & Sons")
    created = await subject.gateway.create_customer(
        subject.company_id,
        Customer(
            name,
            email=f"{uuid.uuid4().hex[:6]}@ohara.example",
            billing_address=Address(line1="1 Main St", city="Springfield", postal_code="94105"),
        ),
        request_id=f"cus-{uuid.uuid4()}",
    )
    assert created.customer.display_name == name
    assert created.customer.quickbooks_id == created.id

    read = await subject.gateway.get_customer(subject.company_id, created.id)
    assert read.customer.email == created.customer.email
    assert read.customer.billing_address is not None
    assert read.customer.billing_address.city == "Springfield"

    by_name = await subject.gateway.search_customers(subject.company_id, name[:12])
    assert created.id in {c.id for c in by_name}
    by_email = await subject.gateway.search_customers(
        subject.company_id, created.customer.email or ""
    )
    assert [c.id for c in by_email] == [created.id]


async def test_creating_a_customer_twice_with_one_request_id_creates_it_once(
    subject: Subject,
) -> None:
    customer = Customer(unique("Twice Ltd"))
    request_id = f"cus-{uuid.uuid4()}"
    first = await subject.gateway.create_customer(
        subject.company_id, customer, request_id=request_id
    )
    second = await subject.gateway.create_customer(
        subject.company_id, customer, request_id=request_id
    )
    assert first.id == second.id
    found = await subject.gateway.search_customers(subject.company_id, customer.display_name)
    assert [c.id for c in found] == [first.id]


async def test_a_taken_display_name_gets_a_distinct_name_not_a_duplicate(subject: Subject) -> None:
    first = await new_customer(subject)
    second = await subject.gateway.create_customer(
        subject.company_id,
        Customer(first.customer.display_name),
        request_id=f"cus-{uuid.uuid4()}",
    )
    assert second.id != first.id
    assert second.customer.display_name != first.customer.display_name
    assert second.customer.display_name.startswith(first.customer.display_name)


async def test_an_unknown_customer_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFoundError):
        await subject.gateway.get_customer(subject.company_id, "999999")


async def test_customer_details_are_updated_sparsely(subject: Subject) -> None:
    created = await new_customer(subject)
    details = Customer(
        created.customer.display_name,
        email="billing@updated.example",
        billing_address=Address(line1="2 Side St", city="Shelbyville"),
    )
    updated = await subject.gateway.update_customer_details(
        subject.company_id, created.id, details, frozenset({"email", "billing_address"})
    )
    assert updated.customer.email == "billing@updated.example"
    assert updated.customer.billing_address is not None
    assert updated.customer.billing_address.city == "Shelbyville"
    assert updated.customer.display_name == created.customer.display_name
    assert int(updated.sync_token) > int(created.sync_token)


async def test_invoice_options_offer_currency_terms_tax_codes_and_items(subject: Subject) -> None:
    options = await subject.gateway.invoice_options(subject.company_id)
    assert options.preferences.home_currency == "USD"
    assert "USD" in options.preferences.enabled_currencies
    assert options.preferences.is_us_company
    net_30 = next(term for term in options.terms if term.name == "Net 30")
    assert (net_30.due_days, net_30.day_of_month_due) == (30, None)
    assert {code.id for code in options.tax_codes} >= {"TAX", "NON"}
    assert any(item.name == "Services" for item in options.items)


async def test_an_invoice_with_a_term_and_no_due_date_is_due_by_the_term(
    subject: Subject,
) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject, due_date=None, terms=PaymentTerm("2", "Net 15"))

    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )

    assert (created.terms_id, created.terms_name) == ("2", "Net 15")
    assert created.due_date == subject.now.date() + timedelta(days=15)


async def test_a_due_date_sent_with_a_term_is_recorded_as_sent(subject: Subject) -> None:
    customer = await new_customer(subject)
    due = subject.now.date() + timedelta(days=3)
    invoice = invoice_for(customer, subject, due_date=due, terms=PaymentTerm("3", "Net 30"))

    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )

    assert (created.terms_id, created.due_date) == ("3", due)


async def test_a_created_invoice_has_our_total_and_is_open(subject: Subject) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    assert created.total == invoice.total() == Money.of("1740.00", "USD")
    assert created.balance == created.total
    assert created.customer_id == customer.id
    assert created.currency == "USD"
    assert created.due_date == invoice.due_date
    assert not created.voided
    assert created.doc_number

    again = await subject.gateway.get_invoice(subject.company_id, created.id)
    assert again is not None
    assert again.id == created.id
    assert again.total == created.total


async def test_creating_an_invoice_twice_with_one_request_id_creates_it_once(
    subject: Subject,
) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    first = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    second = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    assert first.id == second.id


async def test_many_invoices_are_read_at_once_and_missing_ones_are_left_out(
    subject: Subject,
) -> None:
    customer = await new_customer(subject)
    ids = []
    for _ in range(3):
        invoice = invoice_for(customer, subject)
        created = await subject.gateway.create_invoice(
            subject.company_id, invoice, request_id=f"inv-{invoice.id}"
        )
        ids.append(created.id)
    found = await subject.gateway.get_invoices(subject.company_id, [*ids, "987654"])
    assert set(found) == set(ids)
    assert await subject.gateway.get_invoices(subject.company_id, []) == {}


async def test_a_voided_invoice_is_zeroed_and_marked_voided(subject: Subject) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    voided = await subject.gateway.void_invoice(
        subject.company_id, created.id, request_id=f"void-{invoice.id}"
    )
    assert voided.voided
    assert voided.total.is_zero()
    assert voided.balance.is_zero()
    assert voided.sync_token != created.sync_token
    read = await subject.gateway.get_invoice(subject.company_id, created.id)
    assert read is not None
    assert read.voided


async def test_a_deleted_invoice_is_gone_and_deleting_again_is_harmless(subject: Subject) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    await subject.gateway.delete_invoice(
        subject.company_id, created.id, request_id=f"del-{invoice.id}"
    )
    assert await subject.gateway.get_invoice(subject.company_id, created.id) is None
    await subject.gateway.delete_invoice(
        subject.company_id, created.id, request_id=f"del-{invoice.id}-again"
    )
    assert await subject.gateway.get_invoices(subject.company_id, [created.id]) == {}


async def test_sending_an_invoice_emails_it_to_the_given_address(subject: Subject) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    sent = await subject.gateway.send_invoice(
        subject.company_id, created.id, to="someone+else@contract.example", request_id="send-1"
    )
    assert sent.email_status == "EmailSent"
    assert sent.bill_email == "someone+else@contract.example"


async def test_the_pdf_is_a_pdf_and_unknown_invoices_are_not_found(subject: Subject) -> None:
    customer = await new_customer(subject)
    invoice = invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, invoice, request_id=f"inv-{invoice.id}"
    )
    pdf = await subject.gateway.invoice_pdf(subject.company_id, created.id)
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(NotFoundError):
        await subject.gateway.invoice_pdf(subject.company_id, "987654")


async def test_the_deep_link_opens_the_invoice_in_quickbooks(subject: Subject) -> None:
    link = await subject.gateway.invoice_link(subject.company_id, "130")
    assert link == "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=130"


async def test_changes_since_list_changed_and_deleted_invoices(subject: Subject) -> None:
    since = subject.now - timedelta(minutes=5)
    customer = await new_customer(subject)
    kept, dropped = invoice_for(customer, subject), invoice_for(customer, subject)
    created = await subject.gateway.create_invoice(
        subject.company_id, kept, request_id=f"inv-{kept.id}"
    )
    gone = await subject.gateway.create_invoice(
        subject.company_id, dropped, request_id=f"inv-{dropped.id}"
    )
    await subject.gateway.delete_invoice(subject.company_id, gone.id, request_id=f"del-{gone.id}")
    changes = await subject.gateway.changes_since(subject.company_id, since)
    assert created.id in {i.id for i in changes.invoices}
    assert gone.id not in {i.id for i in changes.invoices}
    assert gone.id in changes.deleted_invoice_ids
    assert changes.as_of >= since


async def test_a_working_connection_passes_the_check(subject: Subject) -> None:
    await subject.gateway.check_connection(subject.company_id)


async def test_the_check_of_a_company_without_a_connection_says_not_connected(
    subject: Subject,
) -> None:
    with pytest.raises(IntegrationNotConnectedError):
        await subject.gateway.check_connection("9999")
