"""Intuit's monthly quota of metered QuickBooks reads, counted for the whole deployment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol


class ReadBudget(Protocol):
    """This month's metered reads of the whole deployment against Intuit's quota (Builder tier:
    500,000 a month per workspace, then "all further CorePlus API calls will be blocked until
    the following month"). Intuit does not tell an app how much it has used, so we count."""

    def count(self) -> None:
        """One more metered read served (called for each, from the client)."""
        ...

    async def used(self) -> int:
        """Metered reads this calendar month (UTC, as the emulator counts; [U] Intuit's)."""
        ...

    async def rationed(self) -> bool:
        """Used up to the reserve: optional reads are skipped until the month turns."""
        ...


def month_of(moment: datetime) -> date:
    """The metering month a moment falls in: its UTC calendar month, as its first day."""
    return moment.astimezone(UTC).date().replace(day=1)


def is_rationed(used: int, quota: int, reserve: float) -> bool:
    """``used`` has reached the quota less its reserve (a quota of 0: none known, never)."""
    return quota > 0 and used >= quota * (1 - reserve)
