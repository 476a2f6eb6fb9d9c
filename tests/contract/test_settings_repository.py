"""The settings repository and unit of work: one suite, run on the fake and on Postgres."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.errors import ConcurrencyConflictError
from application.ports.persistence import UnitOfWorkFactory
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.field_mapping import FieldSource, InvoiceField, SourceEntity
from domain.permissions import Permissions
from domain.settings import CompanySettings
from domain.timeline import TimelinePolicy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "in_memory":
        return InMemoryUnitOfWorkFactory()
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    return SqlAlchemyUnitOfWorkFactory(build_session_factory(engine))


def sample(company_id: str = "1001") -> CompanySettings:
    settings = CompanySettings.default(company_id)
    mapping = settings.field_mapping.with_source(
        InvoiceField.TAX_ID, FieldSource(SourceEntity.DEAL, "f" * 40)
    )
    return dataclasses.replace(
        settings,
        field_mapping=mapping,
        due_date_policy=DueDatePolicy(DueDateRule.DAY_OF_NEXT_MONTH, day_of_month=31),
        copy_customer_details=True,
        default_currency="EUR",
        default_item="42",
        timeline=TimelinePolicy.of(["sent", "paid"], "fr"),
        permissions=Permissions.of(
            ["void", "delete"], {"send": ["f07d229d-088a-4144-a40f-1fe64295d180", "custom-2"]}
        ),
    ).touched(NOW)


async def test_saved_settings_read_back_equal(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        saved = await uow.settings.save(sample())
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.settings.get("1001")

    assert loaded == saved
    assert loaded is not None
    assert loaded.version == 1
    assert dataclasses.replace(loaded, version=0) == sample()


async def test_nothing_is_stored_without_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.settings.save(sample())

    async with uow_factory() as uow:
        assert await uow.settings.get("1001") is None


async def test_an_exception_inside_the_block_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.settings.save(sample())
            raise RuntimeError("boom")

    async with uow_factory() as uow:
        assert await uow.settings.get("1001") is None


async def test_saving_a_stale_version_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.settings.save(sample())
        await uow.commit()
    async with uow_factory() as uow:
        await uow.settings.save(dataclasses.replace(first, copy_customer_details=False))
        await uow.commit()

    with pytest.raises(ConcurrencyConflictError):
        async with uow_factory() as uow:
            await uow.settings.save(first)
            await uow.commit()


async def test_two_first_saves_of_one_company_cannot_both_win(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.settings.save(sample())
        await uow.commit()

    with pytest.raises(ConcurrencyConflictError):
        async with uow_factory() as uow:
            await uow.settings.save(sample())
            await uow.commit()


async def test_companies_do_not_see_each_others_settings(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.settings.save(sample("1001"))
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.settings.get("2002") is None
