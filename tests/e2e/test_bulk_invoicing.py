"""Bulk invoicing end to end: BatchCreateInvoices through gRPC, the real QuickBooks adapter and
the QuickBooks emulator at QuickBooks' own limits (30 items a batch, 40 batch calls a minute per
realm), two Pipedrive companies on two realms at once. Exactly one invoice per deal, through
lost answers, 503s, and batches whose every try timed out (finished by the job)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import grpc
import pytest
from sqlalchemy import text

from dealbooks.v1 import batch_pb2, batch_pb2_grpc, customer_pb2, invoice_pb2
from dealbooks.v1 import invoice_service_pb2 as invoice_pb
from domain.messages import MessageCode
from entrypoints.emulated import DEMO_COMPANY, US_REALM, Emulators
from entrypoints.service import Service
from entrypoints.settings import AppSettings, PipedriveSettings, QuickBooksSettings
from tests.e2e.conftest import OPERATOR, bearer
from tests.e2e.test_journey import free_port

pytestmark = pytest.mark.e2e
MD = bearer(OPERATOR)
SECOND_COMPANY = "13000002"
SECOND_REALM = "9130354840933333"
CUSTOMER = "Bulk Buyer Ltd"


@dataclass
class World:
    service: Service
    emulators: Emulators
    customers: dict[str, str]  # company -> its QuickBooks customer id
    realms: dict[str, str]  # company -> realm

    def stub(self, channel: grpc.aio.Channel) -> batch_pb2_grpc.BulkInvoiceServiceStub:
        return batch_pb2_grpc.BulkInvoiceServiceStub(channel)


@pytest.fixture
async def world(app_settings: AppSettings, pg_engine: object) -> AsyncIterator[World]:
    http_port = free_port()
    emulators = Emulators(public_url=f"http://127.0.0.1:{http_port}")
    await emulators.start()
    settings = replace(
        app_settings,
        public_url=f"http://127.0.0.1:{http_port}",
        quickbooks=QuickBooksSettings(base_url=emulators.quickbooks_url),
        pipedrive=PipedriveSettings(oauth_url=emulators.pipedrive_url),
    )
    service = Service(settings, grpc_port=0, http_port=http_port)
    await service.start()
    try:
        assert service.container is not None
        store = service.container.gateways.token_store()
        seeded = await emulators.admin(
            "quickbooks",
            "POST",
            "seed",
            companies=[
                {"realm_id": US_REALM, "customers": [{"DisplayName": CUSTOMER}]},
                {
                    "realm_id": SECOND_REALM,
                    "name": "Second Books (US)",
                    "country": "US",
                    "customers": [{"DisplayName": CUSTOMER}],
                },
            ],
        )
        first, second = (c["customers"][CUSTOMER] for c in seeded["companies"])
        await emulators.connect(store)
        await emulators.connect_quickbooks(store, SECOND_REALM, SECOND_COMPANY)
        yield World(
            service,
            emulators,
            {DEMO_COMPANY: first, SECOND_COMPANY: second},
            {DEMO_COMPANY: US_REALM, SECOND_COMPANY: SECOND_REALM},
        )
    finally:
        await service.stop()
        await emulators.stop()


def bulk_request(world: World, company: str, deals: range) -> batch_pb2.BatchCreateInvoicesRequest:
    customer = customer_pb2.Customer(
        display_name=CUSTOMER, quickbooks_customer_id=world.customers[company]
    )
    return batch_pb2.BatchCreateInvoicesRequest(
        parent=f"companies/{company}",
        requests=[
            invoice_pb.CreateInvoiceRequest(
                parent=f"companies/{company}/deals/{deal}",
                request_id=f"bulk-{company}-{deal}",
                invoice=invoice_pb2.Invoice(
                    customer=customer,
                    currency_code="USD",
                    lines=[
                        invoice_pb2.LineItem(
                            name="Services", quantity="3", unit_price=f"{100 + deal}.25"
                        )
                    ],
                ),
            )
            for deal in deals
        ],
    )


async def run(
    channel: grpc.aio.Channel, world: World, request: batch_pb2.BatchCreateInvoicesRequest
) -> list[batch_pb2.BatchCreateInvoicesResponse]:
    return [
        answer async for answer in world.stub(channel).BatchCreateInvoices(request, metadata=MD)
    ]


async def in_quickbooks(world: World, company: str) -> list[dict[str, object]]:
    state = await world.emulators.admin(
        "quickbooks", "GET", f"companies/{world.realms[company]}/invoices"
    )
    return list(state["invoices"])


async def stored_states(world: World, company: str) -> dict[str, int]:
    assert world.service.container is not None
    async with world.service.container.gateways.engine().connect() as conn:
        rows = await conn.execute(
            text("SELECT state, count(*) FROM invoices WHERE company_id = :c GROUP BY state"),
            {"c": company},
        )
        return {str(state).lower(): int(count) for state, count in rows}


async def test_600_deals_over_two_realms_make_exactly_600_invoices(world: World) -> None:
    emulators = world.emulators
    # A batch's answer lost after QuickBooks committed it, and a batch refused with a 503,
    # one in each realm: both retried, as the same request.
    await emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={
            "method": "POST",
            "path": "/batch$",
            "realm": US_REALM,
            "drop_after_commit": True,
            "count": 1,
        },
    )
    await emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={
            "method": "POST",
            "path": "/batch$",
            "realm": SECOND_REALM,
            "status": 503,
            "count": 1,
        },
    )
    assert world.service.grpc is not None
    started = time.monotonic()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{world.service.grpc.port}") as channel:
        first, second = await asyncio.gather(
            run(channel, world, bulk_request(world, DEMO_COMPANY, range(1, 301))),
            run(channel, world, bulk_request(world, SECOND_COMPANY, range(1, 301))),
        )
    elapsed = time.monotonic() - started
    for answers in (first, second):
        assert sorted(a.index for a in answers) == list(range(300))
        assert all(a.WhichOneof("result") == "invoice" for a in answers)
        states = {a.invoice.state for a in answers}
        assert states == {invoice_pb2.INVOICE_STATE_OPEN}, [
            a.invoice.failure_reason for a in answers if a.invoice.failure_reason
        ][:3]
        assert len({a.invoice.quickbooks_invoice_id for a in answers}) == 300
    for company in (DEMO_COMPANY, SECOND_COMPANY):
        assert len(await in_quickbooks(world, company)) == 300
        assert await stored_states(world, company) == {"open": 300}
    batches = await emulators.admin("quickbooks", "GET", "requests")
    posts = [r for r in batches["requests"] if r["path"].endswith("/batch")]
    assert len(posts) == 2 * 10 + 2  # 10 batches of 30 per realm, plus the two retries
    # Ten batch calls per realm are well within a minute's 40: no throttling on the way.
    assert elapsed < 60


async def test_batches_whose_every_try_timed_out_are_finished_once_by_the_job(
    world: World,
) -> None:
    """QuickBooks commits each batch but no answer ever arrives (every try): the run ends with
    the invoices CREATING; the finishing job re-sends each batch, as the same request, once
    QuickBooks answers again. A client retry of the whole request then changes nothing."""
    emulators = world.emulators
    await emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={"method": "POST", "path": "/batch$", "drop_after_commit": True},
    )
    assert world.service.grpc is not None
    request = bulk_request(world, DEMO_COMPANY, range(1, 61))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{world.service.grpc.port}") as channel:
        answers = await run(channel, world, request)
        assert len(answers) == 60
        assert {a.invoice.state for a in answers} == {invoice_pb2.INVOICE_STATE_CREATING}
        # Committed by QuickBooks although nobody heard: 60 exist, none recorded yet.
        assert len(await in_quickbooks(world, DEMO_COMPANY)) == 60
        await emulators.admin("quickbooks", "DELETE", "faults")  # answers arrive again
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await stored_states(world, DEMO_COMPANY) == {"open": 60}:
                break
            await asyncio.sleep(0.5)
        assert await stored_states(world, DEMO_COMPANY) == {"open": 60}
        assert len(await in_quickbooks(world, DEMO_COMPANY)) == 60
        again = await run(channel, world, request)
    assert {a.invoice.state for a in again} == {invoice_pb2.INVOICE_STATE_OPEN}
    assert {a.invoice.name for a in again} == {a.invoice.name for a in answers}
    assert len(await in_quickbooks(world, DEMO_COMPANY)) == 60


async def test_invalid_requests_are_reported_and_the_valid_ones_proceed(world: World) -> None:
    request = bulk_request(world, DEMO_COMPANY, range(1, 5))
    request.requests[1].request_id = request.requests[0].request_id  # the same id twice
    del request.requests[2].invoice.lines[:]  # nothing to invoice
    request.requests[3].parent = f"companies/{SECOND_COMPANY}/deals/9"  # another company's
    assert world.service.grpc is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{world.service.grpc.port}") as channel:
        answers = {a.index: a for a in await run(channel, world, request)}
        assert answers[0].invoice.state == invoice_pb2.INVOICE_STATE_OPEN
        for index, field in (
            (1, "requests[1].request_id"),
            (2, "requests[2].invoice"),
            (3, "requests[3].parent"),
        ):
            error = answers[index].error
            assert error.code == "INVALID_ARGUMENT", error
            assert any(v.field.startswith(field) for v in error.field_violations), error
        assert answers[1].error.field_violations[0].reason == MessageCode.REQUEST_ID_REPEATED
        assert answers[3].error.field_violations[0].reason == MessageCode.OTHER_COMPANY_DEAL
        too_many = bulk_request(world, DEMO_COMPANY, range(1, 1002))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await run(channel, world, too_many)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(await in_quickbooks(world, DEMO_COMPANY)) == 1


async def test_a_caller_gone_mid_batch_leaves_nothing_lost_or_made_twice(world: World) -> None:
    """The stream is cancelled while QuickBooks is working on batches (slow answers): the
    batches left are queued for the finishing job, which re-sends each as the same request."""
    emulators = world.emulators
    await emulators.admin(
        "quickbooks",
        "POST",
        "faults",
        body={"method": "POST", "path": "/batch$", "latency_ms": 1500, "count": 3},
    )
    assert world.service.grpc is not None
    request = bulk_request(world, DEMO_COMPANY, range(1, 91))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{world.service.grpc.port}") as channel:
        call = world.stub(channel).BatchCreateInvoices(request, metadata=MD)
        # Stored, the batches sent or about to be, no answer yet (each takes 1.5 s). Waited for
        # rather than slept: on a busy machine storing 90 invoices can outlast a fixed pause.
        stored_by = time.monotonic() + 30
        while not (await stored_states(world, DEMO_COMPANY)).get("creating"):
            assert time.monotonic() < stored_by, "the batch stored nothing"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        call.cancel()
        left = await stored_states(world, DEMO_COMPANY)
        assert left.get("creating", 0) > 0, left  # gone mid-batch, not before or after
        # Queued at once; a batch stored just as the call ended is the sweep's (every minute).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if await stored_states(world, DEMO_COMPANY) == {"open": 90}:
                break
            await asyncio.sleep(0.5)
        assert await stored_states(world, DEMO_COMPANY) == {"open": 90}
        assert len(await in_quickbooks(world, DEMO_COMPANY)) == 90
        again = await run(channel, world, request)
    assert {a.invoice.state for a in again} == {invoice_pb2.INVOICE_STATE_OPEN}
    assert len(await in_quickbooks(world, DEMO_COMPANY)) == 90
