"""Two `dealbooks serve` replicas on one database share each QuickBooks realm's limits: this
process's service and a real `dealbooks serve` process both hammer one realm, and QuickBooks'
limits hold across them with no 429 reaching a caller and each invoice made once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from dealbooks.v1 import invoice_pb2
from entrypoints.emulated import US_REALM
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from tests.e2e.conftest import OPERATOR
from tests.e2e.test_journey import free_port
from tests.e2e.test_status_sync import create
from tests.support.demo import process_env, started_emulators

pytestmark = pytest.mark.e2e
INVOICES_EACH = 15


def start_replica(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "serve"], env=env, stdout=out, stderr=out
        )


def said(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_serving(port: int, replica: subprocess.Popen[bytes], log: Path) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert replica.poll() is None, said(log)
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)
    raise AssertionError(f"the replica did not become SERVING:\n{said(log)}")


async def test_two_replicas_hammering_one_realm_share_its_quickbooks_limits(
    app_settings: AppSettings, pg_engine: object, database_url: str, tmp_path: Path
) -> None:
    # QuickBooks' real per-realm limits (the default): 500 a minute, 10 a second, 10 at once.
    emulators, settings, http_port = await started_emulators(app_settings)
    service = Service(settings, grpc_port=0, http_port=http_port)
    await service.start()
    replica_grpc = free_port()
    env = process_env(
        database_url,
        emulators,
        DEALBOOKS_GRPC_PORT=str(replica_grpc),
        DEALBOOKS_HTTP_PORT=str(free_port()),
        DEALBOOKS_API_TOKENS=f"{OPERATOR}=*",
    )
    log = tmp_path / "replica.log"
    replica = start_replica(env, log)
    try:
        assert service.container is not None
        assert service.grpc is not None
        await emulators.connect(service.container.gateways.token_store())
        await wait_serving(replica_grpc, replica, log)
        before = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
        await emulators.admin("quickbooks", "DELETE", "requests")
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as here,
            grpc.aio.insecure_channel(f"127.0.0.1:{replica_grpc}") as there,
        ):
            # Each create looks up and makes its own customer, then the invoice: about three
            # QuickBooks calls each, all at once from both processes, well past 10 a second.
            created = await asyncio.gather(
                *(
                    create(channel, f"replica-{side}-{n}")
                    for n in range(INVOICES_EACH)
                    for side, channel in (("here", here), ("there", there))
                )
            )
        logged = await emulators.admin("quickbooks", "GET", "requests")
        calls = [r for r in logged["requests"] if r["path"].startswith(f"/v3/company/{US_REALM}/")]
        after = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
    finally:
        if replica.poll() is None:
            replica.send_signal(signal.SIGTERM)
            try:
                replica.wait(15)
            except subprocess.TimeoutExpired:
                replica.kill()
        await service.stop()
        await emulators.stop()

    # No 429 reached a caller: every create came back made.
    assert {i.state for i in created} == {invoice_pb2.INVOICE_STATE_OPEN}
    ids = {i.quickbooks_invoice_id for i in created}
    assert len(ids) == 2 * INVOICES_EACH
    assert len(after["invoices"]) - len(before["invoices"]) == 2 * INVOICES_EACH
    # One limit for the realm across both processes: a limiter of each process's own would
    # offer QuickBooks twice its 10 a second and have dozens refused; a shared one stays within
    # it (a 429 or two may come from network jitter against QuickBooks' sliding second).
    assert len(calls) >= 2 * INVOICES_EACH
    throttled = [r for r in calls if r["status"] == 429]
    assert len(throttled) <= len(calls) // 20, f"{len(throttled)} 429s of {len(calls)} calls"
