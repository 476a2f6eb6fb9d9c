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
from adapters.postgres.errors import database_unavailable, is_unreachable
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

# Sent through the driver (asyncpg): each is one statement in its own implicit transaction.
_ACQUIRE = "SELECT rate_limit_acquire($1, $2, $3, $4, $5, $6)"
_RELEASE = "DELETE FROM rate_limit_leases WHERE lease = $1"


class PostgresRateLimiter:
    """Rolling windows plus a concurrency cap, for each key, shared by every process through two
    small UNLOGGED tables: the only pacing of vendor calls. Waits instead of failing.

    The windows are 200 ms longer than the limit's second and minute (migration 0009): a call is
    counted when it starts and by the vendor when it arrives, and as long as that delay varies
    by less than 200 ms no vendor second sees more than ``per_second`` calls. Taking a slot is one
    round trip (``rate_limit_acquire`` decides under a per-key advisory lock); giving it back is
    done in the background (a slot never given back expires after ``LEASE_SECONDS``). In this
    process at most ``concurrent`` callers per key ask the database; the others queue on a
    semaphore."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._releasing: set[asyncio.Task[None]] = set()
        self._gates: dict[str, asyncio.Semaphore] = {}

    async def _acquire(self, key: str, limit: RateLimit, lease: str) -> float:
        """0 once ``lease`` holds a slot, else how long to wait before asking again."""
        try:
            answer = await driver_fetchval(
                self._engine,
                _ACQUIRE,
                key,
                limit.per_minute,
                limit.per_second,
                limit.concurrent,
                lease,
                LEASE_SECONDS,
            )
        except Exception as exc:
            if is_unreachable(exc):
                raise database_unavailable() from exc
            raise
        return float(answer)

    @asynccontextmanager
    async def slot(self, key: str, limit: RateLimit) -> AsyncIterator[None]:
        async with self._gates.setdefault(key, asyncio.Semaphore(limit.concurrent)):
            lease = str(uuid.uuid4())
            while (wait := await self._acquire(key, limit, lease)) > 0:  # noqa: ASYNC110 - polls the db
                await asyncio.sleep(wait + random.uniform(0, 0.01))  # jitter
            try:
                yield
            finally:
                task = asyncio.get_running_loop().create_task(self._release(lease))
                self._releasing.add(task)
                task.add_done_callback(self._releasing.discard)

    async def _release(self, lease: str) -> None:
        try:
            await driver_fetchval(self._engine, _RELEASE, lease)
        except Exception as exc:  # the lease expires by itself after LEASE_SECONDS
            log.warning("rate_limit.release_failed", error=type(exc).__name__)

    async def close(self) -> None:
        """Give back the slots still being released (before the engine is disposed)."""
        while self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
