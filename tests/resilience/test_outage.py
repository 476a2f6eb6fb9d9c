"""Outage: QuickBooks unreachable (its port closed) for a while -> invoices asked for meanwhile
are accepted as CREATING with a durable job each, GetInvoice says CREATING for as long as it
lasts, and once QuickBooks is back every one completes, once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
import pytest

from dealbooks.v1 import invoice_pb2, invoice_service_pb2_grpc
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
SCENARIO = "outage"
CREATING = invoice_pb2.INVOICE_STATE_CREATING
OPEN = invoice_pb2.INVOICE_STATE_OPEN


async def test_invoices_asked_for_during_a_quickbooks_outage_wait_as_creating_then_all_complete(
    stack: Stack, scale: Scale, tally: Tally
) -> None:
    await stack.start_service()
    counts = ClientCounts()
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = invoice_service_pb2_grpc.InvoiceServiceStub(channel)

        async def states() -> Counter[int]:
            return await invoice_states(stub, names)

        await stack.emulators.take_offline("quickbooks")
        went_down = time.monotonic()
        queue = [f"out-{n}" for n in range(scale.waiting_creates)]
        answer_seconds: list[float] = []

        async def client() -> None:
            while queue:
                rid = queue.pop()
                asked = time.monotonic()
                await create_invoice(stub, invoice_request(rid, 3), counts)
                answer_seconds.append(time.monotonic() - asked)

        await asyncio.gather(*(client() for _ in range(scale.clients)))
        names = sorted({name for seen in counts.invoices.values() for name in seen})
        queued = await stack.unfinished_work()
        # For as long as QuickBooks is away, every invoice says CREATING; none is given up on.
        during: list[Counter[int]] = []
        while time.monotonic() - went_down < scale.outage_seconds:
            during.append(await states())
            await asyncio.sleep(min(5.0, max(0.0, scale.outage_seconds / 4)))
        during.append(await states())
        await stack.emulators.bring_online("quickbooks")
        came_back = time.monotonic()

        async def all_open() -> bool:
            return (await states())[OPEN] == len(names)

        completed = await until(all_open, scale.recovery_seconds, every=1)
        recovered_in = time.monotonic() - came_back
    left = await stack.unfinished_work()
    in_quickbooks = await stack.quickbooks_memos("out-")
    tally["outage seconds"] = round(came_back - went_down)
    tally["invoices asked for during it"] = scale.waiting_creates
    tally["answered CREATING"] = counts.first_states["INVOICE_STATE_CREATING"]
    tally["slowest answer during it (s)"] = round(max(answer_seconds), 1)
    tally["rejected"] = sum(counts.rejected.values())
    tally["CREATING / jobs queued during it"] = f"{queued[0]} / {queued[1]}"
    tally["all OPEN after it, within (s)"] = round(recovered_in) if completed else "never"
    tally["invoices in QuickBooks"] = sum(in_quickbooks.values())
    tally["duplicates"] = sum(n - 1 for n in in_quickbooks.values())
    tally["lost"] = scale.waiting_creates - len(in_quickbooks)

    assert not counts.rejected, counts.rejected
    assert counts.first_states == Counter({"INVOICE_STATE_CREATING": scale.waiting_creates})
    assert len(names) == scale.waiting_creates
    assert queued == (scale.waiting_creates, scale.waiting_creates)  # each with its durable job
    assert all(seen == Counter({CREATING: scale.waiting_creates}) for seen in during), during
    assert completed, await stack.stuck_work()
    assert left == (0, 0)
    assert in_quickbooks == Counter({f"out-{n}": 1 for n in range(scale.waiting_creates)})
