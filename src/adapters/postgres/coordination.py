"""Cross-process coordination on Postgres: advisory-lock mutexes and a shared rate limiter."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
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
    """
    WITH counts AS (
        SELECT
          (SELECT count(*) FROM rate_limit_starts
             WHERE key = :key AND started_at > clock_timestamp() - interval '60 seconds') AS minute,
          (SELECT count(*) FROM rate_limit_starts
             WHERE key = :key AND started_at > clock_timestamp() - interval '1 second') AS second,
          (SELECT count(*) FROM rate_limit_leases
             WHERE key = :key AND expires_at > clock_timestamp()) AS inflight,
          (SELECT min(started_at) FROM rate_limit_starts
             WHERE key = :key AND started_at > clock_timestamp() - interval '60 seconds')
             AS oldest_minute,
          (SELECT min(started_at) FROM rate_limit_starts
             WHERE key = :key AND started_at > clock_timestamp() - interval '1 second')
             AS oldest_second
    )
    SELECT minute, second, inflight,
           EXTRACT(EPOCH FROM (oldest_minute + interval '60 seconds' - clock_timestamp())),
           EXTRACT(EPOCH FROM (oldest_second + interval '1 second' - clock_timestamp()))
    FROM counts
    """
)


class PostgresRateLimiter:
    """Rolling one-minute and one-second windows plus a concurrency cap, for each key, shared by
    every process through two small tables. Waits instead of failing."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _try_acquire(self, key: str, limit: RateLimit) -> tuple[str | None, float]:
        async with self._engine.begin() as conn:
            # Serialises deciders for this key until commit, across every process.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 1))"), {"key": key}
            )
            row = (await conn.execute(_ACQUIRE, {"key": key})).one()
            minute, second, inflight, wait_minute, wait_second = row
            if (
                minute < limit.per_minute
                and second < limit.per_second
                and (inflight < limit.concurrent)
            ):
                lease = str(uuid.uuid4())
                await conn.execute(
                    text(
                        "INSERT INTO rate_limit_starts (key, started_at) "
                        "VALUES (:key, clock_timestamp())"
                    ),
                    {"key": key},
                )
                await conn.execute(
                    text(
                        "INSERT INTO rate_limit_leases (lease, key, expires_at) VALUES "
                        "(:lease, :key, clock_timestamp() + make_interval(secs => :lease_seconds))"
                    ),
                    {"lease": lease, "key": key, "lease_seconds": LEASE_SECONDS},
                )
                if random.random() < 0.02:  # housekeeping, 1 in 50 calls
                    await conn.execute(
                        text(
                            "DELETE FROM rate_limit_starts "
                            "WHERE started_at < clock_timestamp() - interval '2 minutes'"
                        )
                    )
                return lease, 0.0
        waits = []
        if minute >= limit.per_minute and wait_minute is not None:
            waits.append(float(wait_minute))
        if second >= limit.per_second and wait_second is not None:
            waits.append(float(wait_second))
        wait = max(waits) if waits else 0.02  # a concurrency slot frees itself soon
        return None, max(0.005, wait)

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
            async with self._engine.begin() as conn:
                await conn.execute(
                    text("DELETE FROM rate_limit_leases WHERE lease = :lease"), {"lease": lease}
                )
