"""The QuickBooks adapter's own behaviour against the emulator: exactly-once creation through a
dropped response, retries of 5xx/429 only, stale SyncToken handling, and money to the cent."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.postgres.coordination import PostgresRateLimiter
from adapters.postgres.engine import build_engine
from adapters.quickbooks.client import QBO_RATE_LIMIT
from adapters.quickbooks.faults import QuickBooksRejectedError
from application.errors import UpstreamRejectedError, UpstreamUnavailableError
from application.reasons import MetadataKey, Reason
from domain.customer import Address, Customer
from domain.invoice_line import InvoiceLine, TaxMethod
from domain.money import Money
from emulators.quickbooks.config import Limits
from tests.integration.quickbooks.harness import (
    INTL_REALM,
    US_REALM,
    Setup,
    connect,
    connected,
    emulator_config,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
US_COMPANY = "3001"
UK_COMPANY = "3002"
STALE = {
    "code": "5010",
    "message": "Stale Object Error",
    "detail": "Stale Object Error : You and root were working on this at the same time. root "
    "finished before you did, so your work was not saved.",
}


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with connected((US_COMPANY, US_REALM), (UK_COMPANY, INTL_REALM)) as setup:
        yield setup


def with_note(setup: Setup, invoice_id: str, realm: str = US_REALM) -> list[dict[str, object]]:
    return [
        inv
        for inv in setup.emulator.invoices(realm).values()
        if invoice_id in str(inv.get("PrivateNote", ""))
    ]


async def test_a_create_whose_answer_is_lost_after_commit_makes_one_invoice(setup: Setup) -> None:
    draft = invoice("1")
    await setup.emulator.fault(method="POST", path="/invoice$", drop_after_commit=True, count=1)
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    again = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert again.id == created.id
    assert len(with_note(setup, draft.id)) == 1
    posts = setup.emulator.requests("/invoice", method="POST")
    assert [p["status"] for p in posts] == ["dropped-after-200", 200, 200]
    assert {p["query"]["requestid"] for p in posts} == {f"inv-{draft.id}"}
    assert all(p["query"]["minorversion"] == "75" for p in posts)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_retried(setup: Setup, status: int) -> None:
    draft = invoice("1")
    await setup.emulator.fault(method="POST", path="/invoice$", status=status, count=2)
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert created.id
    assert len(with_note(setup, draft.id)) == 1
    statuses = [p["status"] for p in setup.emulator.requests("/invoice", method="POST")]
    assert statuses == [status, status, 200]


async def test_an_xml_throttle_body_is_understood_and_retried(setup: Setup) -> None:
    await setup.emulator.fault(path="/invoice/", status=429, xml=True, count=1)
    assert await setup.gateway.get_invoice(US_COMPANY, "999999") is None


async def test_a_lasting_outage_becomes_upstream_unavailable(setup: Setup) -> None:
    await setup.emulator.fault(path="/invoice/", status=503)
    with pytest.raises(UpstreamUnavailableError) as raised:
        await setup.gateway.get_invoice(US_COMPANY, "1")
    assert raised.value.reason == Reason.QUICKBOOKS_UNAVAILABLE
    assert raised.value.metadata[MetadataKey.INTUIT_TID]
    assert len(setup.emulator.requests("/invoice/")) == 4


async def test_once_calls_give_up_in_a_row_calls_to_that_company_fail_at_once_for_a_while() -> None:
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, US_COMPANY, US_REALM)
        await connect(emulator, store, UK_COMPANY, INTL_REALM)
        gateway = make_gateway(emulator, store, cool_off_seconds=0.5)
        await emulator.fault(path="/invoice/", realm=US_REALM, status=503)
        # One call using up its retries could be bad luck; three in a row is an outage.
        for _ in range(3):
            with pytest.raises(UpstreamUnavailableError):
                await gateway.get_invoice(US_COMPANY, "1")
        assert len(emulator.requests(f"{US_REALM}/invoice/")) == 12
        # QuickBooks is down for this company: the next callers do not each spend a backoff
        # (and the company's request budget) finding out again.
        for _ in range(5):
            with pytest.raises(UpstreamUnavailableError) as raised:
                await gateway.get_invoice(US_COMPANY, "1")
            assert raised.value.reason == Reason.QUICKBOOKS_UNAVAILABLE
            assert raised.value.retry_after_seconds == 0.5
        assert len(emulator.requests(f"{US_REALM}/invoice/")) == 12
        # Another company's calls still go out.
        assert await gateway.get_invoice(UK_COMPANY, "999999") is None
        # After the cool-off, calls are sent again; an answer ends it.
        await emulator.admin("DELETE", "faults")
        await asyncio.sleep(0.6)
        assert await gateway.get_invoice(US_COMPANY, "999999") is None
        assert await gateway.get_invoice(US_COMPANY, "999999") is None
        # ... and the count: a single give-up afterwards is bad luck, not an outage.
        await emulator.fault(path="/invoice/", realm=US_REALM, status=503, count=4)
        with pytest.raises(UpstreamUnavailableError):
            await gateway.get_invoice(US_COMPANY, "1")
        assert await gateway.get_invoice(US_COMPANY, "999999") is None


async def test_validation_faults_are_not_retried_and_say_why(setup: Setup) -> None:
    draft = invoice("424242")  # no such customer
    with pytest.raises(UpstreamRejectedError) as raised:
        await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert raised.value.reason == Reason.QUICKBOOKS_REJECTED
    assert raised.value.metadata[MetadataKey.VENDOR_CODE] == "2500"
    assert raised.value.metadata[MetadataKey.INTUIT_TID]
    assert "no longer has" in raised.value.message
    assert len(setup.emulator.requests("/invoice", method="POST")) == 1


async def test_a_stale_sync_token_is_re_read_and_retried_once(setup: Setup) -> None:
    draft = invoice("1")
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    # Somebody records a payment in QuickBooks: the invoice's SyncToken moves on.
    await setup.emulator.admin(
        "POST", f"companies/{US_REALM}/payments", {"invoice_id": created.id, "amount": "10"}
    )
    await setup.emulator.fault(method="POST", path="/invoice$", status=400, fault=STALE, count=1)
    voided = await setup.gateway.void_invoice(US_COMPANY, created.id, request_id="void-1")
    assert voided.voided
    voids = [r for r in setup.emulator.requests("/invoice", "POST") if r["query"].get("operation")]
    assert [v["status"] for v in voids] == [400, 200]
    assert voids[0]["query"]["requestid"] != voids[1]["query"]["requestid"]


async def test_a_second_stale_sync_token_is_reported(setup: Setup) -> None:
    draft = invoice("1")
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    await setup.emulator.fault(method="POST", path="/invoice$", status=400, fault=STALE, count=2)
    with pytest.raises(QuickBooksRejectedError) as raised:
        await setup.gateway.delete_invoice(US_COMPANY, created.id, request_id="del-1")
    assert raised.value.code == "5010"
    assert await setup.gateway.get_invoice(US_COMPANY, created.id) is not None


def line(
    qty: str,
    price: str,
    *,
    discount: str = "0",
    rate: str = "0",
    method: TaxMethod = TaxMethod.NONE,
    code: str | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        "Consulting",
        Decimal(qty),
        Decimal(price),
        discount=Decimal(discount),
        tax_rate=Decimal(rate),
        tax_method=method,
        name="Consulting",
        tax_code_ref=code,
    )


EX, INC = TaxMethod.EXCLUSIVE, TaxMethod.INCLUSIVE
UK_CASES = {
    "exclusive with line and deal discounts": [
        line("3", "33.33", discount="10", rate="20", method=EX, code="2"),
        line("1", "19.99", rate="5", method=EX, code="3"),
        InvoiceLine.discount_line("Loyalty", Decimal("5.00")),
    ],
    "inclusive with a line discount": [
        line("2", "59.99", discount="7", rate="20", method=INC, code="2"),
        line("1", "10.00", rate="20", method=INC, code="2"),
    ],
    "inclusive and exclusive mixed": [
        line("7", "3.33", rate="20", method=INC, code="2"),
        line("1", "0.99", discount="3", rate="5", method=EX, code="3"),
    ],
    "untaxed": [line("1.5", "99.99")],
    "zero rated": [line("4", "12.50", discount="12.5", code="4")],
}


@pytest.mark.parametrize("lines", UK_CASES.values(), ids=UK_CASES.keys())
async def test_quickbooks_total_equals_ours_to_the_cent(
    setup: Setup, lines: list[InvoiceLine]
) -> None:
    draft = invoice("1", lines, currency="GBP", company=UK_COMPANY)
    created = await setup.gateway.create_invoice(UK_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert created.total == draft.total()
    assert created.currency == "GBP"


async def test_a_deal_discount_is_taxed_after_it_as_quickbooks_taxes_it(setup: Setup) -> None:
    """1 x 100 at the 20 % code less a deal discount of 10: QuickBooks takes the 10 off before
    it taxes, 18.00 on 90.00, total 108.00. The preview says so, QuickBooks records it, and its
    tax line charges 20 % of the amount it says is taxable (not 20.00 on 90.00)."""
    lines = [
        line("1", "100", rate="20", method=EX, code="2"),
        InvoiceLine.discount_line("Loyalty", Decimal(10)),
    ]
    draft = invoice("1", lines, currency="GBP", company=UK_COMPANY)
    preview = draft.totals()

    created = await setup.gateway.create_invoice(UK_COMPANY, draft, request_id=f"inv-{draft.id}")

    assert (preview.tax, preview.total) == (Money.of("18.00", "GBP"), Money.of("108.00", "GBP"))
    assert (created.tax, created.total) == (preview.tax, preview.total)
    [recorded] = with_note(setup, draft.id, INTL_REALM)
    [tax_line] = recorded["TxnTaxDetail"]["TaxLine"]  # type: ignore[index]
    assert (tax_line["TaxLineDetail"]["NetAmountTaxable"], tax_line["Amount"]) == (
        Decimal("90.00"),
        Decimal("18.00"),
    )


async def test_us_automated_sales_tax_keeps_our_tax_amount(setup: Setup) -> None:
    lines = [
        line("3", "19.99", discount="5", rate="8.25", method=EX),
        line("1", "100", rate="0"),
    ]
    draft = invoice("1", lines)
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")
    assert created.total == draft.total()


async def test_with_automated_sales_tax_quickbooks_computes_the_tax_and_its_total_is_kept(
    setup: Setup,
) -> None:
    """No tax of ours is sent: QuickBooks taxes the taxable lines (the item decides for a line
    without a code) at the ship-to address's rate (the customer's, Bayshore CA: 8.25 %)."""
    lines = [
        line("3", "19.99", discount="5", code="TAX"),
        line("1", "100", code="NON"),
        dataclasses.replace(line("2", "50"), item_ref="4"),  # "Installation": not taxable
    ]
    draft = invoice("1", lines, tax_by_quickbooks=True)
    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    (post,) = setup.emulator.requests("/invoice", method="POST")
    sent = json.loads(post["body"])
    assert "TxnTaxDetail" not in sent
    codes = [
        (ln["SalesItemLineDetail"].get("TaxCodeRef") or {}).get("value")
        for ln in sent["Line"]
        if ln["DetailType"] == "SalesItemLineDetail"
    ]
    assert codes == ["TAX", "NON", None]
    recorded = setup.emulator.invoices()[created.id]
    tax = Money(Decimal(str(recorded["TxnTaxDetail"]["TotalTax"])), "USD")
    assert tax.is_positive()
    assert (created.tax, created.total) == (tax, draft.total() + tax)

    draft.confirm_created(
        created.id, "1", created.sync_token, created.total, datetime.now(UTC), quickbooks_tax=tax
    )
    assert (draft.totals().tax, draft.totals().total) == (tax, created.total)
    assert not draft.totals_mismatch


async def test_with_automated_sales_tax_the_tax_is_for_the_billing_address_the_form_shows(
    setup: Setup,
) -> None:
    """QuickBooks taxes the ShipAddr, else the customer's, else the company's own address (CA
    here), never the BillAddr: a new customer of ours has only a billing address, in New York,
    and the invoice is taxed there."""
    new_york = Address(line1="1 Broadway", city="New York", region="NY", postal_code="10004")
    ours = Customer(f"Empire {uuid.uuid4().hex[:6]}", email="ap@empire.example")
    ours = dataclasses.replace(ours, billing_address=new_york)
    made = await setup.gateway.create_customer(US_COMPANY, ours, request_id=f"cus-{uuid.uuid4()}")
    draft = invoice(made.id, [line("1", "100", code="TAX")], tax_by_quickbooks=True)
    draft.customer = ours.with_quickbooks_id(made.id)

    created = await setup.gateway.create_invoice(US_COMPANY, draft, request_id=f"inv-{draft.id}")

    recorded = setup.emulator.invoices()[created.id]
    assert recorded["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "3"  # New York's, not CA's


async def test_the_real_limits_hold_with_no_429_for_a_burst() -> None:
    config = emulator_config(limits=Limits(requests_per_second=10, requests_per_minute=500))
    async with running_emulator(config) as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, US_COMPANY, US_REALM)
        gateway = make_gateway(emulator, store, rate_limit=QBO_RATE_LIMIT)
        await asyncio.gather(*(gateway.get_invoice(US_COMPANY, "999999") for _ in range(25)))
        statuses = [r["status"] for r in emulator.requests("/v3/company/")]
        assert len(statuses) == 25, str(statuses)
        assert 429 not in statuses


async def test_a_new_customer_in_a_multicurrency_company_is_in_the_invoices_currency(
    setup: Setup,
) -> None:
    """Without CurrencyRef QuickBooks makes a home-currency (GBP) customer, and the EUR
    invoice to it is refused: the invoice ended CREATE_FAILED."""
    customer = await setup.gateway.create_customer(
        UK_COMPANY,
        Customer(f"Globex GmbH {uuid.uuid4().hex[:6]}"),
        request_id=f"cus-{uuid.uuid4()}",
        currency="EUR",
    )
    assert customer.currency == "EUR"

    draft = invoice(customer.id, [line("2", "100", code="4")], currency="EUR", company=UK_COMPANY)
    created = await setup.gateway.create_invoice(UK_COMPANY, draft, request_id=f"inv-{draft.id}")

    assert (created.currency, created.total) == ("EUR", draft.total())


async def test_a_currency_in_a_single_currency_company_is_not_sent_for_a_new_customer(
    setup: Setup,
) -> None:
    customer = await setup.gateway.create_customer(
        US_COMPANY,
        Customer(f"Initech {uuid.uuid4().hex[:6]}"),
        request_id=f"cus-{uuid.uuid4()}",
        currency="USD",
    )
    assert customer.currency == "USD"


async def test_quickbooks_rate_is_read_and_a_rate_of_ours_is_recorded_as_sent(
    setup: Setup,
) -> None:
    today = datetime.now(UTC).date()
    theirs = await setup.gateway.exchange_rate(UK_COMPANY, "EUR", today)
    assert theirs > 0
    customer = await setup.gateway.create_customer(
        UK_COMPANY,
        Customer(f"Rates {uuid.uuid4().hex[:6]}"),
        request_id=f"cus-{uuid.uuid4()}",
        currency="EUR",
    )

    for rate in (None, theirs + Decimal("0.01")):
        draft = invoice(
            customer.id, [line("3", "100", code="4")], currency="EUR", company=UK_COMPANY
        )
        created = await setup.gateway.create_invoice(
            UK_COMPANY, draft, request_id=f"inv-{draft.id}", exchange_rate=rate
        )
        [recorded] = with_note(setup, draft.id, INTL_REALM)
        assert Decimal(str(recorded["ExchangeRate"])) == (rate or theirs)
        home = (created.total.amount * (rate or theirs)).quantize(Decimal("0.01"))
        assert Decimal(str(recorded["HomeTotalAmt"])) == home


async def test_the_rate_limiters_database_down_is_said_as_such_not_as_quickbooks_down() -> None:
    """The shared limiter lives in Postgres: when it cannot be reached the call fails as the
    database being unavailable (retry later), before anything is sent to QuickBooks."""
    engine = build_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere", pool_size=1)
    try:
        async with running_emulator() as emulator:
            store = InMemoryTokenStore()
            await connect(emulator, store, US_COMPANY, US_REALM)
            gateway = make_gateway(emulator, store, limiter=PostgresRateLimiter(engine))
            await emulator.admin("DELETE", "requests")

            with pytest.raises(UpstreamUnavailableError) as raised:
                await gateway.get_invoice(US_COMPANY, "1")

            assert raised.value.reason == Reason.DATABASE_UNAVAILABLE
            assert (await emulator.admin("GET", "requests"))["requests"] == []
    finally:
        await engine.dispose()
