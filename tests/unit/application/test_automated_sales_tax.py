"""US automated sales tax: QuickBooks computes the tax from the ship-to address. The preview
shows no tax of ours as final, the lines say only whether they are taxable, and once created
the invoice's tax and total are QuickBooks'."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from application.commands import LineInput
from application.ports.accounting import TaxCodeOption
from domain.errors import InvalidValueError
from domain.invoice_line import TaxMethod
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
    world.qbo.preferences = dataclasses.replace(world.qbo.preferences, automated_sales_tax=True)
    return world


def _line(rate: str = "0", method: str = "none", code: str = "") -> LineInput:
    return LineInput(
        name="Services",
        quantity="2",
        unit_price="50",
        item_id="1",
        tax_rate=rate,
        tax_method=method,
        tax_code_id=code,
    )


async def test_the_draft_leaves_the_tax_to_quickbooks_and_says_the_deals_rate_is_unused(
    world: World,
) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert draft.tax_by_quickbooks
    items = [line for line in draft.lines if not line.is_discount]
    assert {(line.tax_rate, line.tax_method) for line in items} == {(0, TaxMethod.NONE)}
    # "Design" had 10 % exclusive in the deal: taxable, its rate not used.
    assert [line.tax_code_ref for line in items] == [None, "TAX"]
    assert draft.totals.tax == Money.zero("USD")
    said = [(w.code, w.field, dict(w.params)) for w in draft.warnings]
    assert (MessageCode.TAX_BY_QUICKBOOKS, "lines[1].tax_rate", {"value": "10"}) in said


async def test_an_invoice_takes_quickbooks_tax_and_total(world: World) -> None:
    command = create_command(lines=(_line(code="TAX"), _line(code="NON")))
    view = await world.create.execute(command)

    assert view.tax_by_quickbooks
    # 200.00 of lines; QuickBooks adds 8.25 % on the taxable 100.00.
    assert view.quickbooks_total == Money.of("208.25", "USD")
    assert view.totals.tax == Money.of("8.25", "USD")
    assert view.totals.total == view.totals.balance == Money.of("208.25", "USD")
    assert not view.totals_mismatch


async def test_a_rate_of_ours_is_refused_not_sent(world: World) -> None:
    command = create_command(lines=(_line(rate="7", method="exclusive", code="TAX"),))
    with pytest.raises(InvalidValueError) as raised:
        await world.create.execute(command)

    [violation] = raised.value.violations
    assert (violation.field, violation.code) == (
        "invoice.lines[0].tax_rate",
        MessageCode.TAX_BY_QUICKBOOKS,
    )
    assert world.qbo.invoices == {}


async def test_without_automated_sales_tax_a_us_invoice_keeps_its_own_tax(world: World) -> None:
    world.qbo.preferences = dataclasses.replace(world.qbo.preferences, automated_sales_tax=False)
    world.qbo.sales_tax_codes = (TaxCodeOption("3", "Ten", rate_percent=Decimal("10")),)
    view = await world.create.execute(
        create_command(lines=(_line(rate="10", method="exclusive"),), sales_tax_code_id="3")
    )

    assert not view.tax_by_quickbooks
    assert view.totals.tax == Money.of("10", "USD")
    assert view.quickbooks_total == view.totals.total == Money.of("110", "USD")


async def test_a_price_including_tax_in_pipedrive_is_said_to_be_taxed_on_top(
    world: World,
) -> None:
    deal = a_deal()
    inclusive = dataclasses.replace(
        deal.products[1], tax_rate=Decimal("10"), tax_method=TaxMethod.INCLUSIVE
    )
    world.crm.add_deal(COMPANY, dataclasses.replace(deal, products=(deal.products[0], inclusive)))

    draft = await world.prepare.execute(deal_ref())

    said = [(w.code, w.field, dict(w.params)) for w in draft.warnings]
    assert (MessageCode.TAX_ON_TOP_OF_PRICE, "lines[1].unit_price", {"value": "10"}) in said
