"""The one cache policy of the vendor adapters: a value per company, kept for a fixed time on the
injected clock (cachetools' TTLCache, bounded), loaded once when many callers miss together."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from cachetools import TTLCache

from application.ports.clock import Clock

V = TypeVar("V")
MAX_COMPANIES = 10_000  # past this, the least recently used entry goes first


class CompanyCache(Generic[V]):
    def __init__(self, clock: Clock, ttl: timedelta) -> None:
        self._kept: TTLCache[str, V, datetime] = TTLCache(MAX_COMPANIES, ttl, timer=clock.now)
        self._loading: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def get(self, company_id: str, load: Callable[[], Awaitable[V]]) -> V:
        """The kept value, else ``load()``'s; concurrent misses for one company share one load."""
        kept = self._kept.get(company_id)
        if kept is not None:
            return kept
        async with self._loading[company_id]:
            kept = self._kept.get(company_id)
            if kept is None:
                kept = self._kept[company_id] = await load()
            return kept

    def put(self, company_id: str, value: V) -> None:
        self._kept[company_id] = value

    def forget(self, company_id: str) -> None:
        self._kept.pop(company_id, None)
