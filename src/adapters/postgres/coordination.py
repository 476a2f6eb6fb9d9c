"""Cross-process coordination on Postgres: advisory-lock mutexes and a shared rate limiter."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.connections import RateLimit

LEASE_SECONDS = 120  # a crashed process's concurrency slot frees itself after this


class PostgresDistributedLock:
    """``pg_advisory_lock`` on a connection held for the duration of the block."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": key})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key}
                )
                await conn.commit()


_ACQUIRE = text(
    "SELECT rate_limit_acquire(:key, :per_minute, :per_second, :concurrent, :lease, :lease_seconds)"
)
_RELEASE = text("DELETE FROM rate_limit_leases WHERE lease = :lease")


class PostgresRateLimiter:
    """Rolling one-minute and one-second windows plus a concurrency cap, for each key, shared by
    every process through two small tables. Waits instead of failing.

    Taking a slot is one round trip (the ``rate_limit_acquire`` function decides and records
    under a per-key advisory lock, in its own implicit transaction) and giving it back is one
    more: this runs before every vendor call, so it sits on the path of every request that
    makes one."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _autocommit(self, statement: TextClause, params: dict[str, object]) -> object:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            result = await conn.execute(statement, params)
            return result.scalar() if result.returns_rows else None

    async def _try_acquire(self, key: str, limit: RateLimit) -> tuple[str | None, float]:
        lease = str(uuid.uuid4())
        wait = await self._autocommit(
            _ACQUIRE,
            {
                "key": key,
                "per_minute": limit.per_minute,
                "per_second": limit.per_second,
                "concurrent": limit.concurrent,
                "lease": lease,
                "lease_seconds": LEASE_SECONDS,
            },
        )
        seconds = float(wait) if isinstance(wait, int | float) else 0.0
        if seconds <= 0:
            return lease, 0.0
        return None, seconds

    @asynccontextmanager
    async def slot(self, key: str, limit: RateLimit) -> AsyncIterator[None]:
        while True:
            lease, wait = await self._try_acquire(key, limit)
            if lease is not None:
                break
            await asyncio.sleep(wait + random.uniform(0, 0.01))  # jitter
        try:
            yield
        finally:
            await self._autocommit(_RELEASE, {"lease": lease})
