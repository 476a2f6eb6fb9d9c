"""Bulk invoicing from the UI, with in-memory fakes: the deals won in a month (the company's own
calendar) that have no invoice, and invoicing them in one run, each deal once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from application.auth import Principal
from application.commands import CreateInvoiceCommand, InvoiceActionCommand, InvoiceRef
from application.invoicing.batch import BatchCreateInvoices, BatchItemOutcome
from application.invoicing.won_deals import (
    DealToInvoice,
    InvoiceDeals,
    InvoiceDealsCommand,
    ListWonDeals,
)
from application.reasons import Reason
from application.visibility import DealVisibility
from domain.errors import InvalidValueError
from domain.invoice import InvoiceState
from domain.messages import MessageCode
from tests.unit.application.invoicing_world import (
    COMPANY,
    USER,
    World,
    a_deal,
    an_invoice_input,
    deal_ref,
)

# The world's clock is 2026-03-13 10:00 UTC.
MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def world_with_won_deals() -> World:
    """Deals 101-104 won in March, 105 in February; 101 has an invoice, 102 a voided one."""
    world = World()
    for n in range(101, 106):
        world.crm.add_deal(COMPANY, replace(a_deal(), id=str(n), title=f"Deal {n}"))
        when = MARCH.replace(day=n - 99) if n < 105 else datetime(2026, 2, 27, tzinfo=UTC)
        world.crm.win_deal(COMPANY, str(n), when)
    return world


def lister(world: World) -> ListWonDeals:
    return ListWonDeals(world.uow, world.crm, world.qbo, world.clock, DealVisibility(world.crm))


def invoicer(world: World) -> InvoiceDeals:
    return InvoiceDeals(world.prepare, BatchCreateInvoices(world.create))


async def invoice(
    world: World, deals: list[tuple[str, str]], principal: Principal = USER
) -> list[BatchItemOutcome]:
    command = InvoiceDealsCommand(principal, COMPANY, [DealToInvoice(d, r) for d, r in deals])
    return sorted([o async for o in invoicer(world).execute(command)], key=lambda o: o.index)


async def test_lists_the_months_won_deals_without_an_invoice_newest_first() -> None:
    world = world_with_won_deals()
    await world.create.execute(
        CreateInvoiceCommand(deal_ref(deal_id="101"), an_invoice_input(), "r-101")
    )
    voided = await world.create.execute(
        CreateInvoiceCommand(deal_ref(deal_id="102"), an_invoice_input(), "r-102")
    )
    await world.void.execute(
        InvoiceActionCommand(InvoiceRef(USER, COMPANY, "102", voided.id), "void-102")
    )

    won = await lister(world).execute(USER, COMPANY)

    assert won.month == "2026-03"
    assert [d.id for d in won.deals] == ["104", "103", "102"]  # 102's only invoice is voided
    assert won.invoiced == 1
    assert (won.hidden, won.more) == (0, False)
    february = await lister(world).execute(USER, COMPANY, "2026-02")
    assert [d.id for d in february.deals] == ["105"]


async def test_the_month_is_the_companys_own() -> None:
    world = world_with_won_deals()
    world.qbo.preferences = replace(world.qbo.preferences, time_zone="America/Los_Angeles")
    # Won 2026-03-01 03:00 UTC: still February 28th in Los Angeles.
    world.crm.win_deal(COMPANY, "104", datetime(2026, 3, 1, 3, 0, tzinfo=UTC))

    march = await lister(world).execute(USER, COMPANY, "2026-03")
    february = await lister(world).execute(USER, COMPANY, "2026-02")

    assert "104" not in [d.id for d in march.deals]
    assert [d.id for d in february.deals] == ["104", "105"]


@pytest.mark.parametrize("month", ["2026-13", "March", "2026-3", "26-03"])
async def test_a_month_that_is_not_one_is_refused(month: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await lister(World()).execute(USER, COMPANY, month)
    assert caught.value.violations[0].code is MessageCode.NOT_A_MONTH


async def test_among_selected_deals_the_won_ones_without_an_invoice_whenever_won() -> None:
    world = world_with_won_deals()
    world.crm.add_deal(COMPANY, replace(a_deal(), id="106", title="Deal 106"))  # open
    await world.create.execute(
        CreateInvoiceCommand(deal_ref(deal_id="101"), an_invoice_input(), "r-101")
    )

    won = await lister(world).execute(USER, COMPANY, "2026-03", among=["105", "101", "106"])

    assert [d.id for d in won.deals] == ["105"]  # won in February: the month is not asked
    assert (won.month, won.invoiced, won.not_won) == ("", 1, 1)


async def test_selected_deals_hidden_from_the_user_are_only_counted_as_hidden() -> None:
    world = world_with_won_deals()
    world.crm.add_deal(COMPANY, replace(a_deal(), id="106", title="Deal 106"))  # open
    await world.create.execute(
        CreateInvoiceCommand(deal_ref(deal_id="101"), an_invoice_input(), "r-101")
    )
    world.crm.members[COMPANY] = {"31", "32"}
    for hidden in ("101", "103", "106"):  # won and invoiced, won, open: all hidden alike
        world.crm.restrict_deal(COMPANY, hidden, {"32"})
    seller = Principal(subject="p-31", companies=frozenset({COMPANY}), user_id="31")

    won = await lister(world).execute(seller, COMPANY, among=["101", "103", "106", "104", "999999"])

    assert [d.id for d in won.deals] == ["104"]
    # 999999 does not exist: hidden too, as Pipedrive answers for a deal nobody sees.
    assert (won.hidden, won.invoiced, won.not_won) == (4, 0, 0)


async def test_more_selected_deals_than_a_run_takes_are_refused() -> None:
    with pytest.raises(InvalidValueError) as caught:
        await lister(World()).execute(USER, COMPANY, among=[str(n) for n in range(1, 1002)])
    assert caught.value.violations[0].field == "deals"
    assert caught.value.violations[0].code is MessageCode.TOO_MANY_IN_BATCH


async def test_a_user_sees_only_the_deals_pipedrive_shows_her() -> None:
    world = world_with_won_deals()
    world.crm.members[COMPANY] = {"31", "32"}
    world.crm.restrict_deal(COMPANY, "103", {"32"})
    seller = Principal(subject="p-31", companies=frozenset({COMPANY}), user_id="31")

    won = await lister(world).execute(seller, COMPANY)

    assert [d.id for d in won.deals] == ["104", "102", "101"]
    assert won.hidden == 1


async def test_invoicing_deals_makes_each_once_and_a_run_sent_again_makes_nothing() -> None:
    world = world_with_won_deals()
    world.crm.add_deal(COMPANY, replace(a_deal(), id="106", products=(), discounts=()))
    deals = [("101", "run1-101"), ("102", "run1-102"), ("106", "run1-106"), ("101", "run1-x")]

    outcomes = await invoice(world, deals)

    assert [o.deal_id for o in outcomes] == ["101", "102", "106", "101"]
    first, second, empty, repeated = outcomes
    assert first.invoice is not None
    assert first.invoice.state is InvoiceState.OPEN
    assert second.invoice is not None
    assert second.invoice.state is InvoiceState.OPEN
    assert isinstance(empty.error, InvalidValueError)
    assert empty.error.violations[0].code is MessageCode.NO_LINES
    assert isinstance(repeated.error, InvalidValueError)
    assert repeated.error.violations[0].code is MessageCode.DEAL_REPEATED
    assert len(world.qbo.invoices) == 2
    # What QuickBooks records is the deal's draft: the form's lines and totals.
    draft = await world.prepare.execute(deal_ref(deal_id="101"))
    assert first.invoice.totals.total == draft.totals.total

    again = await invoice(world, deals[:2])

    assert [o.invoice.id for o in again if o.invoice] == [first.invoice.id, second.invoice.id]
    assert len(world.qbo.invoices) == 2
    assert [d.id for d in (await lister(world).execute(USER, COMPANY)).deals] == ["104", "103"]


async def test_a_deal_hidden_from_the_user_is_refused_and_the_others_are_invoiced() -> None:
    world = world_with_won_deals()
    world.crm.members[COMPANY] = {"31", "32"}
    world.crm.restrict_deal(COMPANY, "103", {"32"})
    seller = Principal(subject="p-31", companies=frozenset({COMPANY}), user_id="31")

    outcomes = await invoice(world, [("103", "a"), ("104", "b")], seller)

    assert outcomes[0].error is not None
    assert getattr(outcomes[0].error, "reason", "") == Reason.DEAL_NOT_VISIBLE
    assert outcomes[1].invoice is not None
    assert len(world.qbo.invoices) == 1
