"""In-memory NoticeStore."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from application.ports.sync import ChangeNotice


class InMemoryNoticeStore:
    def __init__(self) -> None:
        self.notices: dict[str, tuple[ChangeNotice, datetime, datetime | None]] = {}
        self.watermarks: dict[str, datetime] = {}

    async def record(self, notices: Sequence[ChangeNotice], now: datetime) -> list[ChangeNotice]:
        new = [n for n in notices if n.key not in self.notices]
        for notice in new:
            self.notices[notice.key] = (notice, now, None)
        return new

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
