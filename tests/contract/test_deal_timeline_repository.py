"""The deal timeline's entries: one suite, run on the fake and on Postgres."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.persistence import TimelineEntry, TimelineEntryState, UnitOfWorkFactory
from domain.timeline import EntryKind, Milestone

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def entry(invoice_id: str, key: str, milestone: Milestone, minutes: int = 0) -> TimelineEntry:
    return TimelineEntry(
        company_id="7001",
        invoice_id=invoice_id,
        key=key,
        deal_id="3",
        milestone=milestone,
        occurred_at=NOW + timedelta(minutes=minutes),
        details={"amount_paid": "200.00 USD"},
        state=TimelineEntryState.PENDING,
        created_at=NOW,
        updated_at=NOW,
    )


async def test_an_entry_recorded_twice_is_kept_once_as_first_recorded(
    uow_factory: UnitOfWorkFactory,
) -> None:
    invoice = str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.deal_timeline.add([entry(invoice, "created", Milestone.CREATED)])
        await uow.commit()
    async with uow_factory() as uow:
        await uow.deal_timeline.mark("7001", invoice, "created", TimelineEntryState.DONE, NOW)
        await uow.commit()
    async with uow_factory() as uow:  # the same milestone seen again (a replayed webhook)
        await uow.deal_timeline.add(
            [
                entry(invoice, "created", Milestone.CREATED),
                entry(invoice, "paid:200.00", Milestone.PAID, 1),
            ]
        )
        await uow.commit()

    async with uow_factory() as uow:
        unfinished = await uow.deal_timeline.unfinished_for_invoice("7001", invoice)

    assert [e.key for e in unfinished] == ["paid:200.00"]
    assert unfinished[0] == entry(invoice, "paid:200.00", Milestone.PAID, 1)


async def test_nothing_is_recorded_without_commit(uow_factory: UnitOfWorkFactory) -> None:
    invoice = str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.deal_timeline.add([entry(invoice, "voided", Milestone.VOIDED)])

    async with uow_factory() as uow:
        assert await uow.deal_timeline.unfinished_for_invoice("7001", invoice) == []


async def test_a_sending_entry_keeps_its_text_and_is_listed_unfinished_once_stale(
    uow_factory: UnitOfWorkFactory,
) -> None:
    invoice = str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.deal_timeline.add(
            [
                entry(invoice, "voided", Milestone.VOIDED),
                entry(invoice, "deleted", Milestone.DELETED),
            ]
        )
        await uow.deal_timeline.mark(
            "7001", invoice, "voided", TimelineEntryState.SENDING, NOW, content="Invoice voided."
        )
        await uow.commit()

    async with uow_factory() as uow:
        entries = await uow.deal_timeline.unfinished_for_invoice("7001", invoice)
        stale = await uow.deal_timeline.list_unfinished(
            older_than=NOW + timedelta(seconds=1), limit=1000
        )
        fresh = await uow.deal_timeline.list_unfinished(older_than=NOW, limit=1000)

    voided = next(e for e in entries if e.key == "voided")
    assert (voided.state, voided.content) == (TimelineEntryState.SENDING, "Invoice voided.")
    assert stale.count(("7001", invoice)) == 1
    assert ("7001", invoice) not in fresh


async def test_forgetting_the_company_forgets_its_entries(uow_factory: UnitOfWorkFactory) -> None:
    invoice = str(uuid.uuid4())
    async with uow_factory() as uow:
        await uow.deal_timeline.add([entry(invoice, "created", Milestone.CREATED)])
        await uow.commit()
    async with uow_factory() as uow:
        await uow.forget_company("7001")
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.deal_timeline.unfinished_for_invoice("7001", invoice) == []


async def test_an_entry_keeps_its_kind_note_or_activity(uow_factory: UnitOfWorkFactory) -> None:
    note = entry("inv-k", "created", Milestone.CREATED)
    activity = dataclasses.replace(
        entry("inv-k", "paid:200.00", Milestone.PAID, minutes=1), kind=EntryKind.ACTIVITY
    )
    async with uow_factory() as uow:
        await uow.deal_timeline.add([note, activity])
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.deal_timeline.unfinished_for_invoice("7001", "inv-k")

    assert [(e.key, e.kind) for e in found] == [
        ("created", EntryKind.NOTE),
        ("paid:200.00", EntryKind.ACTIVITY),
    ]
