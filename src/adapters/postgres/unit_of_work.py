"""The SQLAlchemy unit of work: one AsyncSession, one transaction, rollback unless committed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.postgres.errors import database_unavailable, is_unreachable
from adapters.postgres.repositories import (
    PostgresCustomerLinkRepository,
    PostgresDealFollowUpRepository,
    PostgresIdempotencyStore,
    PostgresInvoiceEventRepository,
    PostgresInvoiceRepository,
    PostgresSettingsRepository,
)

# Every table keyed by a company (connections are the TokenStore's).
COMPANY_TABLES = (
    "deal_follow_ups",
    "invoice_events",
    "invoices",
    "idempotency_keys",
    "customer_links",
    "company_settings",
)


# Told, after a commit, which (company, deal) had invoices written: the read model forgets
# its answers for them, so this process reads its own writes at once.
OnInvoicesCommitted = Callable[[Iterable[tuple[str, str]]], None]


class SqlAlchemyUnitOfWork:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        on_invoices_committed: OnInvoicesCommitted | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_invoices_committed = on_invoices_committed
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
        if exc is not None and is_unreachable(exc):
            raise database_unavailable() from exc

    async def commit(self) -> None:
        assert self._session is not None
        try:
            await self._session.commit()
        finally:
            # Even when the commit's outcome is unknown (the connection dropped while waiting
            # for it): forgetting an answer that was still right costs one query.
            changed = self.invoices.changed_deals
            if changed and self._on_invoices_committed is not None:
                self._on_invoices_committed(changed)
            changed.clear()

    async def rollback(self) -> None:
        assert self._session is not None
        await self._session.rollback()

    async def forget_company(self, company_id: str) -> None:
        assert self._session is not None
        for table in COMPANY_TABLES:
            returning = " RETURNING deal_id" if table == "invoices" else ""
            result = await self._session.execute(
                text(f"DELETE FROM {table} WHERE company_id = :company{returning}"),  # noqa: S608 - constant
                {"company": company_id},
            )
            if returning:
                self.invoices.changed_deals.update((company_id, d) for d in result.scalars())


class SqlAlchemyUnitOfWorkFactory:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        on_invoices_committed: OnInvoicesCommitted | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._on_invoices_committed = on_invoices_committed

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._session_factory, self._on_invoices_committed)


class PostgresDatabaseProbe:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
