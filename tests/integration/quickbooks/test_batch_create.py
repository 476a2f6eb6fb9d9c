"""Invoices created 30 at a time through QuickBooks' batch endpoint (reference §4.8), against the
emulator: items' faults inside the 200, exactly once through a lost answer (same requestid and
bIds, §1.5), throttling retried, and each batch call counted against the batch budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from adapters.in_memory.connections import InMemoryRateLimiter, InMemoryTokenStore
from adapters.quickbooks.client import BATCH_RATE_LIMIT
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from application.errors import UpstreamRejectedError
from application.ports.accounting import AccountingInvoice, InvoiceToCreate
from application.ports.connections import RateLimit
from application.reasons import MetadataKey
from tests.integration.quickbooks.harness import (
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "3001"
BATCH_ID = "0b6c7d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e"


class RecordingLimiter(InMemoryRateLimiter):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[tuple[str, RateLimit]] = []

    @asynccontextmanager
    async def slot(self, key: str, limit: RateLimit) -> AsyncIterator[None]:
        self.keys.append((key, limit))
        async with super().slot(key, limit):
            yield


@dataclass
class Setup:
    emulator: RunningEmulator
    gateway: QuickBooksAccountingGateway
    limiter: RecordingLimiter


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with running_emulator() as emulator:
        store = InMemoryTokenStore()
        await connect(emulator, store, COMPANY, US_REALM)
        limiter = RecordingLimiter()
        yield Setup(emulator, make_gateway(emulator, store, limiter=limiter), limiter)


def made_for(setup: Setup, invoice_id: str) -> int:
    return sum(
        invoice_id in str(inv.get("PrivateNote", ""))
        for inv in setup.emulator.invoices(US_REALM).values()
    )


async def test_thirty_invoices_in_one_call_with_an_item_refused_inside_the_200(
    setup: Setup,
) -> None:
    wanted = [InvoiceToCreate(invoice("1")) for _ in range(29)]
    wanted.insert(7, InvoiceToCreate(invoice("424242")))  # QuickBooks knows no such customer
    outcomes = await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    assert len(outcomes) == 30
    refused = outcomes[7]
    assert isinstance(refused, UpstreamRejectedError)
    assert refused.metadata[MetadataKey.VENDOR_CODE] == "2500"
    created = [o for i, o in enumerate(outcomes) if i != 7]
    assert all(isinstance(o, AccountingInvoice) for o in created)
    assert len({o.id for o in created if isinstance(o, AccountingInvoice)}) == 29
    for position, sent in enumerate(wanted):
        assert made_for(setup, sent.invoice.id) == (0 if position == 7 else 1)
    posts = setup.emulator.requests("/batch", method="POST")
    assert [p["status"] for p in posts] == [200]
    assert posts[0]["query"]["requestid"] == BATCH_ID
    batch_keys = [key for key, limit in setup.limiter.keys if limit == BATCH_RATE_LIMIT]
    assert batch_keys == [f"quickbooks-batch:{US_REALM}"]


async def test_a_place_left_empty_keeps_the_others_positions(setup: Setup) -> None:
    first, third = invoice("1"), invoice("1")
    wanted = [InvoiceToCreate(first), None, InvoiceToCreate(third)]
    outcomes = await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    assert outcomes[1] is None
    assert isinstance(outcomes[0], AccountingInvoice)
    assert isinstance(outcomes[2], AccountingInvoice)
    assert outcomes[0].id != outcomes[2].id


async def test_a_batch_whose_answer_is_lost_after_commit_makes_each_invoice_once(
    setup: Setup,
) -> None:
    wanted = [InvoiceToCreate(invoice("1")) for _ in range(30)]
    await setup.emulator.fault(method="POST", path="/batch$", drop_after_commit=True, count=1)
    outcomes = await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    # The sweep re-sends the same batch later: still one invoice each, the same ids.
    again = await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    assert [o.id for o in again if isinstance(o, AccountingInvoice)] == [
        o.id for o in outcomes if isinstance(o, AccountingInvoice)
    ]
    assert all(made_for(setup, sent.invoice.id) == 1 for sent in wanted)
    posts = setup.emulator.requests("/batch", method="POST")
    assert [p["status"] for p in posts] == ["dropped-after-200", 200, 200]
    assert {p["query"]["requestid"] for p in posts} == {BATCH_ID}


@pytest.mark.parametrize("status", [429, 503])
async def test_a_throttled_or_failing_batch_call_is_retried(setup: Setup, status: int) -> None:
    wanted = [InvoiceToCreate(invoice("1")) for _ in range(3)]
    await setup.emulator.fault(method="POST", path="/batch$", status=status, count=2)
    outcomes = await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    assert all(isinstance(o, AccountingInvoice) for o in outcomes)
    assert all(made_for(setup, sent.invoice.id) == 1 for sent in wanted)
    statuses = [p["status"] for p in setup.emulator.requests("/batch", method="POST")]
    assert statuses == [status, status, 200]


async def test_more_than_thirty_is_refused_before_any_call(setup: Setup) -> None:
    wanted = [InvoiceToCreate(invoice("1")) for _ in range(31)]
    with pytest.raises(ValueError, match="1 to 30"):
        await setup.gateway.create_invoices(COMPANY, wanted, request_id=BATCH_ID)
    assert setup.emulator.requests("/batch") == []
