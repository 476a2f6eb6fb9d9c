"""Persistence ports: repositories and the unit of work that commits them together."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from domain.settings import CompanySettings


class SettingsRepository(Protocol):
    async def get(self, company_id: str) -> CompanySettings | None:
        """The company's stored settings, or None when it never saved any."""
        ...

    async def save(self, settings: CompanySettings) -> CompanySettings:
        """Store ``settings`` if nobody stored another version since it was read.

        ``settings.version`` is the version that was read (0 for never stored). Returns the stored
        settings with the new version; raises ``ConcurrencyConflictError`` on a stale version.
        """
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the ``async with`` block without ``commit()`` rolls back."""

    settings: SettingsRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class DatabaseProbe(Protocol):
    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        ...
