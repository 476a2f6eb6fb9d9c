"""CDC answers at most 1,000 objects and has no paging (reference §4.9, §13.20): the catch-up
reads on past a cut answer and applies every change, and moves its watermark only as far as
the changes are complete. Against the emulator with its cap lowered to a few objects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.notices import InMemoryNoticeStore
from adapters.in_memory.persistence import InMemoryUnitOfWorkFactory
from adapters.quickbooks.cdc import CdcCut, cdc_cuts
from adapters.quickbooks.gateway import QuickBooksAccountingGateway
from adapters.system_clock import FrozenClock
from application.ports.persistence import CreationOptions
from application.sync import ApplyAccountingChanges, CatchUpCompany
from domain.invoice import InvoiceState
from tests.integration.quickbooks.harness import (
    US_REALM,
    RunningEmulator,
    connect,
    emulator_config,
    invoice,
    make_gateway,
    running_emulator,
)

pytestmark = pytest.mark.integration
COMPANY = "4003"
CAP = 4  # QuickBooks' is 1,000
# After the emulator's demo data was stamped (at the real time), so that none of it is a change.
START = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)


@dataclass
class World:
    emulator: RunningEmulator
    gateway: QuickBooksAccountingGateway
    uow: InMemoryUnitOfWorkFactory
    notices: InMemoryNoticeStore
    clock: FrozenClock
    catch_up: CatchUpCompany

    async def at(self, when: datetime) -> None:
        """QuickBooks' time and ours."""
        self.clock.advance(when - self.clock.now())
        await self.emulator.admin("POST", "clock", {"now": when.isoformat(), "freeze": True})

    async def invoices(self, count: int) -> list[str]:
        """``count`` invoices created in QuickBooks and known to dealbooks (QuickBooks ids)."""
        ids = []
        for _ in range(count):
            new = invoice("1", company=COMPANY)
            created = await self.gateway.create_invoice(COMPANY, new, request_id=f"inv-{new.id}")
            async with self.uow() as uow:
                await uow.invoices.add(new, creation=CreationOptions())
                await uow.commit()
            async with self.uow() as uow:
                stored = await uow.invoices.get_for_update(COMPANY, new.id)
                assert stored is not None
                stored.confirm_created(
                    created.id, created.doc_number, created.sync_token, created.total,
                    self.clock.now(),
                )  # fmt: skip
                await uow.invoices.save(stored)
                await uow.commit()
            ids.append(created.id)
        return ids

    async def pay(self, quickbooks_id: str) -> None:
        await self.emulator.admin(
            "POST", f"companies/{US_REALM}/payments", {"invoice_id": quickbooks_id}
        )

    async def states(self, quickbooks_ids: list[str]) -> list[InvoiceState]:
        async with self.uow() as uow:
            stored = await uow.invoices.find_by_quickbooks_ids(COMPANY, quickbooks_ids)
        by_id = {i.quickbooks_id: i.state for i in stored}
        return [by_id[i] for i in quickbooks_ids]

    def cdc_calls(self) -> int:
        return len([r for r in self.emulator.requests("/cdc") if r["status"] == 200])


@pytest.fixture
async def world() -> AsyncIterator[World]:
    config = emulator_config()
    config.limits.cdc_max_objects = CAP
    async with running_emulator(config) as emulator:
        await emulator.admin("POST", "clock", {"now": START.isoformat(), "freeze": True})
        clock = FrozenClock(START)
        tokens, notices, uow = (
            InMemoryTokenStore(),
            InMemoryNoticeStore(),
            InMemoryUnitOfWorkFactory(),
        )
        await connect(emulator, tokens, COMPANY, US_REALM)
        gateway = make_gateway(emulator, tokens, notices=notices, clock=clock, cdc_max_objects=CAP)
        apply = ApplyAccountingChanges(uow, gateway, tokens, clock)
        catch_up = CatchUpCompany(uow, gateway, notices, apply, clock)
        yield World(emulator, gateway, uow, notices, clock, catch_up)


async def test_changes_past_the_cap_are_all_applied_and_the_watermark_ends_at_the_catch_up(
    world: World,
) -> None:
    """Five invoice changes, four payments and a deletion since the watermark, where one answer
    holds four objects: the first answer stops among the invoices (before the deletion, which
    QuickBooks lists after them, and before every payment)."""
    a, b, c, d, e, f = await world.invoices(6)
    watermark = START + timedelta(minutes=1)
    await world.notices.set_watermark(COMPANY, watermark)
    await world.at(watermark + timedelta(minutes=1))
    await world.gateway.delete_invoice(COMPANY, f, request_id="del-f")
    await world.at(watermark + timedelta(minutes=2))
    await world.gateway.void_invoice(COMPANY, e, request_id="void-e")
    for minute, paid in enumerate((a, b, c, d), start=3):
        await world.at(watermark + timedelta(minutes=minute))
        await world.pay(paid)
    caught_up_at = watermark + timedelta(minutes=10)
    await world.at(caught_up_at)
    queries = len(world.emulator.requests("/query"))

    report = await world.catch_up.execute(COMPANY)

    assert await world.states([a, b, c, d, e, f]) == [
        InvoiceState.PAID, InvoiceState.PAID, InvoiceState.PAID, InvoiceState.PAID,
        InvoiceState.VOIDED, InvoiceState.DELETED,
    ]  # fmt: skip
    assert report.invoices_changed == 6
    assert await world.notices.watermark(COMPANY) == caught_up_at
    # Invoices [e a b c] cut; payments from the watermark, cut at the fourth; invoices from
    # c's time; the last payment's time. Then the deletion CDC could not list: f, the one open
    # invoice CDC said nothing about, read in one query.
    assert world.cdc_calls() == 4
    assert len(world.emulator.requests("/query")) == queries + 1


async def test_an_answer_under_the_cap_costs_one_cdc_call(world: World) -> None:
    a, b, c = await world.invoices(3)
    watermark = START + timedelta(minutes=1)
    await world.notices.set_watermark(COMPANY, watermark)
    await world.at(watermark + timedelta(minutes=1))
    await world.pay(a)  # an invoice and a payment
    await world.gateway.delete_invoice(COMPANY, b, request_id="del-b")  # a deleted invoice
    await world.at(watermark + timedelta(minutes=2))
    queries = len(world.emulator.requests("/query"))

    await world.catch_up.execute(COMPANY)

    assert await world.states([a, b, c]) == [
        InvoiceState.PAID, InvoiceState.DELETED, InvoiceState.OPEN
    ]  # fmt: skip
    assert world.cdc_calls() == 1
    assert len(world.emulator.requests("/query")) == queries  # nothing else read
    assert await world.notices.watermark(COMPANY) == watermark + timedelta(minutes=2)


async def test_a_cap_of_changes_in_one_second_keeps_the_watermark_where_they_are_complete(
    world: World,
) -> None:
    """No changedSince gets past a second holding more objects than one answer: the catch-up
    applies what it could read and leaves the watermark at that second, with a warning."""
    a, b, c, d, e = await world.invoices(5)
    watermark = START + timedelta(minutes=1)
    await world.notices.set_watermark(COMPANY, watermark)
    busy = watermark + timedelta(minutes=1)
    await world.at(busy)
    for paid in (a, b, c, d, e):
        await world.pay(paid)
    await world.at(busy + timedelta(minutes=5))

    with structlog.testing.capture_logs() as logs:
        await world.catch_up.execute(COMPANY)

    assert await world.notices.watermark(COMPANY) == busy
    assert {"quickbooks.cdc_stalled"} <= {entry["event"] for entry in logs}
    # Invoices, then payments, each cut at `busy`; from `busy` the invoices, then the
    # payments, get no further.
    assert world.cdc_calls() == 4
    # The open invoices were read for the deletions CDC could not list, which brings e too.
    assert set(await world.states([a, b, c, d, e])) == {InvoiceState.PAID}


def cdc_answer(*groups: tuple[str, list[tuple[str, str, bool]]]) -> dict[str, object]:
    """A CDC response: per entity, (Id, LastUpdatedTime, deleted) in the order answered."""
    return {
        "CDCResponse": [
            {
                "QueryResponse": [
                    {
                        name: [
                            {"Id": i, "MetaData": {"LastUpdatedTime": t}}
                            | ({"status": "Deleted"} if deleted else {})
                            for i, t, deleted in objects
                        ]
                    }
                    for name, objects in groups
                ]
            }
        ],
        "time": "2026-03-02T10:00:00.000-08:00",
    }


SINCE = datetime(2026, 3, 1, 12, tzinfo=UTC)
ENTITIES = ("Invoice", "Payment")


def test_an_answer_under_the_cap_is_complete() -> None:
    body = cdc_answer(("Invoice", [("1", "2026-03-01T05:00:00-08:00", False)]))
    assert cdc_cuts(body, ENTITIES, SINCE, 2) == {}


def test_an_answer_cut_among_changed_invoices_lists_none_of_their_deletions() -> None:
    body = cdc_answer(
        (
            "Invoice",
            [("1", "2026-03-01T05:00:00-08:00", False), ("2", "2026-03-01T06:00:00-08:00", False)],
        )
    )
    assert cdc_cuts(body, ENTITIES, SINCE, 2) == {
        "Invoice": CdcCut(datetime(2026, 3, 1, 14, tzinfo=UTC), deletions_skipped=True),
        "Payment": CdcCut(SINCE, deletions_skipped=False),  # not reached
    }


def test_an_answer_cut_among_deletions_resumes_at_the_last_one() -> None:
    body = cdc_answer(
        (
            "Invoice",
            [("1", "2026-03-01T09:00:00-08:00", False), ("2", "2026-03-01T06:00:00-08:00", True)],
        ),
        ("Payment", [("7", "2026-03-01T07:00:00-08:00", False)]),
    )
    assert cdc_cuts(body, ENTITIES, SINCE, 3) == {
        "Payment": CdcCut(datetime(2026, 3, 1, 15, tzinfo=UTC), deletions_skipped=True)
    }  # the invoices, before the cut, are complete


def test_an_answer_at_the_cap_within_its_first_second_is_stalled() -> None:
    at_since = "2026-03-01T04:00:00-08:00"
    body = cdc_answer(("Invoice", [("1", at_since, False), ("2", at_since, False)]))
    cut = cdc_cuts(body, ["Invoice"], SINCE, 2)["Invoice"]
    assert (cut.resume_from, cut.stalled) == (SINCE, True)
