"""Bulk invoicing through a crash (issue 17): a real `dealbooks serve` process is SIGKILLed in
the middle of a BatchCreateInvoices, one QuickBooks batch answered (being recorded), two still at
QuickBooks (which commits them after the process died, with nobody to hear). A `dealbooks worker`
started afterwards finishes the stored batches, each re-sent as the same request: exactly one
invoice per deal, all OPEN, and the same request sent again answers with those invoices and
makes nothing new."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from dealbooks.v1 import batch_pb2, invoice_pb2
from entrypoints.emulated import DEMO_COMPANY, US_REALM
from entrypoints.service import Service
from entrypoints.settings import AppSettings
from entrypoints.worker import retry_stalled_jobs
from tests.e2e.conftest import OPERATOR
from tests.e2e.polling import eventually
from tests.e2e.test_bulk_invoicing import (
    CUSTOMER,
    MD,
    World,
    bulk_request,
    in_quickbooks,
    run,
    stored_states,
)
from tests.e2e.test_journey import free_port
from tests.e2e.test_replicas import said, start_replica, wait_serving
from tests.e2e.test_workers import start_worker
from tests.support.demo import process_env, started_emulators

pytestmark = pytest.mark.e2e
DEALS = range(1, 91)  # three QuickBooks batches of 30
SLOW_SECONDS = 10  # how long QuickBooks takes to answer the first two batch calls


async def batch_calls(world: World) -> list[dict[str, object]]:
    logged = await world.emulators.admin("quickbooks", "GET", "requests?path=/batch")
    return list(logged["requests"])


def last_lines(log: Path, count: int = 30) -> str:
    return "\n".join(said(log).splitlines()[-count:])


def per_deal(invoices: list[dict[str, object]]) -> list[Decimal]:
    """The invoices' totals, sorted: each deal's is its own (3 x 100 + deal + 0.25)."""
    return sorted(Decimal(str(i["TotalAmt"])) for i in invoices)


def per_deal_wanted() -> list[Decimal]:
    return sorted(3 * (Decimal(100 + deal) + Decimal("0.25")) for deal in DEALS)


async def test_a_server_killed_mid_batch_leaves_exactly_one_invoice_per_deal(
    app_settings: AppSettings, pg_engine: object, database_url: str, tmp_path: Path
) -> None:
    emulators, settings, http_port = await started_emulators(app_settings)
    # This process connects, looks and sweeps; it runs no jobs, and the batch goes elsewhere.
    service = Service(settings, grpc_port=0, http_port=http_port, run_worker=False)
    await service.start()
    serve_grpc = free_port()
    env = process_env(
        database_url,
        emulators,
        DEALBOOKS_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        DEALBOOKS_API_TOKENS=f"{OPERATOR}=*",
    )
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    processes: list[subprocess.Popen[bytes]] = []
    streaming: asyncio.Future[None] | None = None
    try:
        assert service.container is not None
        assert service.grpc is not None
        seeded = await emulators.admin(
            "quickbooks",
            "POST",
            "seed",
            companies=[{"realm_id": US_REALM, "customers": [{"DisplayName": CUSTOMER}]}],
        )
        await emulators.connect(service.container.gateways.token_store())
        world = World(
            service,
            emulators,
            {DEMO_COMPANY: seeded["companies"][0]["customers"][CUSTOMER]},
            {DEMO_COMPANY: US_REALM},
        )
        serve = start_replica(
            {
                **env,
                "DEALBOOKS_GRPC_PORT": str(serve_grpc),
                "DEALBOOKS_HTTP_PORT": str(free_port()),
            },
            serve_log,
        )
        processes.append(serve)
        await wait_serving(serve_grpc, serve, serve_log)

        # QuickBooks is slow with the first two batch calls; the third is answered at once.
        await emulators.admin(
            "quickbooks",
            "POST",
            "faults",
            body={
                "method": "POST",
                "path": "/batch$",
                "latency_ms": SLOW_SECONDS * 1000,
                "count": 2,
            },
        )
        request = bulk_request(world, DEMO_COMPANY, DEALS)
        heard: list[batch_pb2.BatchCreateInvoicesResponse] = []

        async def call() -> None:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{serve_grpc}") as channel:
                stream = world.stub(channel).BatchCreateInvoices(request, metadata=MD)
                async for answer in stream:
                    heard.append(answer)

        streaming = asyncio.ensure_future(call())

        async def progress() -> tuple[int, list[str]]:
            stored = sum((await stored_states(world, DEMO_COMPANY)).values())
            return stored, sorted(str(c["status"]) for c in await batch_calls(world))

        # Mid-batch: all 90 stored, one batch answered (its invoices being recorded, perhaps
        # streamed), two sent and still unanswered. Not waiting for the recording to end keeps
        # this within the slow answers on a loaded machine, and is a crash mid-batch all the same.
        midway = (90, ["200", "None", "None"])
        seen = await eventually(progress, lambda p: p == midway, seconds=SLOW_SECONDS - 3)
        assert seen == midway, last_lines(serve_log)
        serve.send_signal(signal.SIGKILL)
        await asyncio.to_thread(serve.wait, 10)
        with pytest.raises(grpc.aio.AioRpcError):
            await streaming  # the stream ends with the process
        left = await stored_states(world, DEMO_COMPANY)
        assert set(left) <= {"open", "creating"}, left
        assert sum(left.values()) == 90, left
        assert left["creating"] >= 60, left  # at least the two unanswered batches
        assert len(heard) <= 30
        assert {a.invoice.state for a in heard} <= {invoice_pb2.INVOICE_STATE_OPEN}
        processes.append(start_worker(env, worker_log))  # the new process, booting meanwhile
        # QuickBooks goes on with the two slow batches and commits them, its answers unheard.
        calls = await eventually(
            lambda: batch_calls(world),
            lambda c: all(call["status"] is not None for call in c),
            seconds=SLOW_SECONDS + 5,
        )
        assert [call["status"] for call in calls] == [200, 200, 200]
        assert per_deal(await in_quickbooks(world, DEMO_COMPANY)) == per_deal_wanted()

        # The worker finishes what the dead process left. The minute sweep's work, without the
        # minute or its 30 s of grace (that spares a live request; this one's process is dead).
        sweep = service.container.services.sweep()
        jobs_app = service.container.gateways.jobs_app()
        assert jobs_app is not None

        async def swept() -> dict[str, int]:
            await retry_stalled_jobs(jobs_app, seconds_since_heartbeat=12)
            await sweep.execute(older_than=timedelta(0))
            return await stored_states(world, DEMO_COMPANY)

        # 3 s here, 8 s on a loaded machine. Not longer: the worker's own minute sweep takes
        # invoices 30 s old, and the test must fail when nothing but that finishes them.
        states = await eventually(swept, lambda s: s == {"open": 90}, seconds=20, interval=0.5)
        assert states == {"open": 90}, last_lines(worker_log)
        made = await in_quickbooks(world, DEMO_COMPANY)
        # The batches QuickBooks committed unheard were re-sent as the same requests: replayed.
        assert per_deal(made) == per_deal_wanted()

        # The client retries the whole request, as it should after losing the stream.
        sent_before = len(await batch_calls(world))
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.grpc.port}") as channel:
            again = {a.index: a for a in await run(channel, world, request)}
        sent_after = len(await batch_calls(world))
        made_after = len(await in_quickbooks(world, DEMO_COMPANY))
    finally:
        if streaming is not None and not streaming.done():
            streaming.cancel()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(process.wait, 15)
                except subprocess.TimeoutExpired:
                    process.kill()
        await service.stop()
        await emulators.stop()

    assert sorted(again) == list(range(90))
    assert {a.WhichOneof("result") for a in again.values()} == {"invoice"}
    assert {a.invoice.state for a in again.values()} == {invoice_pb2.INVOICE_STATE_OPEN}
    assert {a.invoice.quickbooks_invoice_id for a in again.values()} == {i["Id"] for i in made}
    for answer in heard:  # what the caller heard before the crash still stands
        assert again[answer.index].invoice.name == answer.invoice.name
    assert (sent_after, made_after) == (sent_before, 90)  # nothing sent, nothing made
