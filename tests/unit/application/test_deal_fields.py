"""Deal fields that Pipedrive users can filter and report on: Invoiced, Paid, Balance due and
Invoice status, created once per company and written on a deal only when they change."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.in_memory.connections import InMemoryTokenStore
from application.auth import Principal
from application.commands import InvoiceActionCommand
from application.deal_fields import (
    NO_INVOICES,
    CreateDealFields,
    GetDealFields,
    RequestDealFields,
    UpdateDealFields,
    deal_totals,
)
from application.errors import NotFoundError, PermissionDeniedError
from application.ports.crm import DealInvoiceTotals
from application.reasons import ResourceType
from application.sync import ApplyAccountingChanges, RecordOverdueInvoices
from domain.connection import Connection, OAuthTokens, Vendor
from domain.invoice import Invoice, InvoiceState
from domain.money import Money
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    create_command,
    invoice_ref,
)

DEAL = "42"  # the world's deal
ADMIN = Principal(subject="admin-1", companies=frozenset({COMPANY}), is_admin=True)
MEMBER = Principal(subject="user-2", companies=frozenset({COMPANY}), is_admin=False)


@pytest.fixture
def world() -> World:
    return World()


def fields_job(world: World) -> UpdateDealFields:
    return UpdateDealFields(world.uow, world.crm, world.clock)


async def with_fields(world: World) -> None:
    await CreateDealFields(world.uow, world.crm, world.clock, world.jobs).execute(COMPANY)


async def pay(world: World, quickbooks_id: str, amount: str) -> None:
    world.qbo.record_payment(quickbooks_id, Money.of(amount, "USD"))
    apply = ApplyAccountingChanges(
        world.uow, world.qbo, InMemoryTokenStore(), world.clock, jobs=world.jobs
    )
    await apply.apply(COMPANY, [quickbooks_id])


async def run_field_jobs(world: World) -> int:
    """Run the queued deal-field jobs; returns how many wrote."""
    queued = [args for name, args in world.jobs.deferred if name == "update_deal_fields"]
    world.jobs.deferred[:] = [d for d in world.jobs.deferred if d[0] != "update_deal_fields"]
    wrote = 0
    for args in queued:
        wrote += await fields_job(world).execute(args["company_id"], args["deal_id"])
    return wrote


def writes(world: World) -> list[DealInvoiceTotals]:
    return [totals for _, _, totals in world.crm.deal_field_writes]


async def test_the_fields_are_created_once_and_the_settings_see_them(world: World) -> None:
    status = GetDealFields(world.uow)
    assert await status.execute(ADMIN, COMPANY) is None

    await with_fields(world)
    first = world.crm.deal_field_keys[COMPANY]
    await with_fields(world)  # on demand again: the same fields, found by their keys

    assert world.crm.deal_field_keys[COMPANY] == first
    assert await status.execute(ADMIN, COMPANY) == first


async def test_an_admin_asks_for_the_fields_and_a_job_creates_them(world: World) -> None:
    request = RequestDealFields(world.uow, world.jobs)

    assert await request.execute(ADMIN, COMPANY) is None
    assert world.jobs.deferred == [("create_deal_fields", {"company_id": COMPANY})]

    with pytest.raises(PermissionDeniedError):
        await request.execute(MEMBER, COMPANY)
    with pytest.raises(PermissionDeniedError):
        await GetDealFields(world.uow).execute(ADMIN, "another-company")


async def test_a_new_invoice_writes_its_total_as_invoiced_and_due_with_status_open(
    world: World,
) -> None:
    await with_fields(world)
    view = await world.create.execute(create_command())

    assert await fields_job(world).execute(COMPANY, DEAL) is True

    assert writes(world) == [
        DealInvoiceTotals(
            currency="USD",
            invoiced=Decimal("2109.78"),
            paid=Decimal(0),
            balance_due=Decimal("2109.78"),
            status="Open",
        )
    ]
    assert view.quickbooks_id


async def test_deals_invoiced_before_the_fields_existed_are_filled_when_they_are_created(
    world: World,
) -> None:
    """Before, a deal invoiced before the fields existed showed nothing until its next change."""
    await world.create.execute(create_command())
    world.jobs.deferred.clear()
    assert await run_field_jobs(world) == 0  # no fields yet: nothing to fill

    await with_fields(world)

    assert [a for n, a in world.jobs.deferred if n == "update_deal_fields"] == [
        {"company_id": COMPANY, "deal_id": DEAL}
    ]
    assert await run_field_jobs(world) == 1
    assert writes(world)[-1].status == "Open"


async def test_fields_created_again_are_filled_again_and_found_ones_are_not(world: World) -> None:
    await with_fields(world)
    await world.create.execute(create_command())
    assert await fields_job(world).execute(COMPANY, DEAL) is True
    world.jobs.deferred.clear()
    await with_fields(world)  # the same fields found: nothing to fill again
    assert await run_field_jobs(world) == 0

    del world.crm.deal_field_keys[COMPANY]  # deleted in Pipedrive, created again from settings
    await with_fields(world)

    assert await run_field_jobs(world) == 1  # written under the new keys, same totals
    assert len(writes(world)) == 2


async def test_nothing_is_written_when_the_totals_did_not_change(world: World) -> None:
    await with_fields(world)
    await world.create.execute(create_command())
    await fields_job(world).execute(COMPANY, DEAL)

    assert await fields_job(world).execute(COMPANY, DEAL) is False
    assert len(writes(world)) == 1


async def test_payments_queue_a_job_per_deal_and_a_replayed_webhook_writes_nothing(
    world: World,
) -> None:
    await with_fields(world)
    view = await world.create.execute(create_command())
    await fields_job(world).execute(COMPANY, DEAL)
    qb_id = view.quickbooks_id or ""

    await pay(world, qb_id, "100")
    assert await run_field_jobs(world) == 1
    assert writes(world)[-1].status == "Partially paid"
    assert writes(world)[-1].paid == Decimal(100)
    assert writes(world)[-1].balance_due == Decimal("2009.78")

    await pay(world, qb_id, "2009.78")
    await pay(world, qb_id, "0")  # the same facts again (a replayed webhook)
    assert await run_field_jobs(world) == 1  # the two queued jobs coalesce into one write
    assert writes(world)[-1].status == "Paid"
    assert writes(world)[-1].balance_due == Decimal(0)
    assert len(writes(world)) == 3


async def test_a_voided_invoice_leaves_the_totals(world: World) -> None:
    await with_fields(world)
    view = await world.create.execute(create_command())
    await fields_job(world).execute(COMPANY, DEAL)

    await world.void.execute(InvoiceActionCommand(invoice_ref(view.id)))
    assert await run_field_jobs(world) == 1

    assert writes(world)[-1] == NO_INVOICES


async def test_the_overdue_pass_queues_the_deals_job_and_the_status_becomes_overdue(
    world: World,
) -> None:
    tokens = InMemoryTokenStore()
    now = world.clock.now()
    await tokens.save(
        Connection(COMPANY, Vendor.QUICKBOOKS, "9130", OAuthTokens("a", "r", now + timedelta(1)))
    )
    await with_fields(world)
    await world.create.execute(create_command())
    await fields_job(world).execute(COMPANY, DEAL)
    overdue = RecordOverdueInvoices(world.uow, world.qbo, tokens, world.clock, jobs=world.jobs)

    world.clock.advance(timedelta(days=8))
    assert await overdue.execute() == 1

    assert await run_field_jobs(world) == 1
    assert writes(world)[-1].status == "Overdue"


async def test_no_fields_no_write(world: World) -> None:
    await world.create.execute(create_command())

    assert await fields_job(world).execute(COMPANY, DEAL) is False
    assert writes(world) == []


async def test_a_deal_gone_from_pipedrive_is_skipped_without_a_retry(world: World) -> None:
    await with_fields(world)
    await world.create.execute(create_command())
    world.crm.deal_fields_error = NotFoundError(ResourceType.DEAL, DEAL)

    assert await fields_job(world).execute(COMPANY, DEAL) is False
    # Nothing was recorded as written: the next change of the deal tries again.
    assert await fields_job(world).execute(COMPANY, DEAL) is True


async def _stored(world: World, invoice_id: str) -> Invoice:
    async with world.uow() as uow:
        invoice = await uow.invoices.get(COMPANY, invoice_id)
    assert invoice is not None
    return invoice


def _in(invoice: Invoice, state: InvoiceState, paid: str, currency: str = "USD") -> Invoice:
    other = copy.deepcopy(invoice)
    other.state = state
    other.currency = currency
    total = invoice.quickbooks_total or invoice.total()
    other.quickbooks_total = Money(total.amount, currency)
    other.amount_paid = Money(Decimal(paid), currency)
    return other


async def test_the_status_is_the_most_pressing_and_amounts_add_up(world: World) -> None:
    view = await world.create.execute(create_command())
    base = await _stored(world, view.id)  # total 2109.78 USD
    overdue = _in(base, InvoiceState.PARTIALLY_PAID, "9.78")
    overdue.overdue_recorded_for = base.due_date

    assert deal_totals([_in(base, InvoiceState.PAID, "2109.78"), base]).status == "Open"
    assert (
        deal_totals(
            [_in(base, InvoiceState.PAID, "2109.78"), _in(base, InvoiceState.PARTIALLY_PAID, "9")]
        ).status
        == "Partially paid"
    )
    late_open = _in(base, InvoiceState.OPEN, "0")
    late_open.overdue_recorded_for = base.due_date
    partly = _in(base, InvoiceState.PARTIALLY_PAID, "9")
    assert deal_totals([partly, late_open]).status == "Overdue"
    totals = deal_totals([base, overdue, _in(base, InvoiceState.VOIDED, "0")])
    assert totals.status == "Overdue"
    assert totals.invoiced == Decimal("4219.56")
    assert totals.paid == Decimal("9.78")
    assert totals.balance_due == Decimal("4209.78")
    assert deal_totals([_in(base, InvoiceState.DELETED, "0")]) == NO_INVOICES


async def test_mixed_currencies_count_in_the_most_used_currency_only(world: World) -> None:
    view = await world.create.execute(create_command())
    base = await _stored(world, view.id)
    euro = _in(base, InvoiceState.OPEN, "0", "EUR")
    euro.overdue_recorded_for = base.due_date

    totals = deal_totals([euro, _in(base, InvoiceState.PAID, "2109.78"), base])

    assert totals.currency == "USD"
    assert totals.invoiced == Decimal("4219.56")  # the euro invoice is not converted
    assert totals.status == "Overdue"  # ... but its status counts
    assert deal_totals([euro, base]).currency == "EUR"  # a tie: the newest invoice's
