"""A deposit already received, recorded on the invoice (QuickBooks' Deposit): the balance is
the total less it, as the preview says; more than the total, or finer than the currency, is a
field violation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.errors import InvalidValueError
from domain.invoice import InvoiceState
from domain.messages import MessageCode
from domain.money import Money
from tests.unit.application.invoicing_world import World, create_command


@pytest.fixture
def world() -> World:
    return World()


async def test_the_deposit_received_is_taken_off_the_balance(world: World) -> None:
    created = await world.create.execute(create_command(deposit="300"))

    # 109.78 + 2,000.00, no tax: 2,109.78, of which 300.00 is received already.
    assert created.totals.total == Money.of("2109.78", "USD")
    assert created.totals.balance == Money.of("1809.78", "USD")
    assert created.totals.amount_paid == Money.of("300.00", "USD")
    assert created.state is InvoiceState.PARTIALLY_PAID  # as QuickBooks' balance says


@pytest.mark.parametrize(
    ("deposit", "code"),
    [
        ("2109.79", MessageCode.DEPOSIT_OVER_TOTAL),
        ("10.005", MessageCode.TOO_PRECISE_FOR_CURRENCY),
        ("-1", MessageCode.MUST_NOT_BE_NEGATIVE),
        ("lots", MessageCode.NOT_A_NUMBER),
    ],
)
async def test_a_deposit_quickbooks_could_not_record_is_a_field_violation(
    world: World, deposit: str, code: MessageCode
) -> None:
    with pytest.raises(InvalidValueError) as err:
        await world.create.execute(create_command(deposit=deposit))

    assert [(v.field, v.code) for v in err.value.violations] == [("invoice.deposit", code)]


@pytest.mark.parametrize(("deposit", "refused"), [("1.234", True), ("1.23", False)])
async def test_a_kwd_deposit_is_refused_finer_than_the_two_places_quickbooks_keeps(
    world: World, deposit: str, refused: bool
) -> None:
    # ISO 4217 gives KWD 3 decimals, but QuickBooks records 2: a deposit of 1.234 could not be
    # recorded as the preview would show it, so it is refused as for any currency.
    world.qbo.preferences = replace(
        world.qbo.preferences, home_currency="KWD", enabled_currencies=("KWD",)
    )
    command = create_command(currency="KWD", deposit=deposit)
    if refused:
        with pytest.raises(InvalidValueError) as err:
            await world.create.execute(command)
        (violation,) = err.value.violations
        assert (violation.field, violation.code) == (
            "invoice.deposit",
            MessageCode.TOO_PRECISE_FOR_CURRENCY,
        )
        assert violation.description == (
            "1.234 has more decimals than QuickBooks keeps for KWD amounts: 2 at most."
        )
        return
    created = await world.create.execute(command)
    assert created.totals.amount_paid == Money.of("1.23", "KWD")
    assert created.totals.balance == created.totals.total - Money.of("1.23", "KWD")


async def test_with_automated_sales_tax_the_ceiling_is_said_to_be_before_tax(world: World) -> None:
    # QuickBooks adds the tax when it creates the invoice: 2,109.78 is the total known before.
    world.qbo.preferences = replace(world.qbo.preferences, automated_sales_tax=True)
    with pytest.raises(InvalidValueError) as err:
        await world.create.execute(create_command(deposit="2109.79"))

    (violation,) = err.value.violations
    assert violation.code is MessageCode.DEPOSIT_OVER_TOTAL_BEFORE_TAX
    assert violation.description == (
        "QuickBooks calculates this invoice's sales tax when it creates it: the deposit received "
        "can be at most its total before tax, 2109.78 USD."
    )
