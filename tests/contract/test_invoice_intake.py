"""CreateInvoice's one-statement writes on a real Postgres: all or nothing, claimed once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import build_session_factory
from adapters.postgres.intake import PostgresInvoiceIntake
from adapters.postgres.queries import asyncpg_dsn
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.errors import UpstreamUnavailableError
from application.ports.persistence import (
    CreationOptions,
    DealFollowUp,
    FollowUpState,
    IdempotencyRecord,
    RecordedEvent,
)
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import Invoice, InvoiceState
from tests.unit.domain.domain_builders import LATER, NOW, a_requested_invoice

pytestmark = pytest.mark.integration

COMPANY, DEAL = "company-1", "deal-1"


@pytest.fixture
def intake(pg_engine: AsyncEngine) -> PostgresInvoiceIntake:
    return PostgresInvoiceIntake(pg_engine)


@pytest.fixture
def uow(pg_engine: AsyncEngine) -> SqlAlchemyUnitOfWorkFactory:
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(pg_engine))


def requested(invoice_id: str = "inv-1", **changes: object) -> Invoice:
    values: dict[str, object] = {
        "id": InvoiceId(invoice_id),
        "company_id": CompanyId(COMPANY),
        "deal_id": DealId(DEAL),
    }
    values.update(changes)
    return a_requested_invoice(**values)


def follow_up_for(invoice: Invoice) -> DealFollowUp:
    return DealFollowUp(
        company_id=invoice.company_id,
        invoice_id=invoice.id,
        deal_id=invoice.deal_id,
        note="QuickBooks invoice 1001 created",
        marker="https://qbo.example/app/invoice?txnId=qb-1",
        quickbooks_customer_id="cus-1",
        customer_name="Acme SARL",
        requested_by="user-7",
        state=FollowUpState.PENDING,
        created_at=LATER,
        updated_at=LATER,
    )


async def what_is_stored(
    uow: SqlAlchemyUnitOfWorkFactory,
) -> tuple[Invoice | None, list[RecordedEvent], DealFollowUp | None]:
    """inv-1, its deal's history (newest first) and its deal follow-up, as stored."""
    async with uow() as work:
        return (
            await work.invoices.get(COMPANY, "inv-1"),
            await work.invoice_events.list_for_deal(COMPANY, DEAL, limit=10),
            await work.deal_follow_ups.get(COMPANY, "inv-1"),
        )


async def store(intake: PostgresInvoiceIntake, invoice: Invoice, key: str | None) -> bool:
    request = (key, IdempotencyRecord("hash-1", invoice.id)) if key else None
    return await intake.store_requested(
        invoice, actor="user-7", creation=CreationOptions(requested_by="user-7"), request=request
    )


async def test_a_new_invoice_is_stored_with_its_events_and_request_id(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    invoice = requested()
    assert await store(intake, invoice, "req-1")

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


async def test_a_claimed_request_id_stores_nothing(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    assert await store(intake, requested("inv-1"), "req-1")
    assert not await store(intake, requested("inv-2"), "req-1")
    assert await store(intake, requested("inv-3"), None)  # no request id: nothing to claim

    async with uow() as work:
        listed = await work.invoices.list_for_deal(COMPANY, DEAL, limit=10)
        events = await work.invoice_events.list_for_deal(COMPANY, DEAL, limit=10)
    assert sorted(i.id for i in listed) == ["inv-1", "inv-3"]
    assert sorted(e.invoice_id for e in events) == ["inv-1", "inv-3"]


async def test_concurrent_claims_of_one_request_id_store_one_invoice(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    outcomes = await asyncio.gather(
        *(store(intake, requested(f"inv-{n}"), "req-1") for n in range(8))
    )

    async with uow() as work:
        listed = await work.invoices.list_for_deal(COMPANY, DEAL, limit=10)
    assert outcomes.count(True) == 1
    assert len(listed) == 1


async def test_a_value_too_long_for_its_column_is_refused_not_cut(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    with pytest.raises(asyncpg.DataError):
        await store(intake, requested(created_by="u" * 65), "req-1")

    async with uow() as work:
        assert await work.invoices.get(COMPANY, "inv-1") is None
        assert await work.idempotency.get(COMPANY, "req-1") is None  # all or nothing


async def test_the_confirmation_is_recorded_with_its_follow_up_at_the_version_read(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    invoice = requested()
    await store(intake, invoice, "req-1")
    read_version = invoice.version
    invoice.confirm_created(
        "qb-1", "1001", "0", invoice.total(), LATER, customer_quickbooks_id="cus-1"
    )
    invoice.mark_synced(LATER)

    assert await intake.record_created(
        invoice, read_version=read_version, actor="quickbooks", follow_up=follow_up_for(invoice)
    )

    stored, events, follow_up = await what_is_stored(uow)
    assert stored is not None
    assert stored.state is InvoiceState.OPEN
    assert stored.quickbooks_id == "qb-1"
    assert stored.version == read_version + 1
    assert stored.last_synced_at == LATER
    assert [e.event.kind for e in events] == ["created", "creation_requested"]
    assert events[0].actor == "quickbooks"
    assert follow_up == follow_up_for(invoice)


async def test_a_confirmation_of_a_changed_row_writes_nothing(
    intake: PostgresInvoiceIntake, uow: SqlAlchemyUnitOfWorkFactory
) -> None:
    invoice = requested()
    await store(intake, invoice, "req-1")
    read_version = invoice.version
    async with uow() as work:  # another process confirmed it meanwhile
        other = await work.invoices.get_for_update(COMPANY, "inv-1")
        assert other is not None
        other.confirm_created("qb-9", "1009", "0", other.total(), LATER)
        await work.invoices.save(other)
        await work.commit()
    invoice.confirm_created("qb-1", "1001", "0", invoice.total(), LATER + timedelta(seconds=1))

    assert not await intake.record_created(
        invoice, read_version=read_version, actor="quickbooks", follow_up=follow_up_for(invoice)
    )

    stored, events, follow_up = await what_is_stored(uow)
    assert stored is not None
    assert stored.quickbooks_id == "qb-9"
    assert [e.event.kind for e in events].count("created") == 1
    assert follow_up is None


async def test_a_connection_ended_under_it_is_unavailable_then_replaced(
    intake: PostgresInvoiceIntake, database_url: str
) -> None:
    """The database ends the pooled connection (a restart, an administrator): the call is
    UNAVAILABLE, never INTERNAL, and the dead connection is not handed out again."""
    assert await store(intake, requested("inv-1"), "req-1")
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()

    failures: list[Exception] = []
    for n in range(2, 7):
        try:
            stored = await store(intake, requested(f"inv-{n}"), f"req-{n}")
        except UpstreamUnavailableError as exc:
            failures.append(exc)
            continue
        break
    assert failures  # the first call met the dead connection...
    assert stored  # ...and a later one a fresh connection
    assert len(failures) < 5
