"""Postgres repositories with optimistic concurrency on ``version``."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from adapters.postgres.mappers import settings_from_row, settings_to_row
from adapters.postgres.tables import CompanySettingsRow
from application.errors import ConcurrencyConflictError
from domain.settings import CompanySettings


class PostgresSettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, company_id: str) -> CompanySettings | None:
        result = await self._session.execute(
            select(CompanySettingsRow).where(col(CompanySettingsRow.company_id) == company_id)
        )
        row = result.scalars().one_or_none()
        return settings_from_row(row) if row else None

    async def save(self, settings: CompanySettings) -> CompanySettings:
        new_version = settings.version + 1
        row = settings_to_row(settings, version=new_version)
        values = row.model_dump()
        if settings.version == 0:
            stmt = (
                insert(CompanySettingsRow)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["company_id"])
            )
        else:
            stmt = (
                update(CompanySettingsRow)
                .where(
                    col(CompanySettingsRow.company_id) == settings.company_id,
                    col(CompanySettingsRow.version) == settings.version,
                )
                .values(**values)
            )
        result = await self._session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrencyConflictError(
                "The settings were changed by someone else at the same time; reload and retry.",
                metadata={"company": settings.company_id},
            )
        return settings_from_row(row)
