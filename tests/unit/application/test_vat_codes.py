"""Outside the US QuickBooks charges each line its tax code's rate: the invoice takes that rate
too, so that what the preview shows is what QuickBooks charges."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from application.commands import LineInput
from application.ports.accounting import RatePeriod, TaxCodeOption
from application.ports.crm import DealDiscount, DealProduct
from domain.errors import InvalidValueError
from domain.invoice_line import DiscountKind, TaxMethod
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


@pytest.fixture
def world() -> World:
    world = World()
    world.qbo.preferences = dataclasses.replace(world.qbo.preferences, is_us_company=False)
    world.qbo.tax_codes = (
        TaxCodeOption("2", "20.0% S", rate_percent=Decimal(20)),
        TaxCodeOption("4", "0.0% Z", rate_percent=Decimal(0)),
    )
    return world


def _one_line(rate: str, code: str, method: str = "none") -> object:
    line = LineInput(
        name="Services",
        quantity="2",
        unit_price="50",
        item_id="1",
        tax_rate=rate,
        tax_method=method,
        tax_code_id=code,
    )
    return create_command(lines=(line,))


async def test_a_coded_line_without_a_rate_is_taxed_at_its_codes_rate(world: World) -> None:
    view = await world.create.execute(_one_line("0", "2"))  # type: ignore[arg-type]

    [line] = view.lines
    assert (line.line.tax_rate, line.line.tax_method) == (Decimal(20), TaxMethod.EXCLUSIVE)
    assert view.totals.tax == Money.of("20", "USD")
    assert view.totals.total == Money.of("120", "USD")


async def test_a_zero_rated_code_charges_nothing(world: World) -> None:
    view = await world.create.execute(_one_line("0", "4", "exclusive"))  # type: ignore[arg-type]

    assert view.totals.tax == Money.of("0", "USD")


async def test_a_rate_other_than_the_codes_is_refused_not_charged_otherwise(world: World) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await world.create.execute(_one_line("5", "2", "exclusive"))  # type: ignore[arg-type]

    [violation] = raised.value.violations
    assert (violation.field, violation.code) == (
        "invoice.lines[0].tax_rate",
        MessageCode.TAX_RATE_DIFFERS_FROM_CODE,
    )
    assert dict(violation.params) == {"code": "20.0% S", "rate": "20", "value": "5"}
    assert world.qbo.invoices == {}


async def test_the_draft_takes_the_default_codes_rate_and_says_so(world: World) -> None:
    await change_settings(world, default_tax_code="2")

    draft = await world.prepare.execute(deal_ref())

    items = [line for line in draft.lines if not line.is_discount]
    assert {line.tax_rate for line in items} == {Decimal(20)}
    said = [
        (w.code, w.field)
        for w in draft.warnings
        if w.code is MessageCode.TAX_RATE_DIFFERS_FROM_CODE
    ]
    assert said == [(MessageCode.TAX_RATE_DIFFERS_FROM_CODE, "lines[1].tax_rate")]  # "Design", 10 %


async def test_a_backdated_invoice_is_taxed_at_the_rate_in_force_on_its_date(
    world: World,
) -> None:
    """The UK standard rate was 15 % in 2009: QuickBooks charges that on an invoice dated then."""
    world.qbo.tax_codes = (
        TaxCodeOption(
            "2",
            "20.0% S",
            rate_percent=Decimal(20),
            periods=(
                RatePeriod(None, date(2008, 11, 30), Decimal("17.5")),
                RatePeriod(date(2008, 12, 1), date(2009, 12, 31), Decimal(15)),
                RatePeriod(date(2010, 1, 1), None, Decimal(20)),
            ),
        ),
    )
    line = LineInput(name="Services", quantity="2", unit_price="50", item_id="1", tax_code_id="2")
    view = await world.create.execute(create_command(lines=(line,), issue_date="2009-06-01"))

    assert view.lines[0].line.tax_rate == Decimal(15)
    assert view.totals.tax == Money.of("15", "USD")


async def test_a_percentage_deal_discount_comes_off_the_subtotal_before_tax_rounded_half_up(
    world: World,
) -> None:
    """As QuickBooks takes a percent discount: 5 % of 100.50 is 5.025, 5.03 half-up (not 5.02
    half-even, nor 6.03 of 120.60 with its tax), and the tax is charged after it."""
    await change_settings(world, default_tax_code="2")
    world.crm.add_deal(
        COMPANY,
        dataclasses.replace(
            a_deal(),
            products=(DealProduct("p1", "Services", Decimal(1), Decimal("100.50")),),
            discounts=(DealDiscount("Loyalty 5%", Decimal(5), DiscountKind.PERCENTAGE),),
        ),
    )

    draft = await world.prepare.execute(deal_ref())

    [discount] = [line for line in draft.lines if line.is_discount]
    assert discount.net("USD") == Money.of("-5.03", "USD")
    assert draft.totals.tax == Money.of("19.09", "USD")  # 20 % of 95.47 = 19.094
    assert draft.totals.total == Money.of("114.56", "USD")  # 95.47 + 19.09


async def test_a_tax_code_made_inactive_is_said_in_the_draft_and_refused_before_quickbooks(
    world: World,
) -> None:
    """The company's default code was made inactive in QuickBooks since it was chosen: the form
    cannot show it, and QuickBooks would refuse the invoice after it was stored (610)."""
    world.qbo.tax_codes = (
        TaxCodeOption("2", "20.0% S", rate_percent=Decimal(20)),
        TaxCodeOption("7", "17.5% S (old)", active=False, rate_percent=Decimal("17.5")),
    )
    await change_settings(world, default_tax_code="7")

    draft = await world.prepare.execute(deal_ref())
    with pytest.raises(InvalidValueError) as raised:
        await world.create.execute(_one_line("0", "7"))  # type: ignore[arg-type]

    said = {(w.code, w.field) for w in draft.warnings}
    assert (MessageCode.UNKNOWN_TAX_CODE, "lines[0].tax_code_id") in said
    assert [(v.field, v.code, dict(v.params)) for v in raised.value.violations] == [
        ("invoice.lines[0].tax_code_id", MessageCode.UNKNOWN_TAX_CODE, {"value": "7"})
    ]
    assert world.qbo.invoices == {}
