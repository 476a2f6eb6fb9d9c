"""Ports for status sync: QuickBooks change notices (stored once) and per-company watermarks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """One entity change QuickBooks told us about (a webhook event, vendor-neutral).

    ``key`` identifies the event for deduplication: the CloudEvent id, or a hash of realm,
    entity, id, operation and time for the classic format.
    """

    key: str
    realm_id: str
    entity: str  # "Invoice", "Payment", ...
    entity_id: str
    operation: str  # "Create", "Update", "Delete", "Void", "Emailed", "Merge"
    occurred_at: datetime | None = None


class NoticeStore(Protocol):
    async def record(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        """Store the notices not seen before; return those (duplicates and replays dropped)."""
        ...

    async def load(self, keys: Sequence[str]) -> list[ChangeNotice]: ...

    async def mark_processed(self, keys: Sequence[str], now: datetime) -> None: ...

    async def unprocessed(self, received_before: datetime, limit: int) -> list[ChangeNotice]: ...

    async def watermark(self, company_id: str) -> datetime | None:
        """Until when QuickBooks changes of the company are known to be applied."""
        ...

    async def set_watermark(self, company_id: str, at: datetime) -> None: ...
