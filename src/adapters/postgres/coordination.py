"""Cross-process coordination on Postgres: advisory-lock mutexes and a shared rate limiter."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import driver_fetchval
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


log = structlog.get_logger("dealbooks.coordination")

# Sent through the driver itself (asyncpg) outside any transaction: each is one statement in
# its own implicit transaction, and SQLAlchemy's statement machinery would only add CPU.
_ACQUIRE = "SELECT rate_limit_acquire($1, $2, $3, $4, $5, $6)"
_RELEASE = "DELETE FROM rate_limit_leases WHERE lease = $1"


class PostgresRateLimiter:
    """Rolling one-minute and one-second windows plus a concurrency cap, for each key, shared by
    every process through two small tables. Waits instead of failing.

    Taking a slot is one round trip (the ``rate_limit_acquire`` function decides and records
    under a per-key advisory lock, in its own implicit transaction): this runs before every
    vendor call, so it sits on the path of every request that makes one. Giving the slot back
    is one more, done in the background: the caller's answer does not wait for it, and a
    concurrency slot freed a moment later only errs on the safe side (one never freed, the
    process dying first, expires after ``LEASE_SECONDS``). The tables are UNLOGGED (migration
    0006), so neither waits for a WAL flush."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._releasing: set[asyncio.Task[None]] = set()

    async def _fetchval(self, statement: str, *args: object) -> object:
        return await driver_fetchval(self._engine, statement, *args)

    async def _try_acquire(self, key: str, limit: RateLimit) -> tuple[str | None, float]:
        lease = str(uuid.uuid4())
        wait = await self._fetchval(
            _ACQUIRE,
            key,
            limit.per_minute,
            limit.per_second,
            limit.concurrent,
            lease,
            LEASE_SECONDS,
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
            task = asyncio.get_running_loop().create_task(self._release(lease))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _release(self, lease: str) -> None:
        try:
            await self._fetchval(_RELEASE, lease)
        except Exception as exc:  # the lease expires by itself after LEASE_SECONDS
            log.warning("rate_limit.release_failed", error=type(exc).__name__)

    async def close(self) -> None:
        """Give back the slots still being released (before the engine is disposed)."""
        while self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
