"""In-memory repositories and unit of work with the same transaction semantics as Postgres."""

from __future__ import annotations

import asyncio
import dataclasses
from types import TracebackType
from typing import Self

from application.errors import ConcurrencyConflictError
from domain.settings import CompanySettings


class InMemoryStore:
    """What the fake database holds; shared by every unit of work of one factory."""

    def __init__(self) -> None:
        self.settings: dict[str, CompanySettings] = {}
        self.lock = asyncio.Lock()


class InMemorySettingsRepository:
    def __init__(self, store: InMemoryStore, staged: dict[str, CompanySettings]) -> None:
        self._store = store
        self._staged = staged

    async def get(self, company_id: str) -> CompanySettings | None:
        return self._staged.get(company_id) or self._store.settings.get(company_id)

    async def save(self, settings: CompanySettings) -> CompanySettings:
        current = self._staged.get(settings.company_id) or self._store.settings.get(
            settings.company_id
        )
        current_version = current.version if current else 0
        if settings.version != current_version:
            raise ConcurrencyConflictError(
                "The settings were changed concurrently.",
                metadata={"company": settings.company_id},
            )
        stored = dataclasses.replace(settings, version=current_version + 1)
        self._staged[settings.company_id] = stored
        return stored


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged_settings: dict[str, CompanySettings] = {}
        self.settings = InMemorySettingsRepository(store, self._staged_settings)
        self.committed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        async with self._store.lock:
            for company_id, settings in self._staged_settings.items():
                stored = self._store.settings.get(company_id)
                if (stored.version if stored else 0) != settings.version - 1:
                    raise ConcurrencyConflictError(
                        "The settings were changed concurrently.",
                        metadata={"company": company_id},
                    )
            self._store.settings.update(self._staged_settings)
        self._staged_settings.clear()
        self.committed = True

    async def rollback(self) -> None:
        self._staged_settings.clear()


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)


class InMemoryDatabaseProbe:
    async def ping(self) -> None:
        return None
