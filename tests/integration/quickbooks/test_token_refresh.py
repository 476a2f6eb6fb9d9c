"""Single-flight OAuth refresh against the emulator, with the Postgres token store and lock:
one refresh for many callers, invalid_grant -> reconnect needed. Refresh storms across three
processes, expiry after expiry, are in tests/resilience/test_tokens.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from application.errors import IntegrationNotConnectedError
from application.reasons import Reason
from domain.connection import ConnectionStatus, OAuthTokens, Vendor
from tests.integration.quickbooks.harness import (
    RunningEmulator,
    connect,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "2001"
SECRET = "k" * 40


def refreshes(emulator: RunningEmulator) -> list[dict[str, object]]:
    return [
        r
        for r in emulator.requests("/oauth2/v1/tokens/bearer")
        if "grant_type=refresh_token" in str(r["body"])
    ]


async def expire(store: PostgresTokenStore, emulator: RunningEmulator) -> None:
    """The stored access token is past its expiry, as QuickBooks sees it too."""
    current = await store.load(COMPANY, Vendor.QUICKBOOKS)
    assert current is not None
    past = datetime.now(UTC) - timedelta(minutes=1)
    await store.save(replace(current, tokens=replace(current.tokens, access_expires_at=past)))
    await emulator.admin("POST", "tokens/expire", {})


@pytest.fixture
def store(pg_engine: AsyncEngine) -> PostgresTokenStore:
    return PostgresTokenStore(build_session_factory(pg_engine), SecretBox(SECRET))


async def test_eight_concurrent_callers_on_an_expired_token_refresh_once(
    pg_engine: AsyncEngine, store: PostgresTokenStore
) -> None:
    async with running_emulator() as emulator:
        await connect(emulator, store, COMPANY)
        await expire(store, emulator)
        await emulator.fault(path="^/oauth2/v1/tokens/bearer$", latency_ms=200)
        lock = PostgresDistributedLock(pg_engine)
        gateways = [make_gateway(emulator, store, lock=lock) for _ in range(8)]
        results = await asyncio.gather(*(g.get_invoice(COMPANY, "999999") for g in gateways))
        assert results == [None] * 8
        assert len(refreshes(emulator)) == 1
        assert all(r["status"] == 200 for r in refreshes(emulator))
        stored = await store.load(COMPANY, Vendor.QUICKBOOKS)
        assert stored is not None
        assert stored.status is ConnectionStatus.CONNECTED
        assert stored.tokens.access_expires_at > datetime.now(UTC) + timedelta(minutes=50)


async def test_a_refused_refresh_token_marks_the_connection_for_reconnect(
    pg_engine: AsyncEngine, store: PostgresTokenStore
) -> None:
    async with running_emulator() as emulator:
        connection = await connect(emulator, store, COMPANY)
        past = datetime.now(UTC) - timedelta(minutes=1)
        await store.save(
            replace(
                connection,
                tokens=OAuthTokens("revoked-access", "revoked-refresh", past, None),
            )
        )
        gateway = make_gateway(emulator, store, lock=PostgresDistributedLock(pg_engine))
        with pytest.raises(IntegrationNotConnectedError) as raised:
            await gateway.get_invoice(COMPANY, "1")
        assert raised.value.reason == Reason.QUICKBOOKS_RECONNECT_REQUIRED
        assert len(refreshes(emulator)) == 2  # re-read and retried once
        stored = await store.load(COMPANY, Vendor.QUICKBOOKS)
        assert stored is not None
        assert stored.status is ConnectionStatus.NEEDS_RECONNECT
        with pytest.raises(IntegrationNotConnectedError) as again:
            await gateway.get_invoice(COMPANY, "1")
        assert again.value.reason == Reason.QUICKBOOKS_RECONNECT_REQUIRED
        assert len(refreshes(emulator)) == 2  # no more refresh attempts on a broken connection


async def test_a_401_refreshes_once_and_retries(store: PostgresTokenStore) -> None:
    async with running_emulator() as emulator:
        await connect(emulator, store, COMPANY)
        await emulator.admin("POST", "tokens/expire", {})  # QBO says expired, we did not know
        gateway = make_gateway(emulator, store)
        assert await gateway.get_invoice(COMPANY, "999999") is None
        assert len(refreshes(emulator)) == 1
        await emulator.fault(path="/v3/company/", status=401, count=2)
        with pytest.raises(IntegrationNotConnectedError) as raised:
            await gateway.get_invoice(COMPANY, "999999")
        assert raised.value.reason == Reason.QUICKBOOKS_NOT_CONNECTED
