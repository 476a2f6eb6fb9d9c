"""Engine and session factory, built once by the composition root."""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from adapters.postgres.errors import UNREACHABLE


def libpq_url(url: str) -> str:
    """A Postgres URL in any usual spelling, as asyncpg and psycopg take it (postgresql://)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    raise ValueError("DEALBOOKS_DATABASE_URL must be a postgresql:// URL")


def asyncpg_url(url: str) -> str:
    """The URL with SQLAlchemy's asyncpg driver selected."""
    return "postgresql+asyncpg://" + libpq_url(url).removeprefix("postgresql://")


def build_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping (a round trip per checkout): a connection lost to a database restart
        # fails one request as UNAVAILABLE and invalidates the pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        # A failed statement's error (logged with its traceback) without the values it bound:
        # customers' names and emails, invoice amounts.
        hide_parameters=True,
    )


def build_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def driver_fetchval(engine: AsyncEngine, statement: str, *args: Any) -> Any:
    """One statement sent through the driver (asyncpg) on a connection of the engine's pool,
    outside any transaction: one round trip, none of SQLAlchemy's statement machinery. A
    connection that failed under it (SQLAlchemy did not see that happen) is dropped from the
    pool instead of being handed out again."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
        try:
            return await driver.fetchval(statement, *args)
        except Exception as exc:
            if driver.is_closed() or isinstance(exc, UNREACHABLE):
                await conn.invalidate()
            raise
