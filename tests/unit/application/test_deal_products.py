"""What a deal's products make of the draft's lines beyond their amounts: a product Pipedrive
bills again and again, a product named like a QuickBooks item no line can use."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from application.ports.accounting import ItemOption
from domain.messages import MessageCode
from tests.unit.application import invoicing_world
from tests.unit.application.invoicing_world import World, deal_ref


async def test_a_recurring_product_is_billed_one_period_and_the_draft_says_so() -> None:
    """A product Pipedrive bills every month is priced per month: the line bills that price
    once, and the draft says which product recurs, in words the UI translates."""
    world = World()
    deal = invoicing_world.a_deal()
    monthly = dataclasses.replace(deal.products[1], billing_frequency="monthly")
    world.crm.add_deal(
        invoicing_world.COMPANY, dataclasses.replace(deal, products=(deal.products[0], monthly))
    )

    draft = await world.prepare.execute(deal_ref())

    [said] = [w for w in draft.warnings if w.code is MessageCode.RECURRING_PRODUCT]
    assert (said.field, dict(said.params)) == ("lines[1].quantity", {"frequency": "monthly"})
    assert said.message == (
        "This product is billed every month in Pipedrive: this invoice bills one period of it."
    )
    assert draft.lines[1].unit_price == Decimal(1000)


async def test_a_frequency_pipedrive_adds_is_said_as_it_comes() -> None:
    world = World()
    deal = invoicing_world.a_deal()
    fortnightly = dataclasses.replace(deal.products[0], billing_frequency="biweekly")
    world.crm.add_deal(invoicing_world.COMPANY, dataclasses.replace(deal, products=(fortnightly,)))

    draft = await world.prepare.execute(deal_ref())

    [said] = [w for w in draft.warnings if w.code is MessageCode.RECURRING_PRODUCT]
    assert said.message == (
        "This product is billed biweekly in Pipedrive: this invoice bills one period of it."
    )


async def test_a_product_named_like_a_bundle_is_said_and_left_to_the_default_item() -> None:
    """A bundle cannot be a line's item: the draft says so rather than booking the product to
    the default item without a word."""
    world = World()
    await invoicing_world.change_settings(world, default_item="1")
    world.qbo.items = (*world.qbo.items, ItemOption("7", "Design", type="Group"))

    draft = await world.prepare.execute(deal_ref())  # its second product is "Design"

    [said] = [w for w in draft.warnings if w.code is MessageCode.NOT_A_SALES_ITEM]
    assert (said.field, dict(said.params)) == (
        "lines[1].item_id",
        {"name": "Design", "itemType": "Group"},
    )
    assert said.message == (
        "'Design' is a bundle in QuickBooks, which an invoice line cannot use: choose an item "
        "for this line."
    )
    assert draft.lines[1].item_ref == "1"
    assert not [w for w in draft.warnings if w.code is MessageCode.NO_MATCHING_ITEM]


async def test_a_default_item_made_inactive_since_is_said_on_the_lines_it_would_take() -> None:
    """QuickBooks' options hold its active items only: a default item not among them was made
    inactive or deleted since it was chosen. The form could not show it, and QuickBooks would
    refuse it (or file the line under its own default item): the draft says so."""
    world = World()
    await invoicing_world.change_settings(world, default_item="9")

    draft = await world.prepare.execute(deal_ref())  # "Services" is an item, "Design" is not

    said = [(w.field, dict(w.params)) for w in draft.warnings]
    assert said.count(("lines[1].item_id", {"id": "9"})) == 1
    assert [w.code for w in draft.warnings if w.field == "lines[0].item_id"] == []
    [warning] = [w for w in draft.warnings if w.code is MessageCode.DEFAULT_ITEM_UNAVAILABLE]
    assert warning.message.startswith("The default item (QuickBooks id 9) is not an active item")
