"""The deal fields' keys and the values last written on each deal: one suite, run on the fake
and on Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.crm import DealFieldKeys, DealInvoiceTotals
from application.ports.persistence import UnitOfWorkFactory

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEYS = DealFieldKeys("a" * 40, "b" * 40, "c" * 40, "d" * 40)
TOTALS = DealInvoiceTotals("EUR", Decimal("1200.50"), Decimal(200), Decimal("1000.50"), "Open")


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def a_company() -> str:
    return uuid.uuid4().hex[:12]  # tests on Postgres share the database


async def test_keys_are_kept_per_company_and_replaced_when_set_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = a_company()
    async with uow_factory() as uow:
        assert await uow.deal_fields.keys(company) is None
        await uow.deal_fields.set_keys(company, KEYS, NOW)
        await uow.commit()
    other = DealFieldKeys("e" * 40, "b" * 40, "c" * 40, "d" * 40)
    async with uow_factory() as uow:
        await uow.deal_fields.set_keys(company, other, NOW)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.deal_fields.keys(company) == other
        assert await uow.deal_fields.keys(a_company()) is None


async def test_the_values_written_on_a_deal_read_back_equal(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = a_company()
    async with uow_factory() as uow:
        await uow.deal_fields.set_written(company, "3", TOTALS, NOW)
        await uow.commit()
    paid = DealInvoiceTotals("EUR", Decimal("1200.5"), Decimal("1200.5"), Decimal(0), "Paid")
    async with uow_factory() as uow:
        assert await uow.deal_fields.written(company, "3") == TOTALS
        await uow.deal_fields.set_written(company, "4", paid, NOW)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.deal_fields.written(company, "3") == TOTALS
        assert await uow.deal_fields.written(company, "4") == paid
        assert await uow.deal_fields.written(company, "5") is None


async def test_nothing_is_kept_without_a_commit(uow_factory: UnitOfWorkFactory) -> None:
    company = a_company()
    async with uow_factory() as uow:
        await uow.deal_fields.set_keys(company, KEYS, NOW)
        await uow.deal_fields.set_written(company, "3", TOTALS, NOW)

    async with uow_factory() as uow:
        assert await uow.deal_fields.keys(company) is None
        assert await uow.deal_fields.written(company, "3") is None


async def test_forgetting_a_company_forgets_its_deal_fields(
    uow_factory: UnitOfWorkFactory,
) -> None:
    company = a_company()
    async with uow_factory() as uow:
        await uow.deal_fields.set_keys(company, KEYS, NOW)
        await uow.deal_fields.set_written(company, "3", TOTALS, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.forget_company(company)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.deal_fields.keys(company) is None
        assert await uow.deal_fields.written(company, "3") is None


async def test_forgetting_what_was_written_is_per_company(uow_factory: UnitOfWorkFactory) -> None:
    company, other = a_company(), a_company()
    async with uow_factory() as uow:
        for deal in ("3", "4"):
            await uow.deal_fields.set_written(company, deal, TOTALS, NOW)
        await uow.deal_fields.set_written(other, "3", TOTALS, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.deal_fields.forget_written(company)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.deal_fields.written(company, "3") is None
        assert await uow.deal_fields.written(company, "4") is None
        assert await uow.deal_fields.written(other, "3") == TOTALS
