"""Ports for status sync: QuickBooks change notices (stored once) and per-company watermarks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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


class NoticeInbox(Protocol):
    """Where webhooks drop QuickBooks notices: stored once, their processing queued with them."""

    async def accept(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        """Store the notices not seen before with a job per realm (unless one is already
        waiting), in one transaction, and return them; duplicates queue nothing. Returns only
        once committed, so the caller may acknowledge QuickBooks (concurrent calls may share a
        transaction)."""
        ...


class NoticeStore(Protocol):
    async def pending(self, realm_key: str, limit: int) -> list[ChangeNotice]:
        """The realm's notices not yet processed, oldest first. ``realm_key`` is the realm as
        the inbox queued its job: opaque here (the store may keep a digest, not the realm)."""
        ...

    async def mark_processed(self, keys: Sequence[str], now: datetime) -> None: ...

    async def last_received(self, realm_id: str, entities: Collection[str]) -> datetime | None:
        """When the latest notice about any of these entities of the realm arrived (None:
        never): what tells a cache of QuickBooks data that it may have changed."""
        ...

    async def forget_realm(self, realm_id: str) -> None:
        """Delete every notice of the realm (its connection is gone)."""
        ...

    async def forget_processed(self, before: datetime) -> int:
        """Delete the notices processed before ``before`` (any realm); returns how many."""
        ...

    async def watermark(self, company_id: str) -> datetime | None:
        """Until when QuickBooks changes of the company are known to be applied."""
        ...

    async def set_watermark(self, company_id: str, at: datetime) -> None: ...
