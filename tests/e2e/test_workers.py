"""Scale-out: the server and two `dealbooks worker` processes share one queue; a worker killed
with SIGKILL mid-job loses nothing and nothing is created twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text

from dealbooks.v1 import invoice_pb2, invoice_service_pb2, invoice_service_pb2_grpc
from entrypoints.emulated import US_REALM
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from entrypoints.worker import retry_stalled_jobs
from tests.e2e.test_journey import DEAL, MD
from tests.e2e.test_status_sync import create
from tests.support.demo import process_env, started_emulators

pytestmark = pytest.mark.e2e
INVOICES = 12


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "worker"], env=env, stdout=out, stderr=out
        )


async def test_two_workers_and_the_server_share_the_queue_and_a_killed_one_loses_nothing(
    app_settings: AppSettings, pg_engine: object, database_url: str, tmp_path: Path
) -> None:
    emulators, settings, http_port = await started_emulators(app_settings, worker_concurrency=2)
    service = Service(settings, grpc_port=0, http_port=http_port)
    await service.start()
    env = process_env(database_url, emulators, DEALBOOKS_WORKER_CONCURRENCY="2")
    workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(2)]
    try:
        assert service.container is not None
        assert service.grpc is not None
        await emulators.connect(service.container.gateways.token_store())
        # QuickBooks is down: every invoice is accepted as CREATING and queued.
        await emulators.admin(
            "quickbooks",
            "POST",
            "faults",
            body={"method": "POST", "path": "/invoice$", "status": 503},
        )
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
            created = [await create(channel, f"scale-{n}") for n in range(INVOICES)]
            assert {i.state for i in created} == {invoice_pb2.INVOICE_STATE_CREATING}
            # Back, but slow: jobs are mid-flight in every process when one worker dies.
            await emulators.admin("quickbooks", "DELETE", "faults")
            await emulators.admin(
                "quickbooks",
                "POST",
                "faults",
                body={"method": "POST", "path": "/invoice$", "latency_ms": 1500, "count": 4},
            )
            await asyncio.sleep(2.0)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            # Its heartbeat goes stale; the sweep (run here rather than waiting for the minute)
            # hands its unfinished jobs back to the queue.
            deadline = time.monotonic() + 90
            stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)
            states: list[int] = []
            while time.monotonic() < deadline:
                await retry_stalled_jobs(
                    service.container.gateways.jobs_app(), seconds_since_heartbeat=12
                )
                listed = await stub.ListInvoices(
                    invoice_service_pb2.ListInvoicesRequest(parent=DEAL, page_size=100), metadata=MD
                )
                states = [i.state for i in listed.invoices]
                if states.count(invoice_pb2.INVOICE_STATE_OPEN) == INVOICES:
                    break
                await asyncio.sleep(1)
        assert states.count(invoice_pb2.INVOICE_STATE_OPEN) == INVOICES, states
        in_qbo = await emulators.admin("quickbooks", "GET", f"companies/{US_REALM}/invoices")
        linked = {i.quickbooks_invoice_id for i in listed.invoices}
        ours = [i for i in in_qbo["invoices"] if i["Id"] in linked]
        assert len(ours) == INVOICES  # exactly one QuickBooks invoice each
        assert len(in_qbo["invoices"]) == INVOICES  # and no stray duplicates
        assert service.container is not None
        # A killed worker's job may be handed back while the sweep has queued another for the
        # same invoice; both are safe (the QuickBooks write carries the invoice's request id,
        # and the count above shows one invoice each). What must not remain is unfinished work.
        unfinished = -1
        drain_deadline = time.monotonic() + 30
        while unfinished != 0 and time.monotonic() < drain_deadline:
            await retry_stalled_jobs(
                service.container.gateways.jobs_app(), seconds_since_heartbeat=12
            )
            async with service.container.gateways.engine().connect() as conn:
                unfinished = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                            "'finish_invoice_creation' AND status IN ('todo', 'doing')"
                        )
                    )
                ).scalar_one()
            await asyncio.sleep(0.5)
        assert unfinished == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        await service.stop()
        await emulators.stop()
