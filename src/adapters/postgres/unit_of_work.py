"""The SQLAlchemy unit of work: one AsyncSession, one transaction, rollback unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.postgres.repositories import (
    PostgresCustomerLinkRepository,
    PostgresDealFollowUpRepository,
    PostgresIdempotencyStore,
    PostgresInvoiceEventRepository,
    PostgresInvoiceRepository,
    PostgresSettingsRepository,
)
from application.errors import UpstreamUnavailableError

# Every table keyed by a company (connections are the TokenStore's).
COMPANY_TABLES = (
    "deal_follow_ups",
    "invoice_events",
    "invoices",
    "idempotency_keys",
    "customer_links",
    "company_settings",
)


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        self._session = self._session_factory()
        self.settings = PostgresSettingsRepository(self._session)
        self.invoices = PostgresInvoiceRepository(self._session)
        self.invoice_events = PostgresInvoiceEventRepository(self._session)
        self.idempotency = PostgresIdempotencyStore(self._session)
        self.customer_links = PostgresCustomerLinkRepository(self._session)
        self.deal_follow_ups = PostgresDealFollowUpRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self.rollback()
        finally:
            await self._session.close()
            self._session = None
        if isinstance(exc, OperationalError | InterfaceError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            raise UpstreamUnavailableError(
                "The database is not reachable right now; try again in a moment.",
                reason="DATABASE_UNAVAILABLE",
                retry_after_seconds=2.0,
            ) from exc

    async def commit(self) -> None:
        assert self._session is not None
        await self._session.commit()

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()

    async def forget_company(self, company_id: str) -> None:
        assert self._session is not None
        for table in COMPANY_TABLES:
            await self._session.execute(
                text(f"DELETE FROM {table} WHERE company_id = :company"),  # noqa: S608 - constant
                {"company": company_id},
            )


class SqlAlchemyUnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._session_factory)


class PostgresDatabaseProbe:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
