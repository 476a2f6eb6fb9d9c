"""A US QuickBooks customer keeps its tax ID as the 16-character resale number: a longer one
is said before Create and refused, never cut."""

from __future__ import annotations

import dataclasses

import pytest

from application.commands import InvoiceInput
from application.ports.accounting import TaxCodeOption
from domain.errors import InvalidValueError
from domain.messages import MessageCode
from tests.unit.application.invoicing_world import (
    World,
    an_invoice_input,
    create_command,
    deal_ref,
)

LONG = "DE-123456789-0001-X"  # 19 characters


@pytest.fixture
def world() -> World:
    return World()


def _with_tax_id(tax_id: str) -> InvoiceInput:
    data = an_invoice_input()
    return dataclasses.replace(data, customer=dataclasses.replace(data.customer, tax_id=tax_id))


async def test_a_us_tax_id_longer_than_quickbooks_keeps_is_a_field_error(world: World) -> None:
    command = dataclasses.replace(create_command(), invoice=_with_tax_id(LONG))

    with pytest.raises(InvalidValueError) as raised:
        await world.create.execute(command)

    [violation] = raised.value.violations
    assert (violation.field, violation.code) == (
        "invoice.customer.tax_id",
        MessageCode.TOO_LONG_FOR_QUICKBOOKS,
    )
    assert dict(violation.params) == {"max": "16", "length": "19"}
    assert world.qbo.invoices == {}


async def test_outside_the_us_the_whole_tax_id_goes_to_quickbooks(world: World) -> None:
    world.qbo.preferences = dataclasses.replace(world.qbo.preferences, is_us_company=False)
    world.qbo.tax_codes = (TaxCodeOption("5", "VAT"),)  # the company's code the lines name
    command = dataclasses.replace(create_command(), invoice=_with_tax_id(LONG))
    command = dataclasses.replace(
        command,
        invoice=dataclasses.replace(
            command.invoice,
            lines=tuple(
                dataclasses.replace(line, tax_code_id="5") for line in command.invoice.lines
            ),
        ),
    )

    view = await world.create.execute(command)

    assert view.customer.tax_id == LONG
    assert world.qbo.customers[view.customer.quickbooks_id or ""].customer.tax_id == LONG


async def test_the_draft_says_so_before_create(world: World) -> None:
    first = await world.create.execute(create_command())  # links the deal's organization
    linked = world.qbo.customers[first.customer.quickbooks_id or ""]
    world.qbo.customers[linked.id] = dataclasses.replace(
        linked, customer=dataclasses.replace(linked.customer, tax_id=LONG)
    )

    draft = await world.prepare.execute(deal_ref())

    assert draft.customer.tax_id == LONG
    assert [
        (w.code, w.field, dict(w.params)) for w in draft.warnings if w.field == "customer.tax_id"
    ] == [(MessageCode.TOO_LONG_FOR_QUICKBOOKS, "customer.tax_id", {"max": "16", "length": "19"})]


# Outside the US QuickBooks reads the tax id back masked to its last five characters
# (reference §6, §13.13).
MASKED = "XXXXXX56789"


def _masked_in_quickbooks(world: World, customer_id: str) -> None:
    linked = world.qbo.customers[customer_id]
    world.qbo.customers[customer_id] = dataclasses.replace(
        linked, customer=dataclasses.replace(linked.customer, tax_id=MASKED)
    )


async def test_a_tax_id_quickbooks_shows_masked_is_not_prefilled(world: World) -> None:
    first = await world.create.execute(create_command())  # links the deal's organization
    _masked_in_quickbooks(world, first.customer.quickbooks_id or "")

    draft = await world.prepare.execute(deal_ref())

    assert draft.customer.quickbooks_id == first.customer.quickbooks_id
    assert draft.customer.tax_id is None


async def test_a_linked_customer_whose_masked_tax_id_ends_as_ours_is_not_updated(
    world: World,
) -> None:
    first = await world.create.execute(create_command())
    customer_id = first.customer.quickbooks_id or ""
    _masked_in_quickbooks(world, customer_id)
    data = _with_tax_id("GB123456789")
    data = dataclasses.replace(
        data,
        customer=dataclasses.replace(data.customer, quickbooks_customer_id=customer_id),
        update_customer_details=True,
    )
    world.qbo.calls.clear()

    await world.create.execute(dataclasses.replace(create_command("r2"), invoice=data))

    assert "get_customer" in world.qbo.calls  # copying was on: QuickBooks' copy was read
    assert "update_customer" not in world.qbo.calls
    assert world.qbo.customers[customer_id].customer.tax_id == MASKED
