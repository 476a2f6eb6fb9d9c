"""In-memory TokenStore, OAuthStateStore, DistributedLock and RateLimiter (one process only)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from application.ports.connections import OAuthState, RateLimit, UserRemoval
from application.ports.persistence import CompanyPurge
from domain.connection import Connection, OAuthTokens, Vendor


def _in_use_order(connection: Connection) -> tuple[bool, datetime, str]:
    """The key ``load`` picks the greatest by: usable, then most recently connected."""
    connected = connection.connected_at or datetime.min.replace(tzinfo=UTC)
    return connection.is_usable, connected, connection.user_id


class InMemoryTokenStore:
    """``purges``: the waiting purges of the fake database (``InMemoryStore.purges``), which
    ``delete_user`` records into as Postgres does in its transaction; a dict of its own when
    not given."""

    def __init__(self, purges: dict[str, CompanyPurge] | None = None) -> None:
        self.connections: dict[tuple[str, Vendor, str], Connection] = {}
        self.purges = purges if purges is not None else {}

    def _of(self, company_id: str, vendor: Vendor) -> list[Connection]:
        return [
            c
            for (company, v, _), c in self.connections.items()
            if (company, v) == (company_id, vendor)
        ]

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None:
        return max(self._of(company_id, vendor), key=_in_use_order, default=None)

    async def load_by_external_id(self, vendor: Vendor, external_id: str) -> Connection | None:
        matches = [
            c
            for (_, v, _), c in self.connections.items()
            if v is vendor and c.external_id == external_id
        ]
        return max(matches, key=_in_use_order, default=None)

    async def connected_companies(self, vendor: Vendor) -> list[str]:
        return sorted(
            {c for (c, v, _), conn in self.connections.items() if v is vendor and conn.is_usable}
        )

    async def save(self, connection: Connection) -> Connection:
        key = (connection.company_id, connection.vendor, connection.user_id)
        current = self.connections.get(key)
        stored = dataclasses.replace(connection, version=(current.version if current else 0) + 1)
        self.connections[key] = stored
        return stored

    async def store_tokens(
        self,
        company_id: str,
        vendor: Vendor,
        tokens: OAuthTokens,
        now: datetime,
        *,
        user_id: str = "",
    ) -> Connection:
        current = self.connections.get((company_id, vendor, user_id))
        if current is None:
            raise LookupError(f"no {vendor.value} connection for company {company_id}")
        return await self.save(current.with_tokens(tokens, now))

    async def mark_broken(
        self, company_id: str, vendor: Vendor, reason: str, now: datetime, *, user_id: str = ""
    ) -> Connection | None:
        current = self.connections.get((company_id, vendor, user_id))
        return None if current is None else await self.save(current.broken(reason, now))

    async def delete(self, company_id: str, vendor: Vendor) -> None:
        for connection in self._of(company_id, vendor):
            del self.connections[(company_id, vendor, connection.user_id)]

    async def delete_user(
        self,
        company_id: str,
        vendor: Vendor,
        user_id: str,
        *,
        purge_if_last: CompanyPurge | None = None,
    ) -> UserRemoval:
        removed = self.connections.pop((company_id, vendor, user_id), None)
        remaining = len(self._of(company_id, vendor))
        purge = None
        if not remaining and purge_if_last is not None:
            purge = self.purges.setdefault(company_id, purge_if_last)
        return UserRemoval(removed, remaining, purge)


class InMemoryOAuthStateStore:
    def __init__(self) -> None:
        self.states: dict[str, OAuthState] = {}

    async def put(self, state: OAuthState) -> None:
        self.states[state.nonce] = state

    async def take(self, nonce: str, now: datetime) -> OAuthState | None:
        state = self.states.pop(nonce, None)
        if state is None or state.expires_at <= now:
            return None
        return state


class InMemoryDistributedLock:
    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._locks[key]:
            yield


#: Windows 200 ms longer than a second and a minute, as PostgresRateLimiter's (it says why).
SECOND, MINUTE = 1.2, 60.2


class InMemoryRateLimiter:
    def __init__(self) -> None:
        self._starts: defaultdict[str, deque[float]] = defaultdict(deque)
        self._inflight: defaultdict[str, int] = defaultdict(int)
        self._lock = asyncio.Lock()

    async def _try(self, key: str, limit: RateLimit) -> float:
        async with self._lock:
            now = time.monotonic()
            starts = self._starts[key]
            while starts and starts[0] <= now - MINUTE:
                starts.popleft()
            last_second = [s for s in starts if s > now - SECOND]
            if len(starts) >= limit.per_minute:
                return starts[0] + MINUTE - now
            if len(last_second) >= limit.per_second:
                return last_second[0] + SECOND - now
            if self._inflight[key] >= limit.concurrent:
                return 0.01
            starts.append(now)
            self._inflight[key] += 1
            return 0.0

    @asynccontextmanager
    async def slot(self, key: str, limit: RateLimit) -> AsyncIterator[None]:
        while True:
            wait = await self._try(key, limit)
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        try:
            yield
        finally:
            self._inflight[key] -= 1
