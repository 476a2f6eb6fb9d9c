"""A US company without automated sales tax: lines are Taxable or Non-taxable and one sales tax
code (a rate, or a group such as California 7.25 % + San Mateo 1 %) applies to the taxable
lines (TxnTaxCodeRef). The preview charges that rate on the taxable lines, as QuickBooks does."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from application.commands import CreateInvoiceCommand, LineInput
from application.ports.accounting import TaxCodeOption, TaxRateOption
from domain.errors import InvalidValueError
from domain.invoice_line import TaxMethod
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import (
    COMPANY,
    World,
    a_deal,
    change_settings,
    create_command,
    deal_ref,
)

CALIFORNIA = TaxCodeOption("2", "California", rate_percent=Decimal("8.25"))


@pytest.fixture
def world() -> World:
    world = World()
    world.qbo.sales_tax_codes = (CALIFORNIA, TaxCodeOption("4", "Texas", Decimal("6.25")))
    return world


def _line(code: str, rate: str = "0", method: str = "none") -> LineInput:
    return LineInput(
        name="Services",
        quantity="2",
        unit_price="50",
        item_id="1",
        tax_rate=rate,
        tax_method=method,
        tax_code_id=code,
    )


def _command(*lines: LineInput, sales_tax_code: str = "2") -> CreateInvoiceCommand:
    return create_command(lines=lines, sales_tax_code_id=sales_tax_code)


async def test_the_taxable_lines_pay_the_sales_tax_codes_rate(world: World) -> None:
    view = await world.create.execute(_command(_line("TAX"), _line("NON")))

    taxable, exempt = (lv.line for lv in view.lines)
    assert (taxable.tax_rate, taxable.tax_method) == (Decimal("8.25"), TaxMethod.EXCLUSIVE)
    assert (exempt.tax_rate, exempt.tax_method) == (Decimal(0), TaxMethod.NONE)
    assert view.sales_tax_code_id == "2"
    assert view.totals.tax == Money.of("8.25", "USD")
    assert view.quickbooks_total == view.totals.total == Money.of("208.25", "USD")
    (sent,) = world.qbo.invoices.values()
    assert sent.total == view.totals.total


async def test_a_taxable_line_needs_a_sales_tax_code(world: World) -> None:
    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(_command(_line("TAX", "10", "exclusive"), sales_tax_code=""))

    [violation] = refused.value.violations
    assert (violation.field, violation.code) == (
        "invoice.sales_tax_code_id",
        MessageCode.SALES_TAX_CODE_REQUIRED,
    )
    assert world.qbo.invoices == {}


async def test_an_unknown_sales_tax_code_is_a_field_error(world: World) -> None:
    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(_command(_line("TAX"), sales_tax_code="99"))

    [violation] = refused.value.violations
    assert (violation.field, violation.code) == (
        "invoice.sales_tax_code_id",
        MessageCode.UNKNOWN_SALES_TAX_CODE,
    )


async def test_a_line_rate_other_than_the_codes_is_refused(world: World) -> None:
    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(_command(_line("TAX", "10", "exclusive")))

    [violation] = refused.value.violations
    assert violation.code is MessageCode.TAX_RATE_DIFFERS_FROM_CODE


async def test_the_draft_takes_the_default_sales_tax_code_and_rates_the_taxed_products(
    world: World,
) -> None:
    await change_settings(world, default_tax_code="2")

    draft = await world.prepare.execute(deal_ref())

    assert draft.sales_tax_code_id == "2"
    services, design = (line for line in draft.lines if not line.is_discount)
    # "Services" had no tax in the deal: not taxable. "Design" had 10 %: taxable, at 8.25 %.
    assert (services.tax_code_ref, services.tax_rate) == ("NON", Decimal(0))
    assert (design.tax_code_ref, design.tax_rate) == ("TAX", Decimal("8.25"))
    said = {(w.code, w.field) for w in draft.warnings}
    assert (MessageCode.TAX_RATE_DIFFERS_FROM_CODE, "lines[1].tax_rate") in said


async def test_without_a_default_the_draft_asks_for_a_sales_tax_code(world: World) -> None:
    draft = await world.prepare.execute(deal_ref())

    assert draft.sales_tax_code_id is None
    said = {(w.code, w.field) for w in draft.warnings}
    assert (MessageCode.SALES_TAX_CODE_REQUIRED, "sales_tax_code_id") in said


async def test_without_sales_tax_set_up_a_taxed_line_is_refused_rather_than_charged_otherwise(
    world: World,
) -> None:
    world.qbo.sales_tax_codes = ()  # no sales tax set up in QuickBooks: nothing is charged
    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(_command(_line("TAX", "8", "exclusive"), sales_tax_code=""))

    [violation] = refused.value.violations
    assert (violation.field, violation.code) == (
        "invoice.lines[0].tax_rate",
        MessageCode.NO_SALES_TAX_IN_QUICKBOOKS,
    )
    assert violation.params == {"value": "8"}
    assert world.qbo.invoices == {}


async def test_without_sales_tax_set_up_the_draft_shows_no_tax_and_says_why(world: World) -> None:
    world.qbo.sales_tax_codes = ()

    draft = await world.prepare.execute(deal_ref())

    design = [line for line in draft.lines if not line.is_discount][1]  # 10 % in the deal
    assert (design.tax_rate, design.tax_method) == (Decimal(0), TaxMethod.NONE)
    said = {(w.code, w.field) for w in draft.warnings}
    assert (MessageCode.NO_SALES_TAX_IN_QUICKBOOKS, "lines[1].tax_rate") in said
    assert MessageCode.SALES_TAX_CODE_REQUIRED not in {code for code, _ in said}
    # As the draft shows it, it is created, and QuickBooks records what the preview showed.
    view = await world.create.execute(_command(_line("TAX"), sales_tax_code=""))
    assert view.totals.tax == Money.of("0", "USD")
    (sent,) = world.qbo.invoices.values()
    assert sent.total == view.totals.total == Money.of("100", "USD")


async def test_a_price_including_tax_in_pipedrive_is_said_to_be_taxed_on_top(
    world: World,
) -> None:
    """No US invoice is tax-inclusive: a deal product whose price includes 8.25 % keeps its
    price, and the draft says the tax is added on top (the total then exceeds the deal's)."""
    deal = a_deal()
    inclusive = dataclasses.replace(
        deal.products[1], tax_rate=Decimal("8.25"), tax_method=TaxMethod.INCLUSIVE
    )
    world.crm.add_deal(COMPANY, dataclasses.replace(deal, products=(deal.products[0], inclusive)))
    await change_settings(world, default_tax_code="2")

    draft = await world.prepare.execute(deal_ref())

    design = [line for line in draft.lines if not line.is_discount][1]
    assert (design.unit_price, design.tax_method) == (Decimal(1000), TaxMethod.EXCLUSIVE)
    said = [(w.code, w.field, dict(w.params)) for w in draft.warnings]
    assert (MessageCode.TAX_ON_TOP_OF_PRICE, "lines[1].unit_price", {"value": "8.25"}) in said
    # Asked for as such at create, it is refused rather than charged otherwise than asked.
    with pytest.raises(InvalidValueError) as refused:
        await world.create.execute(_command(_line("TAX", "8.25", "inclusive")))
    [violation] = refused.value.violations
    assert violation.code is MessageCode.TAX_ON_TOP_OF_PRICE


async def test_each_rate_of_the_group_is_rounded_on_its_own_as_quickbooks_rounds_it(
    world: World,
) -> None:
    """10.25 taxable in California: 7.25 % is 0.743 and San Mateo's 1 % 0.1025, so QuickBooks
    charges 0.74 + 0.10 = 0.84, where 8.25 % in one would be 0.85."""
    world.qbo.sales_tax_codes = (
        dataclasses.replace(
            CALIFORNIA,
            rates=(TaxRateOption("1", Decimal("7.25")), TaxRateOption("2", Decimal(1))),
        ),
    )
    line = LineInput(
        name="Services", quantity="1", unit_price="10.25", item_id="1", tax_code_id="TAX"
    )

    view = await world.create.execute(_command(line))

    assert view.totals.tax == Money.of("0.84", "USD")
    assert view.quickbooks_total == view.totals.total == Money.of("11.09", "USD")
