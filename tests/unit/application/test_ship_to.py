"""A customer that ships elsewhere than its billing address: the draft brings a linked
customer's own ship-to in, the invoice keeps what it was sent with, and copying details copies
it. With automated sales tax, that address is where QuickBooks' tax is for."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import AddressInput, CreateInvoiceCommand
from application.invoicing.by_rule import invoice_input
from domain.customer import Address
from domain.errors import InvalidValueError
from domain.invoice import InvoiceState
from tests.unit.application.invoicing_world import World, create_command, deal_ref

ACME = "100"  # the QuickBooks customer the first invoice made and linked
WAREHOUSE = Address(line1="500 Congress Ave", city="Austin", region="TX", postal_code="78701")


@pytest.fixture
async def world() -> World:
    world = World()
    await world.create.execute(create_command("first"))  # "Acme Corp", linked from now on
    return world


def _ships_to_the_warehouse(world: World) -> None:
    """Acme's record in QuickBooks gets a ship-to of its own."""
    linked = world.qbo.customers[ACME]
    customer = dataclasses.replace(linked.customer, shipping_address=WAREHOUSE)
    world.qbo.customers[ACME] = dataclasses.replace(linked, customer=customer)


def _shipped(request_id: str, shipping: AddressInput | None, copy: bool) -> CreateInvoiceCommand:
    command = create_command(request_id)
    customer = dataclasses.replace(
        command.invoice.customer, quickbooks_customer_id=ACME, shipping_address=shipping
    )
    invoice = dataclasses.replace(command.invoice, customer=customer, update_customer_details=copy)
    return dataclasses.replace(command, invoice=invoice)


async def test_the_draft_for_a_customer_shipping_elsewhere_carries_its_ship_to(
    world: World,
) -> None:
    before = await world.prepare.execute(deal_ref())
    assert before.customer.shipping_address is None  # ships to its billing address
    _ships_to_the_warehouse(world)

    draft = await world.prepare.execute(deal_ref())

    assert draft.customer.shipping_address == WAREHOUSE
    assert draft.customer.billing_address == before.customer.billing_address  # the deal's


async def test_an_invoice_made_by_a_rule_ships_where_the_draft_says(world: World) -> None:
    _ships_to_the_warehouse(world)

    made = invoice_input(await world.prepare.execute(deal_ref()), None)

    assert made.customer.shipping_address == AddressInput.of(WAREHOUSE)


async def test_the_invoice_keeps_the_ship_to_it_was_sent_with(world: World) -> None:
    view = await world.create.execute(_shipped("r1", AddressInput.of(WAREHOUSE), copy=False))

    assert view.state is InvoiceState.OPEN
    assert view.customer.shipping_address == WAREHOUSE
    assert view.customer.billing_address is not None
    assert view.customer.billing_address.city == "Springfield"


async def test_copying_the_details_copies_the_ship_to(world: World) -> None:
    await world.create.execute(_shipped("r1", AddressInput.of(WAREHOUSE), copy=True))

    assert world.qbo.customers[ACME].customer.shipping_address == WAREHOUSE


async def test_an_empty_ship_to_is_none(world: World) -> None:
    view = await world.create.execute(_shipped("r1", AddressInput(), copy=False))

    assert view.customer.shipping_address is None


@pytest.mark.parametrize("kind", ["billing_address", "shipping_address"])
async def test_a_bad_address_part_is_named_where_the_form_shows_it(world: World, kind: str) -> None:
    command = _shipped("r1", None, copy=False)
    street = AddressInput(line1="x" * 501)
    given = {"address": street} if kind == "billing_address" else {"shipping_address": street}
    customer = dataclasses.replace(command.invoice.customer, **given)
    invoice = dataclasses.replace(command.invoice, customer=customer)

    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(dataclasses.replace(command, invoice=invoice))

    assert [v.field for v in refused.value.violations] == [f"invoice.customer.{kind}.line1"]
