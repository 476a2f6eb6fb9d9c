"""A ReadBudget for one process (the bench, tests)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from application.ports.clock import Clock
from application.ports.metering import is_rationed, month_of


@dataclass(slots=True)
class InMemoryReadBudget:
    """Counts in memory, by metering month."""

    clock: Clock
    quota: int
    reserve: float
    months: Counter[date] = field(default_factory=Counter)

    def count(self) -> None:
        self.months[month_of(self.clock.now())] += 1

    async def used(self) -> int:
        return self.months[month_of(self.clock.now())]

    async def rationed(self) -> bool:
        return is_rationed(await self.used(), self.quota, self.reserve)
