"""Waiting purges (a company's last user uninstalled): one suite, on the fake and on Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from adapters.postgres.unit_of_work import SqlAlchemyUnitOfWorkFactory
from application.ports.connections import TokenStore
from application.ports.persistence import CompanyPurge, UnitOfWorkFactory
from domain.connection import Connection, OAuthTokens, Vendor
from domain.settings import CompanySettings

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(params=["in_memory", pytest.param("postgres", marks=pytest.mark.integration)])
def stores(request: pytest.FixtureRequest) -> tuple[UnitOfWorkFactory, TokenStore]:
    """The unit of work and the token store of one database."""
    if request.param == "in_memory":
        fake = InMemoryUnitOfWorkFactory()
        return fake, InMemoryTokenStore(purges=fake.store.purges)
    engine: AsyncEngine = request.getfixturevalue("pg_engine")
    sessions = build_session_factory(engine)
    return SqlAlchemyUnitOfWorkFactory(sessions), PostgresTokenStore(sessions, SecretBox("k" * 40))


@pytest.fixture
def uow_factory(stores: tuple[UnitOfWorkFactory, TokenStore]) -> UnitOfWorkFactory:
    return stores[0]


def purge(company_id: str, due_in_days: int, at: datetime = NOW) -> CompanyPurge:
    return CompanyPurge(company_id, uninstalled_at=at, due_at=at + due_in_days * DAY)


async def schedule(uow_factory: UnitOfWorkFactory, waiting: CompanyPurge) -> CompanyPurge:
    async with uow_factory() as uow:
        stored = await uow.purges.schedule(waiting)
        await uow.commit()
    return stored


async def test_a_company_keeps_its_first_waiting_purge(uow_factory: UnitOfWorkFactory) -> None:
    first = await schedule(uow_factory, purge("1001", 30))

    later = await schedule(uow_factory, purge("1001", 30, at=NOW + 5 * DAY))

    assert later == first
    async with uow_factory() as uow:
        assert await uow.purges.get_for_update("1001") == first


async def test_due_purges_come_longest_overdue_first(uow_factory: UnitOfWorkFactory) -> None:
    await schedule(uow_factory, purge("late", 30))
    await schedule(uow_factory, purge("early", 10))
    await schedule(uow_factory, purge("not-yet", 60))

    async with uow_factory() as uow:
        assert await uow.purges.list_due(NOW + 30 * DAY, 10) == ["early", "late"]
        assert await uow.purges.list_due(NOW + 30 * DAY, 1) == ["early"]
        assert await uow.purges.list_due(NOW + 10 * DAY - timedelta(seconds=1), 10) == []


async def test_a_cancelled_purge_is_gone_and_a_rolled_back_one_stays(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await schedule(uow_factory, purge("1001", 30))
    async with uow_factory() as uow:
        assert await uow.purges.cancel("1001")  # not committed

    async with uow_factory() as uow:
        assert await uow.purges.get_for_update("1001") is not None
        assert await uow.purges.cancel("1001")
        assert not await uow.purges.cancel("1001")
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.purges.get_for_update("1001") is None


async def test_forgetting_the_company_removes_its_purge_and_data_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    for company in ("1001", "2002"):
        await schedule(uow_factory, purge(company, 30))
        async with uow_factory() as uow:
            await uow.settings.save(CompanySettings.default(company).touched(NOW))
            await uow.commit()

    async with uow_factory() as uow:
        await uow.forget_company("1001")
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.purges.get_for_update("1001") is None
        assert await uow.settings.get("1001") is None
        assert await uow.purges.get_for_update("2002") is not None
        assert await uow.settings.get("2002") is not None


def pipedrive_user(company_id: str, user_id: str) -> Connection:
    tokens = OAuthTokens("a", "r", NOW + timedelta(hours=1), NOW + 60 * DAY)
    return Connection(company_id, Vendor.PIPEDRIVE, company_id, tokens, user_id=user_id)


async def test_the_last_users_deletion_records_the_purge_with_it(
    stores: tuple[UnitOfWorkFactory, TokenStore],
) -> None:
    uow_factory, token_store = stores
    for user in ("7", "8"):
        await token_store.save(pipedrive_user("1001", user))

    first = await token_store.delete_user(
        "1001", Vendor.PIPEDRIVE, "7", purge_if_last=purge("1001", 30)
    )
    last = await token_store.delete_user(
        "1001", Vendor.PIPEDRIVE, "8", purge_if_last=purge("1001", 30, at=NOW + DAY)
    )

    assert (first.remaining, first.purge) == (1, None)
    assert (last.remaining, last.purge) == (0, purge("1001", 30, at=NOW + DAY))
    async with uow_factory() as uow:
        assert await uow.purges.get_for_update("1001") == last.purge


async def test_a_repeated_last_deletion_keeps_the_waiting_purge(
    stores: tuple[UnitOfWorkFactory, TokenStore],
) -> None:
    uow_factory, token_store = stores
    waiting = await schedule(uow_factory, purge("1001", 30))

    again = await token_store.delete_user(
        "1001", Vendor.PIPEDRIVE, "7", purge_if_last=purge("1001", 30, at=NOW + 3 * DAY)
    )

    assert (again.removed, again.remaining, again.purge) == (None, 0, waiting)


async def test_waiting_purges_are_listed_due_or_not_the_soonest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await schedule(uow_factory, purge("late", 30))
    await schedule(uow_factory, purge("early", 10))

    async with uow_factory() as uow:
        assert await uow.purges.list_waiting(10) == ["early", "late"]
        assert await uow.purges.list_waiting(1) == ["early"]
