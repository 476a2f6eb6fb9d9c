"""In-memory NoticeStore and NoticeInbox."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from adapters.in_memory.jobs import InMemoryJobQueue
from application.ports.sync import ChangeNotice


class InMemoryNoticeStore:
    def __init__(self) -> None:
        self.notices: dict[str, tuple[ChangeNotice, datetime, datetime | None]] = {}
        self.watermarks: dict[str, datetime] = {}

    async def pending(self, realm_key: str, limit: int) -> list[ChangeNotice]:
        """Here a realm's key is the realm id itself."""
        waiting = [
            (received, n.key, n)
            for n, received, done in self.notices.values()
            if done is None and n.realm_id == realm_key
        ]
        return [n for _, _, n in sorted(waiting, key=lambda w: (w[0], w[1]))][:limit]

    async def mark_processed(self, keys: Sequence[str], now: datetime) -> None:
        for key in keys:
            if key in self.notices:
                notice, received, _ = self.notices[key]
                self.notices[key] = (notice, received, now)

    async def last_received(self, realm_id: str, entities: Collection[str]) -> datetime | None:
        return max(
            (
                received
                for n, received, _ in self.notices.values()
                if n.realm_id == realm_id and n.entity in entities
            ),
            default=None,
        )

    async def forget_realm(self, realm_id: str) -> None:
        for key in [k for k, (n, _, _) in self.notices.items() if n.realm_id == realm_id]:
            del self.notices[key]

    async def forget_processed(self, before: datetime) -> int:
        old = [k for k, (_, _, done) in self.notices.items() if done is not None and done < before]
        for key in old:
            del self.notices[key]
        return len(old)

    async def watermark(self, company_id: str) -> datetime | None:
        return self.watermarks.get(company_id)

    async def set_watermark(self, company_id: str, at: datetime) -> None:
        current = self.watermarks.get(company_id)
        self.watermarks[company_id] = max(at, current) if current else at


class InMemoryNoticeInbox:
    """Stores into an InMemoryNoticeStore and queues ``apply_changes`` on an InMemoryJobQueue
    (whose ``deferred`` are the jobs waiting: a test takes one by removing it)."""

    def __init__(self, store: InMemoryNoticeStore, jobs: InMemoryJobQueue) -> None:
        self._store = store
        self._jobs = jobs

    async def accept(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        new: list[ChangeNotice] = []
        for notice in notices:
            if notice.key not in self._store.notices:
                self._store.notices[notice.key] = (notice, now, None)
                new.append(notice)
        for realm_id in dict.fromkeys(n.realm_id for n in new):
            self._jobs.defer("apply_changes", realm_key=realm_id)  # one waiting per realm
        return new
