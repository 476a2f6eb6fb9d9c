"""A QuickBooks customer has one currency: a new one is made in the invoice's, a linked one in
another currency is said before Create with the fix QuickBooks users use, and a contact keeps
one linked customer per currency."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from domain.errors import InvalidValueError
from domain.field_mapping import SourceEntity
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    a_deal,
    create_command,
    deal_ref,
)


@pytest.fixture
def world() -> World:
    world = World()
    world.qbo.preferences = dataclasses.replace(
        world.qbo.preferences, multicurrency_enabled=True, enabled_currencies=("USD", "EUR")
    )
    world.crm.add_deal(COMPANY, dataclasses.replace(a_deal("43"), currency="EUR"))
    return world


async def test_a_new_customer_is_made_in_the_invoices_currency(world: World) -> None:
    view = await world.create.execute(create_command(currency="EUR"))

    assert view.state.value == "open"
    assert world.qbo.customers[view.customer.quickbooks_id or ""].currency == "EUR"


async def test_a_linked_customer_in_another_currency_is_said_with_the_fix(world: World) -> None:
    first = await world.create.execute(create_command())  # links the org to a USD customer
    euro_name = "Acme Corp (EUR)"
    existing = await world.create.execute(
        create_command(
            "eur",
            currency="EUR",
            customer=dataclasses.replace(create_command().invoice.customer, display_name=euro_name),
        )
    )
    async with world.uow() as uow:  # as if the EUR one had been made in QuickBooks directly
        usd_link = await uow.customer_links.get(COMPANY, SourceEntity.ORGANIZATION, "5", "USD")
        assert usd_link is not None
        assert usd_link.quickbooks_customer_id == first.customer.quickbooks_id
        await uow.customer_links.delete(COMPANY, SourceEntity.ORGANIZATION, "5")
        await uow.customer_links.put(usd_link)
        await uow.commit()

    draft = await world.prepare.execute(deal_ref(deal_id="43"))

    assert draft.currency == "EUR"
    assert draft.linked_customer is not None
    assert draft.linked_customer.currency == "USD"
    said = [(w.code, dict(w.params)) for w in draft.warnings if w.field == "currency"]
    assert said == [
        (
            MessageCode.CUSTOMER_CURRENCY_DIFFERS,
            {
                "name": "Acme Corp",
                "customerCurrency": "USD",
                "currency": "EUR",
                "suggestedName": euro_name,
            },
        )
    ]
    assert [c.id for c in draft.suggestions] == [existing.customer.quickbooks_id]


async def test_a_contact_keeps_one_customer_per_currency(world: World) -> None:
    usd = await world.create.execute(create_command())
    eur = await world.create.execute(
        create_command(
            "eur",
            currency="EUR",
            customer=dataclasses.replace(
                create_command().invoice.customer, display_name="Acme Corp (EUR)"
            ),
        )
    )

    euro_draft = await world.prepare.execute(deal_ref(deal_id="43"))
    dollar_draft = await world.prepare.execute(deal_ref())

    assert euro_draft.linked_customer is not None
    assert euro_draft.linked_customer.id == eur.customer.quickbooks_id
    assert not [w for w in euro_draft.warnings if w.code is MessageCode.CUSTOMER_CURRENCY_DIFFERS]
    assert dollar_draft.linked_customer is not None
    assert dollar_draft.linked_customer.id == usd.customer.quickbooks_id


async def test_the_draft_shows_quickbooks_rate_and_the_home_currency_total(world: World) -> None:
    draft = await world.prepare.execute(deal_ref(deal_id="43"))

    assert draft.exchange_rate == Decimal("1.0850")
    # No sales tax set up in this US company: the deal's 10 % on "Design" is not charged.
    assert draft.totals.total == Money.of("2059.78", "EUR")
    assert draft.home_total == Money.of("2234.86", "USD")  # 2234.8613, to the cent


async def test_the_rate_is_sent_only_when_the_user_sets_one(world: World) -> None:
    theirs = await world.create.execute(create_command("q", currency="EUR"))
    ours = await world.create.execute(create_command("u", currency="EUR", exchange_rate="1.1"))

    assert world.qbo.sent_rates[theirs.quickbooks_id or ""] is None
    assert world.qbo.sent_rates[ours.quickbooks_id or ""] == Decimal("1.1")


@pytest.mark.parametrize(
    ("rate", "code"),
    [("abc", MessageCode.NOT_A_NUMBER), ("0", MessageCode.MUST_BE_POSITIVE)],
)
async def test_a_rate_that_is_not_a_positive_number_is_a_field_error(
    world: World, rate: str, code: MessageCode
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await world.create.execute(create_command(currency="EUR", exchange_rate=rate))

    assert [(v.field, v.code) for v in raised.value.violations] == [("exchange_rate", code)]
