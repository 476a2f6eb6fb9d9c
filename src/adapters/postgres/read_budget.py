"""The deployment's metered QuickBooks reads this month, shared by every process: one row per
month (migration 0018). Each read is counted in the process at once and added to the row in
the background, a statement per burst of reads (a few a second at the quota's pace)."""

from __future__ import annotations

import asyncio
from typing import Final

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.clock import Clock
from application.ports.metering import is_rationed, month_of

log = structlog.get_logger("dealbooks.quickbooks")

_ADD: Final = text(
    "INSERT INTO quickbooks_metered_reads (month, calls) VALUES (:month, :n) "
    "ON CONFLICT (month) DO UPDATE SET calls = quickbooks_metered_reads.calls + EXCLUDED.calls"
)
_USED: Final = text("SELECT calls FROM quickbooks_metered_reads WHERE month = :month")


class PostgresReadBudget:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, quota: int, reserve: float) -> None:
        self._engine = engine
        self._clock = clock
        self.quota = quota
        self.reserve = reserve
        self._pending = 0
        self._adding: asyncio.Task[None] | None = None

    def count(self) -> None:
        self._pending += 1
        if self._adding is None or self._adding.done():
            self._adding = asyncio.get_running_loop().create_task(self._add())

    async def _add(self) -> None:
        while self._pending:
            n, self._pending = self._pending, 0
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(_ADD, {"month": month_of(self._clock.now()), "n": n})
            except Exception as exc:  # the next read adds them again
                self._pending += n
                log.warning("quickbooks.read_budget_unsaved", reads=n, error=type(exc).__name__)
                return

    async def used(self) -> int:
        if self._adding is not None:  # the reads being added are in the row once it is done
            await asyncio.gather(self._adding, return_exceptions=True)
        async with self._engine.connect() as conn:
            stored = (
                await conn.execute(_USED, {"month": month_of(self._clock.now())})
            ).scalar_one_or_none()
        return int(stored or 0) + self._pending

    async def rationed(self) -> bool:
        return is_rationed(await self.used(), self.quota, self.reserve)

    async def close(self) -> None:
        """Add the reads still counted only here (before the engine is disposed)."""
        if self._adding is not None:
            await asyncio.gather(self._adding, return_exceptions=True)
        await self._add()
