"""The form says what remains to invoice on the deal and warns before invoicing more than its
value. Amounts are compared before tax ([U] whether Pipedrive's deal value counts the tax of
exclusive products): the warning is never wrong, whichever it is."""

from __future__ import annotations

import pytest

from application.commands import InvoiceActionCommand, LineInput
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import World, create_command, deal_ref, invoice_ref


@pytest.fixture
def world() -> World:
    return World()


def _design(quantity: str) -> tuple[LineInput, ...]:
    return (LineInput(name="Design", quantity=quantity, unit_price="1000", item_id="1"),)


def _over(world_draft: object) -> list[dict[str, str]]:
    return [dict(w.params) for w in world_draft.warnings if w.code is MessageCode.OVER_DEAL_VALUE]  # type: ignore[attr-defined]


async def test_a_first_draft_within_the_value_says_nothing_is_invoiced_yet(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())  # 2,059.78 before tax; value 2,109.78

    assert draft.deal_value == Money.of("2109.78", "USD")
    assert draft.invoiced_on_deal == Money.zero("USD")
    assert _over(draft) == []


async def test_what_is_invoiced_already_counts_before_tax_and_a_draft_over_is_warned(
    world: World,
) -> None:
    await world.create.execute(create_command(lines=_design("1")))

    draft = await world.prepare.execute(deal_ref())

    assert draft.invoiced_on_deal == Money.of("1000", "USD")
    # 1,000 + 2,059.78 = 3,059.78 before tax: 950.00 over the value.
    assert _over(draft) == [
        {"value": "2109.78 USD", "invoiced": "1000.00 USD", "over": "950.00 USD"}
    ]


async def test_a_voided_invoice_is_not_counted(world: World) -> None:
    created = await world.create.execute(create_command(lines=_design("1")))
    await world.void.execute(InvoiceActionCommand(invoice_ref(created.id)))

    draft = await world.prepare.execute(deal_ref())

    assert draft.invoiced_on_deal == Money.zero("USD")
    assert _over(draft) == []
