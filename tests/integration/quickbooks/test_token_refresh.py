"""Single-flight OAuth refresh against the emulator, with the Postgres token store and lock:
one refresh for many callers (also across two processes), invalid_grant -> reconnect needed."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from application.errors import IntegrationNotConnectedError
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
ROOT = Path(__file__).resolve().parents[3]


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


CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from adapters.postgres.connections import PostgresTokenStore
    from adapters.postgres.coordination import PostgresDistributedLock
    from adapters.postgres.crypto import SecretBox
    from adapters.postgres.engine import build_engine, build_session_factory
    from tests.integration.quickbooks.harness import RunningEmulator, make_gateway
    import aiohttp

    class Remote(RunningEmulator):
        def __init__(self, base, session):
            self._base = base
            self.session = session
        @property
        def base_url(self):
            return self._base

    SECRET = "k" * 40

    async def main(database_url, base_url, company):
        engine = build_engine(database_url, pool_size=5)
        store = PostgresTokenStore(build_session_factory(engine), SecretBox(SECRET))
        lock = PostgresDistributedLock(engine)
        async with aiohttp.ClientSession() as session:
            remote = Remote(base_url, session)
            gateways = [make_gateway(remote, store, lock=lock) for _ in range(4)]
            print("READY", flush=True)
            sys.stdin.readline()
            results = await asyncio.gather(
                *(g.get_invoice(company, "999999") for g in gateways), return_exceptions=True
            )
        await engine.dispose()
        print("RESULT " + json.dumps([repr(r) for r in results]), flush=True)

    asyncio.run(main(*sys.argv[1:4]))
    """
)


async def test_callers_in_two_processes_also_refresh_once(
    pg_engine: AsyncEngine, store: PostgresTokenStore, database_url: str
) -> None:
    async with running_emulator() as emulator:
        await connect(emulator, store, COMPANY)
        await expire(store, emulator)
        # A slow token endpoint keeps the first refresh in flight while everybody else arrives.
        await emulator.fault(path="^/oauth2/v1/tokens/bearer$", latency_ms=400)
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            database_url,
            emulator.base_url,
            COMPANY,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(ROOT),
            env=env,
        )
        assert child.stdin is not None
        assert child.stdout is not None
        ready = await asyncio.wait_for(child.stdout.readline(), 60)
        assert ready.strip() == b"READY"
        lock = PostgresDistributedLock(pg_engine)
        gateways = [make_gateway(emulator, store, lock=lock) for _ in range(4)]
        child.stdin.write(b"GO\n")
        await child.stdin.drain()
        ours = await asyncio.gather(*(g.get_invoice(COMPANY, "999999") for g in gateways))
        theirs = ""
        while not theirs.startswith("RESULT "):
            line = await asyncio.wait_for(child.stdout.readline(), 60)
            assert line, "the second process ended without a result"
            theirs = line.decode()
        await child.wait()
        assert ours == [None] * 4
        assert theirs.strip() == 'RESULT ["None", "None", "None", "None"]'
        assert len(refreshes(emulator)) == 1
        assert not [r for r in emulator.requests("/oauth2/") if r["status"] != 200]


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
        assert raised.value.reason == "QUICKBOOKS_RECONNECT_REQUIRED"
        assert len(refreshes(emulator)) == 2  # re-read and retried once
        stored = await store.load(COMPANY, Vendor.QUICKBOOKS)
        assert stored is not None
        assert stored.status is ConnectionStatus.NEEDS_RECONNECT
        with pytest.raises(IntegrationNotConnectedError) as again:
            await gateway.get_invoice(COMPANY, "1")
        assert again.value.reason == "QUICKBOOKS_RECONNECT_REQUIRED"
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
        assert raised.value.reason == "QUICKBOOKS_NOT_CONNECTED"
