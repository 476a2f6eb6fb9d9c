"""Intuit's monthly quota of metered reads (Builder tier: 500,000 a workspace, then every read
is refused until the next month): the service counts its reads for the whole deployment, skips
the optional ones when they run low, keeps writes and webhooks working at the quota, and
catches up when the month turns. Against the QuickBooks emulator enforcing the same quota."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.in_memory.read_budget import InMemoryReadBudget
from adapters.system_clock import FrozenClock
from application.errors import UpstreamUnavailableError
from application.ports.sync import ChangeNotice
from application.sync import (
    ApplyAccountingChanges,
    CatchUpCompany,
    ProcessChangeNotices,
    RecordChangeNotices,
)
from tests.integration.quickbooks.harness import (
    CLIENT_ID,
    US_REALM,
    RunningEmulator,
    connect,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "4002"
START = datetime(2026, 4, 28, 9, 0, tzinfo=UTC)
QUOTA = 12  # the emulator's, and the service's (reserve: a quarter, so rationed from 9 reads)


@pytest.fixture
async def emulator() -> AsyncIterator[RunningEmulator]:
    async with running_emulator() as running:
        await running.admin("POST", "clock", {"now": START.isoformat(), "freeze": True})
        await running.admin(
            "PUT", "meter/quota", {"client_id": CLIENT_ID, "coreplus_per_month": QUOTA}
        )
        yield running


def cdc_calls(emulator: RunningEmulator) -> int:
    """CDC calls QuickBooks served (not the ones it refused at the quota)."""
    return len([r for r in emulator.requests("/cdc") if r["status"] == 200])


async def test_at_the_quota_writes_and_webhooks_work_and_the_next_month_catches_up(
    emulator: RunningEmulator,
) -> None:
    clock = FrozenClock(START)
    tokens, notices, uow = InMemoryTokenStore(), InMemoryNoticeStore(), InMemoryUnitOfWorkFactory()
    await connect(emulator, tokens, COMPANY, US_REALM)
    budget = InMemoryReadBudget(clock, quota=QUOTA, reserve=0.25)
    gateway = make_gateway(
        emulator, tokens, notices=notices, clock=clock, budget=budget, cool_off_seconds=0.01
    )
    apply = ApplyAccountingChanges(uow, gateway, tokens, clock)
    catch_up = CatchUpCompany(uow, gateway, notices, apply, clock)
    jobs = InMemoryJobQueue()
    record = RecordChangeNotices(InMemoryNoticeInbox(notices, jobs), clock)
    process = ProcessChangeNotices(notices, apply, clock)

    # The company tracks neither classes nor locations (their reads are counted elsewhere).
    await emulator.admin(
        "POST",
        f"companies/{US_REALM}/preferences",
        {"class_tracking": "none", "track_locations": False},
    )
    await catch_up.execute(COMPANY)  # 1 CDC read
    await gateway.invoice_options(COMPANY)  # the form: 6 reads, kept
    await gateway.get_invoice(COMPANY, "1")
    await catch_up.execute(COMPANY)
    assert await budget.used() == 9
    assert await gateway.reads_rationed()

    # Rationed: the daily catch-up is the optional read skipped; its watermark stays.
    watermark = await notices.watermark(COMPANY)
    calls = cdc_calls(emulator)
    await catch_up.execute(COMPANY)
    assert cdc_calls(emulator) == calls
    assert await notices.watermark(COMPANY) == watermark

    # At the quota QuickBooks refuses every read ...
    for _ in range(QUOTA - 9):
        await gateway.get_invoice(COMPANY, "1")
    with pytest.raises(UpstreamUnavailableError):
        await gateway.get_invoice(COMPANY, "1")
    # ... writes go on (the form's reference data is kept) ...
    created = await gateway.create_invoice(
        COMPANY, invoice("1", company=COMPANY), request_id="quota-write"
    )
    assert created.id
    # ... and a webhook is stored, its processing failing and retried, never lost.
    paid = ChangeNotice("pay-1", US_REALM, "Payment", "77", "Create", clock.now())
    assert await record.execute([paid]) == 1
    with pytest.raises(UpstreamUnavailableError):
        await process.execute(US_REALM)
    assert [n.key for n in await notices.pending(US_REALM, 10)] == ["pay-1"]

    # The month turns: reads are served again, the waiting notice is applied, the catch-up
    # runs from where it stopped.
    next_month = datetime(2026, 5, 1, 0, 30, tzinfo=UTC)
    clock.advance(next_month - clock.now())
    await emulator.admin("POST", "clock", {"now": next_month.isoformat(), "freeze": True})
    assert not await gateway.reads_rationed()
    await process.execute(US_REALM)
    assert await notices.pending(US_REALM, 10) == []
    await catch_up.execute(COMPANY)
    assert cdc_calls(emulator) == calls + 2  # the payment's and the catch-up's
    assert await notices.watermark(COMPANY) == next_month
    assert await budget.used() == 2


async def test_the_reserve_and_the_month_decide_when_reads_are_rationed() -> None:
    clock = FrozenClock(START)
    budget = InMemoryReadBudget(clock, quota=100, reserve=0.1)
    for _ in range(89):
        budget.count()
    assert not await budget.rationed()
    budget.count()
    assert await budget.rationed()
    clock.advance(timedelta(days=4))  # May
    assert await budget.used() == 0
    assert not await budget.rationed()
    assert not await InMemoryReadBudget(clock, quota=0, reserve=0.1).rationed()  # no quota known
