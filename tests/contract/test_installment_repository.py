"""Installment schedules: one suite, run on the fake and on Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.persistence import UnitOfWorkFactory
from application.reasons import Reason
from domain.installment_schedule import InstallmentState, PlannedInstallment, plan_schedule
from domain.money import Money

NOW = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def a_schedule(company: str, *dates: date) -> tuple:  # type: ignore[type-arg]
    percentages = [Decimal(30), Decimal(40), Decimal(30)][: len(dates)]
    percentages[-1] += 100 - sum(percentages)
    return plan_schedule(
        company_id=company,
        deal_id="42",
        schedule_id=uuid.uuid4().hex,
        whole=Money.of("2059.78", "EUR"),
        planned=[PlannedInstallment(p, d) for p, d in zip(percentages, dates, strict=True)],
        today=TODAY,
        now=NOW,
    )


async def test_a_schedule_is_kept_in_order_and_its_states_saved(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = uuid.uuid4().hex[:12]
    schedule = a_schedule(company, TODAY, TODAY + timedelta(days=31), TODAY + timedelta(days=61))
    async with uow_factory() as uow:
        await uow.installments.add(schedule)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.installments.save(schedule[0].invoiced("inv-1"))
        await uow.installments.save(schedule[1].refused(Reason.QUICKBOOKS_REJECTED))
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.installments.for_deal(company, "42")
        one = await uow.installments.get(company, schedule[0].schedule_id, 1)

    assert [i.amount for i in stored] == [i.amount for i in schedule]
    assert [i.state for i in stored] == [
        InstallmentState.CREATED,
        InstallmentState.FAILED,
        InstallmentState.SCHEDULED,
    ]
    assert one == schedule[0].invoiced("inv-1")
    assert stored[1].reason == Reason.QUICKBOOKS_REJECTED


async def test_a_retry_and_a_cancellation_are_kept(uow_factory: UnitOfWorkFactory) -> None:
    company = uuid.uuid4().hex[:12]
    schedule = a_schedule(company, TODAY, TODAY + timedelta(days=31))
    async with uow_factory() as uow:
        await uow.installments.add(schedule)
        await uow.installments.save(schedule[0].refused(Reason.QUICKBOOKS_REJECTED).retried())
        await uow.installments.save(schedule[1].cancelled())
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.installments.for_deal(company, "42")
        due = await uow.installments.due(TODAY + timedelta(days=60), 1000)

    assert [(i.state, i.attempt) for i in stored] == [
        (InstallmentState.SCHEDULED, 1),
        (InstallmentState.CANCELLED, 0),
    ]
    assert stored[0].request_id.endswith(":1")
    assert [i.position for i in due if i.company_id == company] == [1]


async def test_due_lists_only_scheduled_installments_on_or_before_the_date(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = uuid.uuid4().hex[:12]
    schedule = a_schedule(company, TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=5))
    async with uow_factory() as uow:
        await uow.installments.add(schedule)
        await uow.installments.save(schedule[0].invoiced("inv-1"))
        await uow.commit()

    async with uow_factory() as uow:
        due = await uow.installments.due(TODAY + timedelta(days=1), 1000)

    mine = [(i.position, i.state) for i in due if i.company_id == company]
    assert mine == [(2, InstallmentState.SCHEDULED)]


async def test_forgetting_the_company_forgets_its_installments(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = uuid.uuid4().hex[:12]
    async with uow_factory() as uow:
        await uow.installments.add(a_schedule(company, TODAY))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.forget_company(company)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.installments.for_deal(company, "42") == []
