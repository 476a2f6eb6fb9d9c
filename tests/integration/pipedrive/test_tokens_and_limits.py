"""Cross-process behaviour on the Postgres token store, advisory lock and rate limiter:
single-flight refresh, invalid_grant handling, and a 500-call burst inside Pipedrive's window."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.pipedrive.client import PIPEDRIVE_RATE_LIMIT, SMALLEST_OAUTH_BURST
from adapters.pipedrive.gateway import PipedriveCrmGateway
from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock, PostgresRateLimiter
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from application.errors import IntegrationNotConnectedError, UpstreamUnavailableError
from application.reasons import Reason
from domain.connection import Connection, ConnectionStatus, Vendor
from emulators.pipedrive.clock import parse_iso
from tests.integration.pipedrive.support import (
    EmulatorHandle,
    connection_from_token,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
USERS_ME = "^/api/v1/users/me$"
TOKEN = "^/oauth/token$"


@pytest.fixture
async def handle() -> AsyncIterator[EmulatorHandle]:
    async with running_emulator() as running:
        yield running


@pytest.fixture
def token_store(pg_engine: AsyncEngine) -> PostgresTokenStore:
    return PostgresTokenStore(build_session_factory(pg_engine), SecretBox("k" * 40))


_LIMITERS: list[PostgresRateLimiter] = []


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for session in opened:
        await session.close()
    for limiter in _LIMITERS:
        await limiter.close()  # slots are given back in the background
    _LIMITERS.clear()


def _limiter(pg_engine: AsyncEngine) -> PostgresRateLimiter:
    limiter = PostgresRateLimiter(pg_engine)
    _LIMITERS.append(limiter)
    return limiter


def process(
    pg_engine: AsyncEngine,
    handle: EmulatorHandle,
    sessions: list[aiohttp.ClientSession],
    store: Any = None,
) -> PipedriveCrmGateway:
    """One 'process': its own ClientSession and gateway, sharing only Postgres."""
    session = aiohttp.ClientSession()
    sessions.append(session)
    return make_gateway(
        session,
        store or PostgresTokenStore(build_session_factory(pg_engine), SecretBox("k" * 40)),
        handle.base_url,
        lock=PostgresDistributedLock(pg_engine),
        limiter=_limiter(pg_engine),
        backoff_base=0.05,
    )


async def install(handle: EmulatorHandle, store: PostgresTokenStore, **kw: Any) -> Connection:
    seeded = await handle.seed()
    token = await handle.mint(seeded["company_id"])
    connection = connection_from_token(token, **kw)
    await store.save(connection)
    await handle.admin("DELETE", "/requests")
    return connection


async def test_eight_concurrent_callers_on_an_expired_token_refresh_it_once(
    pg_engine: AsyncEngine,
    handle: EmulatorHandle,
    token_store: PostgresTokenStore,
    sessions: list[aiohttp.ClientSession],
) -> None:
    connection = await install(handle, token_store, expires_in=-60)
    first, second = process(pg_engine, handle, sessions), process(pg_engine, handle, sessions)

    users = await asyncio.gather(
        *(g.current_user(connection.company_id) for g in [first, second] * 4)
    )

    assert {u.id for u in users} == {connection.connected_by}
    assert len(await handle.requests(TOKEN, "POST")) == 1
    stored = await token_store.load(connection.company_id, Vendor.PIPEDRIVE)
    assert stored is not None
    assert stored.tokens.access_token != connection.tokens.access_token
    assert stored.tokens.access_expires_at > datetime.now(UTC) + timedelta(minutes=50)
    assert stored.tokens.refresh_token == connection.tokens.refresh_token  # as Pipedrive returns it


async def test_a_refused_refresh_is_retried_once_then_the_connection_needs_reconnecting(
    pg_engine: AsyncEngine,
    handle: EmulatorHandle,
    token_store: PostgresTokenStore,
    sessions: list[aiohttp.ClientSession],
) -> None:
    connection = await install(handle, token_store, expires_in=-60)
    revoked = dataclasses.replace(
        connection.tokens, refresh_token="13000001:21000001:revoked-long-ago"
    )
    await token_store.save(dataclasses.replace(connection, tokens=revoked))
    gateway = process(pg_engine, handle, sessions)

    with pytest.raises(IntegrationNotConnectedError) as caught:
        await gateway.current_user(connection.company_id)

    assert caught.value.reason == Reason.PIPEDRIVE_NOT_CONNECTED
    assert [r["status"] for r in await handle.requests(TOKEN, "POST")] == [400, 400]
    stored = await token_store.load(connection.company_id, Vendor.PIPEDRIVE)
    assert stored is not None
    assert stored.status is ConnectionStatus.NEEDS_RECONNECT
    with pytest.raises(IntegrationNotConnectedError):
        await gateway.get_deal(connection.company_id, "1")
    assert len(await handle.requests(TOKEN, "POST")) == 2  # no more refresh attempts
    assert await handle.requests(USERS_ME) == []


class RotatedElsewhere:
    """A token store where another process stores fresh tokens right after our refresh fails."""

    def __init__(self, inner: PostgresTokenStore, fresh: Connection) -> None:
        self.inner = inner
        self.fresh = fresh
        self.loads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def load(self, company_id: str, vendor: Vendor) -> Connection | None:
        self.loads += 1
        if self.loads == 3:  # 1: connection(), 2: under the lock, 3: re-read after invalid_grant
            await self.inner.store_tokens(
                company_id,
                vendor,
                self.fresh.tokens,
                datetime.now(UTC),
                user_id=self.fresh.user_id,
            )
        return await self.inner.load(company_id, vendor)


async def test_a_refused_refresh_uses_the_token_another_process_just_stored(
    pg_engine: AsyncEngine,
    handle: EmulatorHandle,
    token_store: PostgresTokenStore,
    sessions: list[aiohttp.ClientSession],
) -> None:
    good = await install(handle, token_store)
    stale = dataclasses.replace(
        good.tokens,
        refresh_token="13000001:21000001:rotated-away",
        access_token="v1u:old",
        access_expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    await token_store.save(dataclasses.replace(good, tokens=stale))
    gateway = process(pg_engine, handle, sessions, RotatedElsewhere(token_store, good))

    user = await gateway.current_user(good.company_id)

    assert user.id == good.connected_by
    assert [r["status"] for r in await handle.requests(TOKEN, "POST")] == [400]
    stored = await token_store.load(good.company_id, Vendor.PIPEDRIVE)
    assert stored is not None
    assert stored.status is ConnectionStatus.CONNECTED


def max_in_window(times: list[float], window: float = 2.0) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_a_burst_of_500_calls_stays_inside_the_2_second_window_without_a_429(
    pg_engine: AsyncEngine,
    handle: EmulatorHandle,
    token_store: PostgresTokenStore,
    sessions: list[aiohttp.ClientSession],
) -> None:
    connection = await install(handle, token_store)
    limit = handle.emulator.config.burst_limit  # the emulator's plan: 160 per 2 s
    gateways = [process(pg_engine, handle, sessions) for _ in range(2)]  # two processes
    started = time.monotonic()

    results = await asyncio.gather(
        *(gateways[i % 2].current_user(connection.company_id) for i in range(500)),
        return_exceptions=True,
    )

    duration = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    throttled = [e for e in errors if isinstance(e, UpstreamUnavailableError)]
    log = await handle.requests(USERS_ME)
    times = [parse_iso(r["time"]).timestamp() for r in log]
    busiest = max_in_window(times)
    print(
        f"\nburst: calls=500 duration={duration:.1f}s errors={len(errors)} "
        f"429s_to_caller={len(throttled)} 429s_at_emulator="
        f"{sum(r['status'] == 429 for r in log)} max_in_2s={busiest} "
        f"(emulator limit {limit}, paced at {PIPEDRIVE_RATE_LIMIT.per_second}/s)"
    )
    assert errors == []
    assert len(log) == 500
    assert all(r["status"] == 200 for r in log)
    assert busiest <= limit
    assert busiest <= SMALLEST_OAUTH_BURST  # would fit even the Lite plan
