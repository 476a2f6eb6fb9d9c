"""A QuickBooks company with Discount or Deposit turned off in its sales form settings: QuickBooks
would leave the deal's discount out (and record more than the preview shows) or refuse the
deposit, so the draft says so and the create is refused before anything is sent."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import LineInput
from domain.errors import InvalidValueError
from domain.messages import MessageCode
from tests.unit.application.invoicing_world import World, create_command, deal_ref

SERVICES = LineInput(name="Services", quantity="2", unit_price="100", item_id="1")
LOYALTY = LineInput(name="Loyalty", quantity="1", unit_price="-50", kind="discount")


@pytest.fixture
def world() -> World:
    return World()


def _turn_off(world: World, **preferences: bool) -> None:
    world.qbo.preferences = dataclasses.replace(world.qbo.preferences, **preferences)


async def test_with_discounts_off_the_draft_says_quickbooks_would_leave_the_deals_discount_out(
    world: World,
) -> None:
    _turn_off(world, discounts_allowed=False)

    draft = await world.prepare.execute(deal_ref())

    index = next(i for i, line in enumerate(draft.lines) if line.is_discount)
    said = {(w.code, w.field) for w in draft.warnings}
    assert (MessageCode.DISCOUNTS_OFF_IN_QUICKBOOKS, f"lines[{index}]") in said


async def test_with_discounts_on_the_draft_says_nothing_of_them(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert any(line.is_discount for line in draft.lines)
    assert MessageCode.DISCOUNTS_OFF_IN_QUICKBOOKS not in {w.code for w in draft.warnings}


async def test_with_discounts_off_a_discount_line_is_refused_and_nothing_is_sent(
    world: World,
) -> None:
    _turn_off(world, discounts_allowed=False)

    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(create_command(lines=(SERVICES, LOYALTY)))

    [violation] = refused.value.violations
    assert (violation.field, violation.code) == (
        "invoice.lines[1]",
        MessageCode.DISCOUNTS_OFF_IN_QUICKBOOKS,
    )
    assert world.qbo.invoices == {}


async def test_with_discounts_off_a_line_discount_still_goes_out_at_its_net(world: World) -> None:
    """A line's own discount travels in its net price, not in QuickBooks' discount line."""
    _turn_off(world, discounts_allowed=False)

    view = await world.create.execute(
        create_command(lines=(dataclasses.replace(SERVICES, discount="10"),))
    )

    assert str(view.totals.total.amount) == "180.00"
    (sent,) = world.qbo.invoices.values()
    assert sent.total == view.totals.total


async def test_with_deposits_off_a_deposit_is_refused_and_nothing_is_sent(world: World) -> None:
    _turn_off(world, deposits_allowed=False)

    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(create_command(lines=(SERVICES,), deposit="50"))

    [violation] = refused.value.violations
    assert (violation.field, violation.code) == (
        "invoice.deposit",
        MessageCode.DEPOSITS_OFF_IN_QUICKBOOKS,
    )
    assert world.qbo.invoices == {}
