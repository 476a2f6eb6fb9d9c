"""The SQLAlchemy unit of work: one AsyncSession, one transaction, rollback unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.postgres.errors import database_unavailable, is_unreachable
from adapters.postgres.installments import PostgresInstallmentRepository
from adapters.postgres.invoices import (
    PostgresIdempotencyStore,
    PostgresInvoiceEventRepository,
    PostgresInvoiceRepository,
)
from adapters.postgres.repositories import (
    PostgresCompanyPurgeRepository,
    PostgresCustomerLinkRepository,
    PostgresDealFieldRepository,
    PostgresDealFollowUpRepository,
    PostgresDealTimelineRepository,
    PostgresInvoiceTemplateRepository,
    PostgresSettingsRepository,
)
from adapters.postgres.rules import PostgresInvoiceRuleRepository, PostgresRuleRunRepository

# Every table keyed by a company (connections are the TokenStore's).
COMPANY_TABLES = (
    "deal_timeline_entries",
    "deal_follow_ups",
    "invoice_events",
    "invoices",
    "idempotency_keys",
    "customer_links",
    "company_settings",
    "sync_watermarks",
    "company_purges",
    "invoice_templates",
    "deal_field_keys",
    "deal_field_values",
    "invoice_rules",
    "invoice_rule_runs",
    "deal_installments",
)


class SqlAlchemyUnitOfWork:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session = session = session_factory()  # it connects when first used
        self.settings = PostgresSettingsRepository(session)
        self.invoices = PostgresInvoiceRepository(session)
        self.invoice_events = PostgresInvoiceEventRepository(session)
        self.idempotency = PostgresIdempotencyStore(session)
        self.customer_links = PostgresCustomerLinkRepository(session)
        self.deal_follow_ups = PostgresDealFollowUpRepository(session)
        self.deal_timeline = PostgresDealTimelineRepository(session)
        self.purges = PostgresCompanyPurgeRepository(session)
        self.templates = PostgresInvoiceTemplateRepository(session)
        self.deal_fields = PostgresDealFieldRepository(session)
        self.invoice_rules = PostgresInvoiceRuleRepository(session)
        self.rule_runs = PostgresRuleRunRepository(session)
        self.installments = PostgresInstallmentRepository(session)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self._session.close()
        if exc is not None and is_unreachable(exc):
            raise database_unavailable() from exc

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

    async def forget_company(self, company_id: str) -> None:
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
