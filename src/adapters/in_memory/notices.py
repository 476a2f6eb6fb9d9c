"""In-memory NoticeStore and NoticeInbox."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from adapters.in_memory.jobs import InMemoryJobQueue
from application.ports.sync import ChangeNotice


class InMemoryNoticeStore:
    def __init__(self) -> None:
        self.notices: dict[str, tuple[ChangeNotice, datetime, datetime | None]] = {}
        self.watermarks: dict[str, datetime] = {}

    async def load(self, keys: Sequence[str]) -> list[ChangeNotice]:
        return [self.notices[k][0] for k in keys if k in self.notices]

    async def mark_processed(self, keys: Sequence[str], now: datetime) -> None:
        for key in keys:
            if key in self.notices:
                notice, received, _ = self.notices[key]
                self.notices[key] = (notice, received, now)

    async def unprocessed(self, received_before: datetime, limit: int) -> list[ChangeNotice]:
        pending = [
            (received, n)
            for n, received, done in self.notices.values()
            if done is None and received < received_before
        ]
        return [n for _, n in sorted(pending, key=lambda p: p[0])][:limit]

    async def watermark(self, company_id: str) -> datetime | None:
        return self.watermarks.get(company_id)

    async def set_watermark(self, company_id: str, at: datetime) -> None:
        current = self.watermarks.get(company_id)
        self.watermarks[company_id] = max(at, current) if current else at


class InMemoryNoticeInbox:
    """Stores into an InMemoryNoticeStore and queues ``apply_changes`` on an InMemoryJobQueue."""

    def __init__(self, store: InMemoryNoticeStore, jobs: InMemoryJobQueue) -> None:
        self._store = store
        self._jobs = jobs

    async def accept(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        new: list[ChangeNotice] = []
        for notice in notices:
            if notice.key not in self._store.notices:
                self._store.notices[notice.key] = (notice, now, None)
                new.append(notice)
        by_realm: dict[str, list[str]] = defaultdict(list)
        for notice in new:
            by_realm[notice.realm_id].append(notice.key)
        for realm_id, keys in by_realm.items():
            self._jobs.deferred.append(("apply_changes", {"realm_id": realm_id, "keys": keys}))
        return new
