"""Status sync use cases with the in-memory fakes: notices, overdue, ordering, catch-up."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from adapters.in_memory.jobs import InMemoryJobQueue
from adapters.in_memory.notices import InMemoryNoticeInbox, InMemoryNoticeStore
from adapters.system_clock import FrozenClock
from application.commands import ListPageCommand
from application.invoicing.facts import apply_facts
from application.ports.sync import ChangeNotice
from application.sync import (
    CATCH_UP_EVERY,
    ApplyAccountingChanges,
    CatchUpCompany,
    ForgetOldNotices,
    ProcessChangeNotices,
    RecordChangeNotices,
    RecordOverdueInvoices,
    due_for_catch_up,
)
from domain.connection import Connection, OAuthTokens, Vendor
from domain.invoice import InvoiceState
from domain.money import Money
from tests.unit.application.invoicing_world import COMPANY, World, create_command, deal_ref

REALM = "9130"


@pytest.fixture
async def world() -> World:
    w = World()
    tokens = InMemoryTokenStore()
    now = datetime(2026, 3, 13, tzinfo=UTC)
    await tokens.save(
        Connection(COMPANY, Vendor.QUICKBOOKS, REALM, OAuthTokens("a", "r", now + timedelta(1)))
    )
    w.tokens = tokens  # type: ignore[attr-defined]
    w.notices = InMemoryNoticeStore()  # type: ignore[attr-defined]
    w.jobs = InMemoryJobQueue()  # type: ignore[attr-defined]
    w.inbox = InMemoryNoticeInbox(w.notices, w.jobs)  # type: ignore[attr-defined]
    w.apply = ApplyAccountingChanges(w.uow, w.qbo, tokens, w.clock)  # type: ignore[attr-defined]
    return w


def notice(key: str, entity_id: str, entity: str = "Invoice") -> ChangeNotice:
    return ChangeNotice(key, REALM, entity, entity_id, "Update")


async def test_a_notice_is_recorded_once_and_one_job_waits_per_realm(world: World) -> None:
    record = RecordChangeNotices(world.inbox, world.clock)  # type: ignore[attr-defined]

    first = await record.execute([notice("k1", "1"), notice("k2", "2")])
    again = await record.execute([notice("k1", "1")])
    later = await record.execute([notice("k3", "3")])

    assert (first, again, later) == (2, 0, 1)
    assert world.jobs.deferred == [("apply_changes", {"realm_key": REALM})]  # type: ignore[attr-defined]


async def test_processing_applies_every_pending_notice_of_the_realm_once(world: World) -> None:
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id or ""
    world.qbo.record_payment(qb_id, Money.of("9.78", "USD"))
    await world.inbox.accept([notice("k1", qb_id), notice("k2", qb_id)], world.clock.now())  # type: ignore[attr-defined]
    process = ProcessChangeNotices(world.notices, world.apply, world.clock)  # type: ignore[attr-defined]

    first = await process.execute(REALM)
    second = await process.execute(REALM)

    assert (first.invoices_read, first.invoices_changed) == (1, 1)
    assert (second.invoices_read, second.invoices_changed) == (0, 0)
    assert await world.notices.pending(REALM, 10) == []  # type: ignore[attr-defined]
    page = await world.list.execute(ListPageCommand(deal_ref()))
    assert page.items[0].state is InvoiceState.PARTIALLY_PAID


async def test_older_facts_never_move_an_invoice_backwards(world: World) -> None:
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id or ""
    before_payment = world.qbo.invoices[qb_id]
    world.qbo.record_payment(qb_id, Money.of("2109.78", "USD"))
    await world.refresh.execute(deal_ref())

    async with world.uow() as uow:
        invoice = await uow.invoices.get(COMPANY, view.id)
    assert invoice is not None
    changed = apply_facts(
        invoice, before_payment, today=world.clock.now().date(), now=world.clock.now()
    )

    assert not changed
    assert invoice.state is InvoiceState.PAID


async def test_overdue_is_recorded_once_when_the_due_date_passes(world: World) -> None:
    await world.create.execute(create_command())
    overdue = RecordOverdueInvoices(world.uow, world.qbo, world.tokens, world.clock)  # type: ignore[attr-defined]
    world.qbo.calls.clear()

    assert await overdue.execute() == 0
    assert "invoice_options" not in world.qbo.calls  # nothing falls due: no company is visited
    world.clock.advance(timedelta(days=8))
    assert await overdue.execute() == 1
    world.qbo.calls.clear()
    assert await overdue.execute() == 0
    assert "invoice_options" not in world.qbo.calls  # recorded: the company is not visited again

    events = await world.events.execute(ListPageCommand(deal_ref()))
    assert events.items[0].event.kind == "overdue"


async def test_catch_up_applies_changes_and_advances_the_watermark(world: World) -> None:
    view = await world.create.execute(create_command())
    qb_id = view.quickbooks_id or ""
    world.qbo.now = world.clock.now()
    world.qbo.record_payment(qb_id, Money.of("100", "USD"))
    catch_up = CatchUpCompany(world.uow, world.qbo, world.notices, world.apply, world.clock)  # type: ignore[attr-defined]

    report = await catch_up.execute(COMPANY)

    assert report.invoices_changed == 1
    assert await world.notices.watermark(COMPANY) == world.qbo.now  # type: ignore[attr-defined]
    page = await world.list.execute(ListPageCommand(deal_ref()))
    assert page.items[0].state is InvoiceState.PARTIALLY_PAID


async def test_a_gap_longer_than_cdc_allows_reconciles_open_invoices(world: World) -> None:
    view = await world.create.execute(create_command())
    await world.notices.set_watermark(COMPANY, world.clock.now() - timedelta(days=45))  # type: ignore[attr-defined]
    world.qbo.record_payment(view.quickbooks_id or "", Money.of("1", "USD"))
    world.qbo.calls.clear()
    catch_up = CatchUpCompany(world.uow, world.qbo, world.notices, world.apply, world.clock)  # type: ignore[attr-defined]

    report = await catch_up.execute(COMPANY)

    assert "changes_since" not in world.qbo.calls
    assert world.qbo.calls.count("get_invoices") == 1
    assert report.invoices_changed == 1
    assert dataclasses.is_dataclass(report)


async def test_the_create_notice_of_an_invoice_dealbooks_created_reads_nothing(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    world.qbo.calls.clear()
    created = ChangeNotice("k1", REALM, "Invoice", view.quickbooks_id or "", "Create")

    report = await world.apply.execute([created])  # type: ignore[attr-defined]

    assert world.qbo.calls == []
    assert (report.invoices_read, report.invoices_changed) == (0, 0)


async def test_a_payment_notice_reads_what_changed_since_the_payment_and_writes_only_that(
    world: World,
) -> None:
    paid = await world.create.execute(create_command("req-1"))
    other = await world.create.execute(create_command("req-2"))
    world.qbo.now = world.clock.now()
    world.qbo.record_payment(paid.quickbooks_id or "", Money.of("100", "USD"))
    world.qbo.calls.clear()
    payment = ChangeNotice("k1", REALM, "Payment", "77", "Create", occurred_at=world.qbo.now)

    report = await world.apply.execute([payment])  # type: ignore[attr-defined]

    # One CDC read says which invoices changed and how they stand: nothing else is read.
    assert [c for c in world.qbo.calls if c != "invoice_options"] == ["changes_since"]
    assert report.invoices_changed == 1
    async with world.uow() as uow:
        stored_paid = await uow.invoices.get(COMPANY, paid.id)
        stored_other = await uow.invoices.get(COMPANY, other.id)
    assert stored_paid is not None
    assert stored_other is not None
    assert stored_paid.state is InvoiceState.PARTIALLY_PAID
    assert stored_paid.last_synced_at == world.clock.now()
    assert stored_other.state is InvoiceState.OPEN


async def test_an_unchanged_invoice_read_again_is_only_marked_synced(world: World) -> None:
    view = await world.create.execute(create_command())
    world.clock.advance(timedelta(minutes=5))
    history = await world.events.execute(ListPageCommand(deal_ref()))

    report = await world.apply.execute([notice("k1", view.quickbooks_id or "")])  # type: ignore[attr-defined]

    assert (report.invoices_read, report.invoices_changed) == (1, 0)
    async with world.uow() as uow:
        stored = await uow.invoices.get(COMPANY, view.id)
    assert stored is not None
    assert stored.last_synced_at == world.clock.now()
    assert await world.events.execute(ListPageCommand(deal_ref())) == history


async def test_catch_up_applies_the_facts_cdc_sent_without_reading_them_again(
    world: World,
) -> None:
    view = await world.create.execute(create_command())
    world.qbo.now = world.clock.now()
    world.qbo.record_payment(view.quickbooks_id or "", Money.of("100", "USD"))
    world.qbo.calls.clear()
    catch_up = CatchUpCompany(world.uow, world.qbo, world.notices, world.apply, world.clock)  # type: ignore[attr-defined]

    report = await catch_up.execute(COMPANY)

    assert report.invoices_changed == 1
    assert "get_invoices" not in world.qbo.calls


def test_each_company_is_caught_up_once_a_day_and_a_tick_holds_a_share_of_them() -> None:
    """10,000 companies, a tick every 5 minutes: each comes up once in the day's 288 ticks,
    and no tick queues more than a small share (the scheduler never defers them all at once)."""
    companies = [str(10_000 + n) for n in range(10_000)]
    tick = timedelta(minutes=5)
    day = datetime(2026, 4, 1, tzinfo=UTC)
    seen: list[str] = []
    busiest = 0
    for n in range(288):
        due = due_for_catch_up(companies, day + n * tick, tick=tick, every=CATCH_UP_EVERY)
        seen.extend(due)
        busiest = max(busiest, len(due))
    assert sorted(seen) == sorted(companies)
    assert busiest < 3 * 10_000 // 288  # about 35 a tick on average
    next_day = due_for_catch_up(companies, day + timedelta(days=1), tick=tick, every=CATCH_UP_EVERY)
    assert next_day == due_for_catch_up(companies, day, tick=tick, every=CATCH_UP_EVERY)


async def test_processed_notices_are_kept_thirty_days() -> None:
    clock = FrozenClock(datetime(2026, 11, 1, tzinfo=UTC))
    store = InMemoryNoticeStore()
    old = ChangeNotice("k1", "9130", "Invoice", "1", "Update", clock.now())
    recent = ChangeNotice("k2", "9130", "Invoice", "2", "Update", clock.now())
    store.notices["k1"] = (old, clock.now(), clock.now())
    store.notices["k2"] = (recent, clock.now(), clock.now() + timedelta(days=1))
    forget = ForgetOldNotices(store, clock)

    clock.advance(timedelta(days=30, minutes=1))
    assert await forget.execute() == 1
    assert set(store.notices) == {"k2"}
    clock.advance(timedelta(days=1))
    assert await forget.execute() == 1
    assert store.notices == {}
