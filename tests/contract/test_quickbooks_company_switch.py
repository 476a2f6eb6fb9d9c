"""A company that disconnects QuickBooks and connects another QuickBooks company (a sandbox,
then its real books): QuickBooks ids are per company, so the former company's invoices and
customer links must never be taken for the new one's. On a real Postgres, where the
connection that says which company is connected lives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.postgres.views import PostgresInvoiceViews
from application.commands import InvoiceActionCommand
from application.ports.connections import TokenStore
from application.ports.persistence import CreationOptions, CustomerLink
from domain.connection import Vendor
from domain.errors import DomainReason, OtherQuickBooksCompanyError
from domain.field_mapping import SourceEntity
from domain.invoice import InvoiceState, InvoiceStatus
from domain.money import Money
from tests.contract.test_connections import connection
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    deal_ref,
    invoice_ref,
)
from tests.unit.domain.domain_builders import NOW, a_requested_invoice

pytestmark = pytest.mark.integration


@pytest.fixture
def token_store(pg_engine: AsyncEngine) -> TokenStore:
    return PostgresTokenStore(build_session_factory(pg_engine), SecretBox("k" * 40))


@pytest.fixture
def uow(pg_engine: AsyncEngine) -> SqlAlchemyUnitOfWorkFactory:
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine))


@pytest.fixture
async def world(uow: SqlAlchemyUnitOfWorkFactory, database_url: str) -> AsyncIterator[World]:
    views = PostgresInvoiceViews(database_url)
    yield World(uow=uow, views=views)
    await views.close()


async def connect(token_store: TokenStore, realm: str | None) -> None:
    """The company's QuickBooks connection is now to ``realm`` (None: disconnected)."""
    await token_store.delete(COMPANY, Vendor.QUICKBOOKS)
    if realm is not None:
        await token_store.save(connection(company=COMPANY, realm=realm))


async def confirmed(uow: SqlAlchemyUnitOfWorkFactory, invoice_id: str, quickbooks_id: str) -> None:
    """An invoice stored, then confirmed by QuickBooks as ``quickbooks_id``."""
    invoice = a_requested_invoice(id=invoice_id, company_id=COMPANY, deal_id="42")
    async with uow() as work:
        await work.invoices.add(invoice, creation=CreationOptions())
        await work.commit()
    async with uow() as work:
        stored = await work.invoices.get_for_update(COMPANY, invoice_id)
        assert stored is not None
        stored.confirm_created(
            quickbooks_id,
            "1001",
            "0",
            stored.total(),
            NOW,
            quickbooks_url=f"https://qbo/{invoice_id}",
        )
        await work.invoices.save(stored)
        await work.commit()


async def test_the_former_companys_invoices_are_kept_but_never_taken_for_the_new_ones(
    uow: SqlAlchemyUnitOfWorkFactory, token_store: TokenStore, database_url: str
) -> None:
    views = PostgresInvoiceViews(database_url)
    try:
        await connect(token_store, "realm-a")
        await confirmed(uow, "inv-a", "131")
        before = await views.get(COMPANY, "inv-a", today=NOW.date())
        assert before is not None
        assert not before.other_quickbooks_company
        assert before.quickbooks_url == "https://qbo/inv-a"

        await connect(token_store, "realm-b")
        # The new company's invoice 131 is another invoice: stored beside the former one.
        await confirmed(uow, "inv-b", "131")
        async with uow() as work:
            former = await work.invoices.get(COMPANY, "inv-a")
            found = await work.invoices.find_by_quickbooks_ids(COMPANY, ["131"])
            unsettled = await work.invoices.list_unsettled(COMPANY)
        assert former is not None
        assert former.other_quickbooks_company
        assert former.state is InvoiceState.OPEN  # as last seen
        assert [i.id for i in found] == ["inv-b"]
        assert [i.id for i in unsettled] == ["inv-b"]
        shown = await views.get(COMPANY, "inv-a", today=NOW.date())
        assert shown is not None
        assert shown.other_quickbooks_company
        assert shown.quickbooks_url is None  # it would open the new company's invoice 131
        listed = await views.list_for_deal(COMPANY, "42", today=NOW.date(), limit=10)
        assert {v.id: v.other_quickbooks_company for v in listed} == {
            "inv-a": True,
            "inv-b": False,
        }

        # Disconnected: nothing to compare with. Back to the former company: its invoice is.
        await connect(token_store, None)
        async with uow() as work:
            assert not (await work.invoices.get(COMPANY, "inv-a")).other_quickbooks_company  # type: ignore[union-attr]
        await connect(token_store, "realm-a")
        async with uow() as work:
            found = await work.invoices.find_by_quickbooks_ids(COMPANY, ["131"])
        assert [(i.id, i.other_quickbooks_company) for i in found] == [("inv-a", False)]
    finally:
        await views.close()


async def test_a_customer_link_is_to_a_customer_of_the_company_connected_then(
    uow: SqlAlchemyUnitOfWorkFactory, token_store: TokenStore
) -> None:
    def link(customer_id: str) -> CustomerLink:
        return CustomerLink(COMPANY, SourceEntity.ORGANIZATION, "5", customer_id, "Acme", NOW)

    await connect(token_store, "realm-a")
    async with uow() as work:
        await work.customer_links.put(link("100"))
        await work.commit()

    await connect(token_store, "realm-b")
    async with uow() as work:
        assert await work.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5") is None
        # Nothing of the new company's to unlink (the former's link is not the user's to see).
        assert not await work.customer_links.delete(COMPANY, SourceEntity.ORGANIZATION, "5")
        await work.customer_links.put(link("7"))
        await work.commit()
    async with uow() as work:
        found = await work.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5")
    assert found is not None
    assert found.quickbooks_customer_id == "7"


async def test_no_customer_link_is_made_while_no_quickbooks_company_is_connected(
    uow: SqlAlchemyUnitOfWorkFactory, token_store: TokenStore
) -> None:
    """A follow-up run between Disconnect and the next Connect: whose customer it links could
    not be said, and the next company must not take it for one of its own."""
    await connect(token_store, None)
    async with uow() as work:
        await work.customer_links.put(
            CustomerLink(COMPANY, SourceEntity.ORGANIZATION, "5", "100", "Acme", NOW)
        )
        await work.commit()

    await connect(token_store, "realm-b")
    async with uow() as work:
        assert await work.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5") is None


async def test_no_action_reaches_the_new_company_for_an_invoice_of_the_former_one(
    world: World, token_store: TokenStore
) -> None:
    await connect(token_store, "realm-a")
    view = await world.create.execute(create_command())
    quickbooks_id = view.quickbooks_id or ""
    await connect(token_store, "realm-b")
    ref = invoice_ref(view.id)

    for action in (world.void, world.delete):
        with pytest.raises(OtherQuickBooksCompanyError):
            await action.execute(InvoiceActionCommand(ref))
    with pytest.raises(OtherQuickBooksCompanyError):
        await world.pdf.execute(ref)
    assert not world.qbo.invoices[quickbooks_id].voided
    assert quickbooks_id in world.qbo.invoices  # not deleted either

    # What the new company says of its invoice with that id is not applied to ours.
    world.qbo.record_payment(quickbooks_id, Money(Decimal("100"), "USD"))
    page = await world.refresh.execute(deal_ref())
    [shown] = page.items
    assert shown.state is InvoiceState.OPEN
    assert shown.totals.amount_paid.amount == 0
    assert shown.other_quickbooks_company


async def test_an_invoice_left_creating_before_a_switch_is_refused_not_sent_to_the_new_company(
    world: World, token_store: TokenStore
) -> None:
    await connect(token_store, "realm-a")
    world.qbo.unavailable(times=3)  # QuickBooks down: the invoice stays CREATING
    waiting = await world.create.execute(create_command("req-9"))
    assert waiting.state is InvoiceState.CREATING
    await connect(token_store, "realm-b")

    # The retry (the sweep's, or the user's with the same request id): its customer, terms
    # and codes are the former company's, so it ends refused, and nothing reaches QuickBooks.
    ended = await world.create.execute(create_command("req-9"))

    assert ended.state is InvoiceState.CREATE_FAILED
    assert ended.failure_code == DomainReason.INVOICE_IN_OTHER_QUICKBOOKS_COMPANY
    assert world.qbo.invoices == {}
    # Refused and in no QuickBooks company: the user may dismiss it.
    dismissed = await world.delete.execute(InvoiceActionCommand(invoice_ref(ended.id)))
    assert dismissed.state is InvoiceState.DELETED


async def test_a_follow_up_run_after_a_switch_links_no_customer_and_posts_no_link(
    world: World, token_store: TokenStore
) -> None:
    await connect(token_store, "realm-a")
    view = await world.queued_create.execute(create_command())
    await connect(token_store, "realm-b")

    await world.follow_up.execute(COMPANY, view.id)

    # The deal's "created" note says so, without the links that would open the new
    # company's invoice of the same id.
    [note] = [text for _, _, text in world.crm.notes]
    assert note.startswith(f"Invoice {view.doc_number} created in QuickBooks")
    assert view.quickbooks_url
    assert view.quickbooks_url not in note
    async with world.uow() as work:
        assert await work.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5") is None
    await connect(token_store, "realm-a")  # and none was made for the former one either
    async with world.uow() as work:
        assert await work.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5") is None


async def test_an_invoice_of_the_former_company_is_not_shown_overdue_since(
    world: World, token_store: TokenStore
) -> None:
    await connect(token_store, "realm-a")
    view = await world.create.execute(create_command(due_date="2026-03-20"))
    await connect(token_store, "realm-b")
    world.clock.advance(timedelta(days=30))

    shown = await world.get.execute(invoice_ref(view.id))

    assert shown.status is InvoiceStatus.OPEN  # as last seen; nobody watches it any more
