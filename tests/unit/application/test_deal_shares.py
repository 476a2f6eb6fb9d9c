"""Invoicing a share of a deal: the form's lines are scaled exactly and say which share they
are, and what remains to invoice on the deal stays right (deposit now, the rest later)."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import CreateInvoiceCommand
from application.invoicing.share import invoice_input_of
from domain.errors import InvalidValueError
from domain.installment import DealShare, amount_before_tax
from domain.messages import MessageCode
from domain.money import Money
from domain.settings import CompanySettings
from domain.timeline import TimelineLanguage, TimelinePolicy
from tests.unit.application.invoicing_world import COMPANY, World, deal_ref


@pytest.fixture
def world() -> World:
    return World()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


async def test_a_30_percent_deposit_asks_for_30_percent_of_the_deal_before_tax(
    world: World,
) -> None:
    draft = await world.prepare.execute(deal_ref(), DealShare.percentage(30))

    # The deal's lines ask for 2,059.78 before tax: 30 % is 617.934, half-up 617.93.
    assert draft.deal_amount == usd("2059.78")
    assert draft.share_amount == usd("617.93")
    assert amount_before_tax(draft.lines, "USD") == usd("617.93")
    assert draft.totals.total - draft.totals.tax == usd("617.93")
    assert all(
        line.description.startswith("30 % of deal 'Website redesign'") for line in draft.lines
    )


async def test_the_rest_after_a_deposit_invoices_exactly_what_is_left(world: World) -> None:
    deposit = await world.prepare.execute(deal_ref(), DealShare.percentage(30))
    await world.create.execute(CreateInvoiceCommand(deal_ref(), invoice_input_of(deposit), "d"))

    rest = await world.prepare.execute(deal_ref(), DealShare.rest())

    assert rest.invoiced_on_deal == usd("617.93")
    assert rest.share_amount == usd("1441.85")
    assert amount_before_tax(rest.lines, "USD") == usd("1441.85")
    assert rest.lines[0].description.startswith("Balance of deal 'Website redesign'")
    assert [w for w in rest.warnings if w.code is MessageCode.OVER_DEAL_VALUE] == []
    await world.create.execute(CreateInvoiceCommand(deal_ref(), invoice_input_of(rest), "r"))

    with pytest.raises(InvalidValueError) as err:
        await world.prepare.execute(deal_ref(), DealShare.rest())
    assert err.value.violations[0].code is MessageCode.NOTHING_LEFT_TO_INVOICE


async def test_an_amount_share_over_what_is_left_is_a_field_violation(world: World) -> None:
    with pytest.raises(InvalidValueError) as err:
        await world.prepare.execute(deal_ref(), DealShare.amount("2059.79"))

    (violation,) = err.value.violations
    assert (violation.field, violation.code) == ("share.value", MessageCode.SHARE_OVER_REST)


async def test_an_amount_share_is_spread_over_the_lines_exactly(world: World) -> None:
    draft = await world.prepare.execute(deal_ref(), DealShare.amount("500"))

    assert amount_before_tax(draft.lines, "USD") == usd("500.00")
    assert draft.lines[0].description.startswith("500.00 USD of deal 'Website redesign'")


async def test_the_lines_speak_the_companys_timeline_language(world: World) -> None:
    async with world.uow() as uow:
        settings = await uow.settings.get(COMPANY) or CompanySettings.default(COMPANY)
        policy = dataclasses.replace(TimelinePolicy(), language=TimelineLanguage.FRENCH)
        await uow.settings.save(dataclasses.replace(settings, timeline=policy))
        await uow.commit()

    draft = await world.prepare.execute(deal_ref(), DealShare.percentage(30))

    assert draft.lines[0].description.startswith("30 % de l'affaire « Website redesign »")


async def test_without_a_share_the_draft_is_the_whole_deal(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert draft.share is None
    assert draft.share_amount is None
    assert amount_before_tax(draft.lines, "USD") == usd("2059.78")
