"""Invoices on a real Postgres: the unit of work writes them (request id, events, read
columns) all or nothing, and the read side answers exactly what the fake computes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.in_memory.views import InMemoryInvoiceViews
from adapters.postgres.engine import build_session_factory, libpq_url
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.postgres.views import PostgresInvoiceViews
from application.errors import UpstreamUnavailableError
from application.ports.persistence import (
    CreationOptions,
    CustomerLink,
    IdempotencyRecord,
    PageCursor,
    UnitOfWorkFactory,
)
from application.reasons import MetadataKey, Reason
from application.views import InvoiceView
from domain.field_mapping import SourceEntity
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceState, InvoiceStatus
from domain.invoice_line import TaxMethod, TaxPart
from domain.money import Money
from tests.contract.test_connections import connected_to_quickbooks
from tests.unit.domain.domain_builders import (
    DUE,
    LATER,
    NOW,
    a_line,
    a_requested_invoice,
    an_invoice_in,
)

pytestmark = pytest.mark.integration

COMPANY, DEAL = "company-1", "deal-1"


@pytest.fixture
async def uow(pg_engine: AsyncEngine) -> SqlAlchemyUnitOfWorkFactory:
    await connected_to_quickbooks(pg_engine, COMPANY)
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine))


@pytest.fixture
async def views(pg_engine: AsyncEngine, database_url: str) -> AsyncIterator[PostgresInvoiceViews]:
    views = PostgresInvoiceViews(database_url)
    yield views
    await views.close()


def requested(invoice_id: str = "inv-1", **changes: object) -> Invoice:
    values: dict[str, object] = {
        "id": InvoiceId(invoice_id),
        "company_id": CompanyId(COMPANY),
        "deal_id": DealId(DEAL),
    }
    values.update(changes)
    return a_requested_invoice(**values)


async def store(uow: UnitOfWorkFactory, invoice: Invoice, key: str | None) -> bool:
    """As CreateInvoice stores a new invoice: claim the request id, add, commit."""
    async with uow() as work:
        record = IdempotencyRecord("hash-1", invoice.id)
        if key and not await work.idempotency.put(COMPANY, key, record):
            return False
        await work.invoices.add(
            invoice, actor="user-7", creation=CreationOptions(requested_by="user-7")
        )
        await work.commit()
    return True


async def test_a_new_invoice_is_stored_with_its_events_and_request_id(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    # Taxed at a group's two rates, each rounded on its own: 0.74 + 0.10, not 8.25 % = 0.85.
    parts = (TaxPart("1", Decimal("7.25")), TaxPart("2", Decimal(1)))
    taxed = a_line(
        quantity=Decimal(1),
        unit_price=Decimal("10.25"),
        tax_rate=Decimal("8.25"),
        tax_method=TaxMethod.EXCLUSIVE,
        tax_parts=parts,
    )
    invoice = requested(lines=[taxed, a_line()])
    assert invoice.totals().tax == Money.of("0.84", "EUR")
    assert await store(uow, invoice, "req-1")

    async with uow() as work:
        stored = await work.invoices.get(COMPANY, "inv-1")
        events = await work.invoice_events.list_for_deal(COMPANY, DEAL, limit=10)
        record = await work.idempotency.get(COMPANY, "req-1")
        creation = await work.invoices.creation_options(COMPANY, "inv-1")
    assert stored is not None
    assert stored.state is InvoiceState.CREATING
    assert stored.customer == invoice.customer
    assert stored.lines == invoice.lines
    assert stored.total() == invoice.total()
    assert [e.event.kind for e in events] == ["creation_requested"]
    assert events[0].actor == "user-7"
    assert events[0].event.occurred_at == NOW
    assert record == IdempotencyRecord("hash-1", "inv-1")
    assert creation == CreationOptions(requested_by="user-7")


async def test_a_claimed_request_id_stores_nothing(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    assert await store(uow, requested("inv-1"), "req-1")
    assert not await store(uow, requested("inv-2"), "req-1")
    assert await store(uow, requested("inv-3"), None)  # no request id: nothing to claim

    async with uow() as work:
        listed = await work.invoices.list_for_deal(COMPANY, DEAL, limit=10)
        events = await work.invoice_events.list_for_deal(COMPANY, DEAL, limit=10)
    assert sorted(i.id for i in listed) == ["inv-1", "inv-3"]
    assert sorted(e.invoice_id for e in events) == ["inv-1", "inv-3"]


async def test_concurrent_claims_of_one_request_id_store_one_invoice(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    outcomes = await asyncio.gather(*(store(uow, requested(f"inv-{n}"), "req-1") for n in range(8)))

    async with uow() as work:
        listed = await work.invoices.list_for_deal(COMPANY, DEAL, limit=10)
    assert outcomes.count(True) == 1
    assert len(listed) == 1


async def test_a_value_too_long_for_its_column_is_refused_not_cut(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    with pytest.raises(sa_exc.DBAPIError):
        await store(uow, requested(created_by="u" * 65), "req-1")

    async with uow() as work:
        assert await work.invoices.get(COMPANY, "inv-1") is None
        assert await work.idempotency.get(COMPANY, "req-1") is None  # all or nothing


def _invoices_in_every_state() -> list[Invoice]:
    invoices = []
    for n, state in enumerate(InvoiceState):
        invoice = an_invoice_in(
            state, id=InvoiceId(f"inv-{n}"), company_id=CompanyId(COMPANY), deal_id=DealId(DEAL)
        )
        invoice.created_at = NOW + timedelta(minutes=n)
        if invoice.quickbooks_id:  # one QuickBooks invoice each
            invoice.quickbooks_id = f"qb-{n}"
            invoice.quickbooks_url = f"https://qbo.test/{COMPANY}/qb-{n}"
        invoices.append(invoice)
    return invoices


async def _stored(uow: UnitOfWorkFactory, invoices: list[Invoice]) -> None:
    async with uow() as work:
        for invoice in invoices:
            await work.invoices.add(invoice)
        await work.commit()


async def test_a_refusal_is_stored_with_its_code_and_parameters(
    uow: SqlAlchemyUnitOfWorkFactory, views: PostgresInvoiceViews
) -> None:
    refused = requested()
    refused.reject(
        "QuickBooks already has an invoice with this number; choose another number.",
        LATER,
        code=Reason.QUICKBOOKS_REJECTED,
        params={MetadataKey.VENDOR_CODE: "6140", MetadataKey.INTUIT_TID: "1-tid"},
    )
    fake = InMemoryUnitOfWorkFactory()
    for factory in (uow, fake):
        await _stored(factory, [refused])

    today = date(2025, 3, 14)
    for factory, read_side in ((uow, views), (fake, InMemoryInvoiceViews(fake.store))):
        async with factory() as work:
            stored = await work.invoices.get(COMPANY, refused.id)
        view = await read_side.get(COMPANY, refused.id, today=today)
        assert stored is not None
        assert view is not None
        for seen in (stored, view):
            assert seen.failure_code == Reason.QUICKBOOKS_REJECTED
            assert seen.failure_params == {
                MetadataKey.VENDOR_CODE: "6140",
                MetadataKey.INTUIT_TID: "1-tid",
            }


@pytest.mark.parametrize("today", [date(2025, 3, 14), date(2026, 1, 1)])  # on time; overdue
async def test_the_read_side_answers_what_the_fake_computes_from_the_invoice(
    uow: SqlAlchemyUnitOfWorkFactory, views: PostgresInvoiceViews, today: date
) -> None:
    invoices = _invoices_in_every_state()
    fake = InMemoryUnitOfWorkFactory()
    await _stored(uow, invoices)
    await _stored(fake, invoices)
    fake_views = InMemoryInvoiceViews(fake.store)

    for invoice in invoices:
        read = await views.get(COMPANY, invoice.id, today=today)
        assert read == await fake_views.get(COMPANY, invoice.id, today=today)
        assert read == InvoiceView.of(invoice, today)
    page = await views.list_for_deal(COMPANY, DEAL, today=today, limit=3)
    assert page == await fake_views.list_for_deal(COMPANY, DEAL, today=today, limit=3)
    assert [v.id for v in page] == [i.id for i in reversed(invoices)][:3]
    last = page[-1]
    rest = await views.list_for_deal(
        COMPANY, DEAL, today=today, limit=10, after=PageCursor(last.created_at, last.id)
    )
    assert [v.id for v in page + rest] == [i.id for i in reversed(invoices)]
    statuses = {v.state: v.status for v in page + rest}
    expected = InvoiceStatus.OVERDUE if today.year == 2026 else InvoiceStatus.OPEN
    assert statuses[InvoiceState.OPEN] is expected
    assert await views.get("company-2", "inv-1", today=today) is None  # scoped by company


async def test_a_change_is_read_at_once_whoever_made_it(
    uow: SqlAlchemyUnitOfWorkFactory, views: PostgresInvoiceViews, database_url: str
) -> None:
    invoice = an_invoice_in(InvoiceState.OPEN, id=InvoiceId("inv-1"), company_id=CompanyId(COMPANY))
    await _stored(uow, [invoice])
    today = date(2025, 3, 14)
    assert (await views.get(COMPANY, "inv-1", today=today)) == InvoiceView.of(invoice, today)

    async with uow() as work:
        paid = await work.invoices.get_for_update(COMPANY, "inv-1")
        assert paid is not None
        paid.apply_accounting_facts(paid.total(), Money.zero("EUR"), "1", None, LATER)
        await work.invoices.save(paid, actor="quickbooks")
        await work.commit()
    seen = await views.get(COMPANY, "inv-1", today=today)
    assert seen is not None
    assert seen.status is InvoiceStatus.PAID
    assert seen.totals.balance.is_zero()

    admin = await asyncpg.connect(libpq_url(database_url))  # as psql would
    try:
        await admin.execute("UPDATE invoices SET memo = 'by hand' WHERE id = 'inv-1'")
    finally:
        await admin.close()
    seen = await views.get(COMPANY, "inv-1", today=today)
    assert seen is not None
    assert seen.memo == "by hand"


async def test_writers_that_lock_by_quickbooks_id_take_turns_instead_of_conflicting(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    """A refresh and a webhook's job applying one invoice at once (the refresh used to answer
    ABORTED): the second waits for the first, then reads what it stored."""
    invoice = an_invoice_in(InvoiceState.OPEN, id=InvoiceId("inv-1"), company_id=CompanyId(COMPANY))
    await _stored(uow, [invoice])
    first_read = asyncio.Event()

    async def second_writer() -> str | None:
        await first_read.wait()
        async with uow() as work:
            [found] = await work.invoices.find_by_quickbooks_ids(COMPANY, ["qb-42"], lock=True)
            seen = found.sync_token
            found.apply_accounting_facts(found.total(), Money.zero("EUR"), "2", None, LATER)
            await work.invoices.save(found, actor="quickbooks")
            await work.commit()
        return seen

    second = asyncio.create_task(second_writer())
    async with uow() as work:
        [found] = await work.invoices.find_by_quickbooks_ids(COMPANY, ["qb-42"], lock=True)
        first_read.set()
        await asyncio.sleep(0.3)  # the second writer reads now, or waits for this one
        found.apply_accounting_facts(
            found.total(), found.total() - Money.of("10", "EUR"), "1", None, LATER
        )
        await work.invoices.save(found, actor="quickbooks")
        await work.commit()

    assert await second == "1"  # it read the first writer's version, and stored its own
    async with uow() as work:
        stored = await work.invoices.get(COMPANY, "inv-1")
    assert stored is not None
    assert (stored.sync_token, stored.state) == ("2", InvoiceState.PAID)


async def test_a_connection_ended_under_it_is_unavailable_then_replaced(
    uow: SqlAlchemyUnitOfWorkFactory, views: PostgresInvoiceViews, database_url: str
) -> None:
    """The database ends the pooled connections (a restart, an administrator): the call is
    UNAVAILABLE, never INTERNAL, and the dead connection is not handed out again."""
    assert await store(uow, requested("inv-1"), "req-1")
    today = date(2025, 3, 14)
    assert await views.get(COMPANY, "inv-1", today=today) is not None
    admin = await asyncpg.connect(libpq_url(database_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()

    for attempt in (store(uow, requested(f"inv-{n}"), f"req-{n}") for n in range(2, 7)):
        try:
            assert await attempt
        except UpstreamUnavailableError:
            continue
        break
    else:
        pytest.fail("the unit of work never got a fresh connection")
    for _ in range(5):
        try:
            assert await views.get(COMPANY, "inv-1", today=today) is not None
        except UpstreamUnavailableError:
            continue
        break
    else:
        pytest.fail("the read side never got a fresh connection")


async def test_events_written_together_keep_the_order_they_happened_in(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    assert await store(uow, requested(), None)
    async with uow() as work:
        invoice = await work.invoices.get_for_update(COMPANY, "inv-1")
        assert invoice is not None
        other_total = invoice.total() + Money.of("0.01", "EUR")
        invoice.confirm_created("qb-1", "1001", "0", other_total, LATER)  # created, mismatched
        await work.invoices.save(invoice, actor="quickbooks")
        await work.commit()

    async with uow() as work:
        history = await work.invoice_events.list_for_deal(COMPANY, DEAL, limit=10)
    assert [e.event.kind for e in reversed(history)] == [
        "creation_requested",
        "created",
        "totals_mismatched",
    ]
    assert [e.actor for e in reversed(history)] == ["user-7", "quickbooks", "quickbooks"]


@pytest.mark.parametrize("kind", ["in_memory", "postgres"])
async def test_a_contact_has_one_customer_link_per_currency(
    kind: str, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    factory: UnitOfWorkFactory = InMemoryUnitOfWorkFactory() if kind == "in_memory" else uow
    org = SourceEntity.ORGANIZATION

    def link(customer: str, currency: str, minutes: int) -> CustomerLink:
        return CustomerLink(
            COMPANY,
            org,
            "5",
            customer,
            f"Acme {currency}",
            NOW + timedelta(minutes=minutes),
            currency=currency,
        )

    async with factory() as unit:
        await unit.customer_links.put(link("1", "", 0))  # made before links had a currency
        await unit.customer_links.put(link("2", "EUR", 1))
        await unit.customer_links.put(link("3", "EUR", 2))  # replaces the EUR one
        await unit.customer_links.put(link("4", "GBP", 3))
        await unit.commit()

    async with factory() as unit:
        found = {
            wanted: await unit.customer_links.get(COMPANY, org, "5", wanted)
            for wanted in ("EUR", "USD", None)
        }
        removed = await unit.customer_links.delete(COMPANY, org, "5")
        gone = await unit.customer_links.get(COMPANY, org, "5", "EUR")
        await unit.commit()

    assert {k: v.quickbooks_customer_id if v else None for k, v in found.items()} == {
        "EUR": "3",  # its own currency's
        "USD": "1",  # none in USD: the one made before, in whatever currency it is
        None: "4",  # the latest
    }
    assert removed
    assert gone is None


async def test_the_overdue_pass_finds_the_companies_with_an_unrecorded_overdue(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> None:
    invoices = _invoices_in_every_state()  # all due on DUE; the open and partly paid ones count
    later = an_invoice_in(
        InvoiceState.OPEN,
        id=InvoiceId("inv-later"),
        company_id=CompanyId("company-2"),
        due_date=DUE + timedelta(days=30),
    )
    fake = InMemoryUnitOfWorkFactory()
    for factory in (uow, fake):
        await _stored(factory, [*invoices, later])

    async def companies(factory: UnitOfWorkFactory, due_before: date) -> list[str]:
        async with factory() as work:
            return await work.invoices.companies_with_overdue_unrecorded(due_before)

    for factory in (uow, fake):
        assert await companies(factory, DUE) == []  # due today is not overdue anywhere
        assert await companies(factory, DUE + timedelta(days=1)) == [COMPANY]
        assert await companies(factory, DUE + timedelta(days=31)) == [COMPANY, "company-2"]
        async with factory() as work:  # recorded: nothing left to look at in that company
            for invoice in await work.invoices.list_unsettled(COMPANY):
                assert invoice.record_overdue(DUE + timedelta(days=1), LATER)
                await work.invoices.save(invoice, actor="quickbooks")
            await work.commit()
        assert await companies(factory, DUE + timedelta(days=31)) == ["company-2"]


async def test_the_history_of_one_invoice_of_the_deal(uow: SqlAlchemyUnitOfWorkFactory) -> None:
    fake = InMemoryUnitOfWorkFactory()
    for factory in (uow, fake):
        await _stored(factory, [requested(f"inv-{n}") for n in range(3)])  # an event each
        async with factory() as work:
            events = work.invoice_events
            everything = await events.list_for_deal(COMPANY, DEAL, limit=10)
            mine = await events.list_for_deal(COMPANY, DEAL, limit=10, invoice_id="inv-1")
            older = await events.list_for_deal(
                COMPANY, DEAL, limit=10, invoice_id="inv-1", before_id=mine[0].id
            )
        assert [e.invoice_id for e in everything] == ["inv-2", "inv-1", "inv-0"]
        assert [e.invoice_id for e in mine] == ["inv-1"]
        assert older == []


@pytest.mark.parametrize("kind", ["in_memory", "postgres"])
async def test_the_deals_with_invoices_are_listed_once_each_per_company(
    kind: str, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    factory: UnitOfWorkFactory = InMemoryUnitOfWorkFactory() if kind == "in_memory" else uow
    company = CompanyId(f"deal-ids-{uuid.uuid4().hex[:8]}")
    invoices = [
        requested(f"{company}-{n}", company_id=company, deal_id=DealId(deal))
        for n, deal in enumerate(["7", "3", "7"])
    ]
    await _stored(factory, [*invoices, requested(f"{company}-x", deal_id=DealId("9"))])

    async with factory() as work:
        assert await work.invoices.deal_ids(company) == ["3", "7"]
        assert await work.invoices.deal_ids(CompanyId("no-such-company")) == []
