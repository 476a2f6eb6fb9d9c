"""Tokens: refresh storms from three processes -> one refresh per expiry and never an
invalid_grant; a connection revoked in QuickBooks -> ConnectionService says "reconnect", the
invoices waiting for QuickBooks are kept, and they are finished once an admin reconnects."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

import aiohttp
import grpc
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.connections import PostgresTokenStore
from adapters.postgres.coordination import PostgresDistributedLock
from adapters.postgres.crypto import SecretBox
from adapters.postgres.engine import build_session_factory
from dealbooks.v1 import (
    connection_service_pb2,
    connection_service_pb2_grpc,
    invoice_pb2,
    invoice_service_pb2_grpc,
)
from domain.connection import ConnectionStatus, Vendor
from emulators.pipedrive.jwt import sign_extension_token
from entrypoints.emulated import DEMO_COMPANY
from tests.e2e.test_journey import MD
from tests.integration.quickbooks.harness import (
    RunningEmulator,
    connect,
    make_gateway,
    running_emulator,
)
from tests.integration.quickbooks.test_token_refresh import COMPANY, SECRET, expire, refreshes
from tests.resilience.conftest import Tally
from tests.resilience.support import (
    ClientCounts,
    Scale,
    Stack,
    create_invoice,
    invoice_request,
    invoice_states,
    until,
)

pytestmark = pytest.mark.e2e
SCENARIO = "tokens"
ROOT = Path(__file__).resolve().parents[2]
CALLERS = 4  # per process

# A second (and third) process: the real QuickBooks gateway, Postgres token store and lock; on
# each "GO" line its callers all read through an expired token at once.
CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    import aiohttp
    from adapters.postgres.connections import PostgresTokenStore
    from adapters.postgres.coordination import PostgresDistributedLock
    from adapters.postgres.crypto import SecretBox
    from adapters.postgres.engine import build_engine, build_session_factory
    from tests.integration.quickbooks.harness import RunningEmulator, make_gateway

    class Remote(RunningEmulator):
        def __init__(self, base, session):
            self._base = base
            self.session = session
        @property
        def base_url(self):
            return self._base

    async def main(database_url, base_url, company, secret, callers):
        engine = build_engine(database_url, pool_size=5)
        store = PostgresTokenStore(build_session_factory(engine), SecretBox(secret))
        lock = PostgresDistributedLock(engine)
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            remote = Remote(base_url, session)
            gateways = [make_gateway(remote, store, lock=lock) for _ in range(int(callers))]
            print("READY", flush=True)
            while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "GO":
                results = await asyncio.gather(
                    *(g.get_invoice(company, "999999") for g in gateways), return_exceptions=True
                )
                print("RESULT " + json.dumps([repr(r) for r in results]), flush=True)
        await engine.dispose()

    asyncio.run(main(*sys.argv[1:6]))
    """
)


async def start_child(database_url: str, emulator: RunningEmulator) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        database_url,
        emulator.base_url,
        COMPANY,
        SECRET,
        str(CALLERS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=str(ROOT),
        env=env,
    )
    assert child.stdout is not None
    ready = await asyncio.wait_for(child.stdout.readline(), 60)
    assert ready.strip() == b"READY"
    return child


async def result_of(child: asyncio.subprocess.Process) -> str:
    assert child.stdout is not None
    while True:
        line = (await asyncio.wait_for(child.stdout.readline(), 60)).decode()
        assert line, "a child process ended without a result"
        if line.startswith("RESULT "):
            return line.strip()


async def test_refresh_storms_from_three_processes_refresh_once_per_expiry(
    pg_engine: AsyncEngine, database_url: str, scale: Scale, tally: Tally
) -> None:
    store = PostgresTokenStore(build_session_factory(pg_engine), SecretBox(SECRET))
    async with running_emulator() as emulator:
        await connect(emulator, store, COMPANY)
        # A slow token endpoint keeps the first refresh in flight while everybody else arrives;
        # a superseded refresh token dies at once (no grace), so a second refresh would fail.
        await emulator.fault(path="^/oauth2/v1/tokens/bearer$", latency_ms=400)
        children = [await start_child(database_url, emulator) for _ in range(2)]
        lock = PostgresDistributedLock(pg_engine)
        gateways = [make_gateway(emulator, store, lock=lock) for _ in range(CALLERS)]
        per_expiry: list[int] = []
        failed: list[str] = []
        try:
            for _ in range(scale.token_rounds):
                before = len(refreshes(emulator))
                await expire(store, emulator)
                for child in children:
                    assert child.stdin is not None
                    child.stdin.write(b"GO\n")
                    await child.stdin.drain()
                ours = await asyncio.gather(
                    *(g.get_invoice(COMPANY, "999999") for g in gateways), return_exceptions=True
                )
                theirs = [await result_of(child) for child in children]
                failed += [repr(r) for r in ours if r is not None]
                failed += [t for t in theirs if t != "RESULT " + json.dumps(["None"] * CALLERS)]
                per_expiry.append(len(refreshes(emulator)) - before)
        finally:
            for child in children:
                assert child.stdin is not None
                child.stdin.close()
                await child.wait()
        refused = [r for r in emulator.requests("/oauth2/") if r["status"] != 200]
        stored = await store.load(COMPANY, Vendor.QUICKBOOKS)
    tally["expiries (3 processes x 4 callers each)"] = scale.token_rounds
    tally["refreshes per expiry"] = per_expiry
    tally["invalid_grant / other refusals"] = len(refused)
    tally["callers that failed"] = len(failed)

    assert per_expiry == [1] * scale.token_rounds
    assert not refused
    assert not failed, failed
    assert stored is not None
    assert stored.status is ConnectionStatus.CONNECTED


async def revoke_in_quickbooks(stack: Stack, refresh_token: str) -> None:
    """What "Disconnect" in QuickBooks' app settings does: the grant and all its tokens die."""
    qbo = stack.settings.quickbooks
    client = base64.b64encode(f"{qbo.client_id}:{qbo.client_secret}".encode()).decode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stack.emulators.quickbooks_url}/v2/oauth2/tokens/revoke",
            json={"token": refresh_token},
            headers={"Authorization": f"Basic {client}"},
        ) as response,
    ):
        assert response.status == 200


async def reconnect_as_an_admin(stack: Stack, admin_user_id: str) -> str:
    """The settings page's "Reconnect" by a Pipedrive admin: our OAuth start, Intuit's consent
    (approved), our callback. Returns where the browser lands."""
    secret = stack.settings.pipedrive.jwt_secret
    jwt = sign_extension_token(secret, int(DEMO_COMPANY), int(admin_user_id))
    url = f"{stack.settings.public_url}/oauth/quickbooks/start?token={jwt}"
    async with aiohttp.ClientSession() as session:
        for _ in range(5):
            async with session.get(url, allow_redirects=False) as response:
                if response.status != 302:
                    raise AssertionError(f"{url}: {response.status} {await response.text()}")
                url = response.headers["Location"]
            if "quickbooks=connected" in url:
                return url
    raise AssertionError(f"the OAuth flow did not come back connected: {url}")


async def test_a_revoked_connection_says_reconnect_and_keeps_the_waiting_invoices_until_then(
    stack: Stack, scale: Scale, tally: Tally
) -> None:
    service = await stack.start_service()
    assert service.container is not None
    tokens = service.container.gateways.token_store()
    counts = ClientCounts()
    company = connection_service_pb2.GetConnectionRequest(
        name=f"companies/{DEMO_COMPANY}/connection"
    )
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        invoices = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
        connections = connection_service_pb2_grpc.ConnectionServiceStub(channel)

        async def quickbooks_state() -> int:
            reply = await connections.GetConnection(company, metadata=MD)
            return int(reply.connection.quickbooks.state)

        async def states() -> Counter[int]:
            return await invoice_states(invoices, names)

        # QuickBooks refuses new invoices for a moment: they wait as CREATING, each with a job.
        await stack.fault(id="refuse-invoices", method="POST", path="/invoice$", status=503)
        for n in range(scale.waiting_creates):
            await create_invoice(invoices, invoice_request(f"rv-{n}", 3), counts)
        names = sorted({name for seen in counts.invoices.values() for name in seen})
        # Then someone disconnects dealbooks from inside QuickBooks, and it answers again.
        connection = await tokens.load(DEMO_COMPANY, Vendor.QUICKBOOKS)
        assert connection is not None
        await revoke_in_quickbooks(stack, connection.tokens.refresh_token)
        await stack.clear_faults()

        needs_reconnect = connection_service_pb2.CONNECTION_STATE_NEEDS_RECONNECT
        said_reconnect = await until(
            lambda: _is(quickbooks_state(), needs_reconnect), scale.recovery_seconds
        )
        shown = (await connections.GetConnection(company, metadata=MD)).connection.quickbooks
        waiting = await states()
        queued = await stack.unfinished_work()
        await asyncio.sleep(2)  # jobs keep meeting the revoked connection meanwhile
        still_waiting = await states()

        pipedrive = await tokens.load(DEMO_COMPANY, Vendor.PIPEDRIVE)
        assert pipedrive is not None  # installed by an admin, who reconnects QuickBooks too
        landed = await reconnect_as_an_admin(stack, pipedrive.connected_by)
        connected = await quickbooks_state()

        async def all_open() -> bool:
            return (await states())[invoice_pb2.INVOICE_STATE_OPEN] == len(names)

        completed = await until(all_open, scale.recovery_seconds, every=1)
    in_quickbooks = await stack.quickbooks_memos("rv-")
    tally["invoices waiting when revoked"] = len(names)
    tally["shown while revoked"] = (
        f"{connection_service_pb2.ConnectionState.Name(shown.state)}: {shown.failure_reason}"
    )
    tally["CREATING / jobs kept while revoked"] = f"{queued[0]} / {queued[1]}"
    tally["completed after reconnect"] = sum(in_quickbooks.values())
    tally["duplicates"] = sum(n - 1 for n in in_quickbooks.values())

    assert not counts.rejected, counts.rejected
    assert len(names) == scale.waiting_creates
    assert said_reconnect
    assert shown.failure_reason
    creating = Counter({invoice_pb2.INVOICE_STATE_CREATING: scale.waiting_creates})
    assert waiting == creating
    assert still_waiting == creating
    assert queued == (scale.waiting_creates, scale.waiting_creates)
    assert "quickbooks=connected" in landed
    assert connected == connection_service_pb2.CONNECTION_STATE_CONNECTED
    assert completed, await stack.stuck_work()
    assert in_quickbooks == Counter({f"rv-{n}": 1 for n in range(scale.waiting_creates)})


async def _is(value: Awaitable[int], wanted: int) -> bool:
    return await value == wanted
