"""Shares of a deal: each share's lines ask for exactly its amount before tax, and a schedule's
installments add up to the deal exactly (the rule in domain/installment.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.installment import (
    DealShare,
    ShareKind,
    amount_before_tax,
    schedule_amounts,
    share_lines,
)
from domain.invoice_line import DiscountKind, InvoiceLine, TaxMethod, totals_of
from domain.messages import MessageCode
from domain.money import Money


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


DESIGN = InvoiceLine(
    "Logo", D(5), D(22), discount=D("0.2"), name="Design", item_ref="1", tax_rate=D(10),
    tax_method=TaxMethod.EXCLUSIVE,
)  # fmt: skip
HOSTING = InvoiceLine("", D(1), D("1000"), name="Hosting", item_ref="2")


def test_a_30_percent_deposit_asks_for_30_percent_of_the_deal_rounded_half_up() -> None:
    whole = usd("1109.78")

    assert DealShare.percentage(30).amount_of(whole, usd("0")) == usd("332.93")  # 332.934


def test_the_rest_is_what_the_invoices_do_not_ask_for_yet() -> None:
    assert DealShare.rest().amount_of(usd("1109.78"), usd("332.93")) == usd("776.85")


def test_an_amount_over_what_is_left_is_refused_with_what_is_left() -> None:
    with pytest.raises(InvalidValueError) as err:
        DealShare.amount("800").amount_of(usd("1109.78"), usd("332.93"))

    (violation,) = err.value.violations
    assert (violation.field, violation.code) == ("share.value", MessageCode.SHARE_OVER_REST)
    assert violation.params == {"rest": "776.85 USD"}


def test_nothing_left_to_invoice_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        DealShare.rest().amount_of(usd("100"), usd("100"))

    assert err.value.violations[0].code is MessageCode.NOTHING_LEFT_TO_INVOICE


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        DealShare.amount("10.005").amount_of(usd("100"), usd("0"))

    assert err.value.violations[0].code is MessageCode.TOO_PRECISE_FOR_CURRENCY


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        (ShareKind.PERCENTAGE, D(0), MessageCode.MUST_BE_POSITIVE),
        (ShareKind.PERCENTAGE, D("100.01"), MessageCode.NOT_A_PERCENTAGE),
        (ShareKind.AMOUNT, D(-5), MessageCode.MUST_BE_POSITIVE),
        ("half", D(5), MessageCode.CHOOSE_ONE_OF),
    ],
)
def test_a_share_that_means_nothing_is_refused(kind: str, value: D, code: MessageCode) -> None:
    with pytest.raises(InvalidValueError) as err:
        DealShare(kind, value)  # type: ignore[arg-type]

    assert err.value.violations[0].code is code


def test_the_scaled_lines_say_their_share_and_keep_item_and_tax() -> None:
    lines = share_lines((DESIGN, HOSTING), "USD", usd("332.93"), "30 % of deal 'Website'")

    assert [line.description for line in lines] == [
        "30 % of deal 'Website' — Logo",
        "30 % of deal 'Website' — Hosting",
    ]
    assert [(line.quantity, line.unit_price) for line in lines] == [
        (D(1), D("32.93")),  # 109.78 x 0.3 = 32.934
        (D(1), D("300.00")),
    ]
    assert [(line.item_ref, line.tax_rate, line.tax_method) for line in lines] == [
        ("1", D(10), TaxMethod.EXCLUSIVE),
        ("2", D(0), TaxMethod.NONE),
    ]
    assert amount_before_tax(lines, "USD") == usd("332.93")


def test_the_cent_rounding_loses_goes_to_the_largest_line() -> None:
    thirds = [InvoiceLine("", D(1), D("10"), name=n) for n in "ABC"]

    lines = share_lines(thirds, "USD", usd("10.00"), "share")  # 3.333.. each

    assert [line.unit_price for line in lines] == [D("3.34"), D("3.33"), D("3.33")]


def test_a_schedule_of_30_40_30_adds_up_to_the_deal_with_the_last_taking_the_rest() -> None:
    amounts = schedule_amounts(usd("1109.79"), [D(30), D(40), D(30)])

    assert amounts == (usd("332.94"), usd("443.92"), usd("332.93"))


def test_a_schedule_not_adding_up_to_100_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        schedule_amounts(usd("100"), [D(30), D(40)])

    assert err.value.violations[0].code is MessageCode.INSTALLMENTS_NOT_WHOLE
    assert err.value.violations[0].params == {"total": "70"}


def test_a_kwd_share_is_to_the_two_places_quickbooks_keeps_not_iso_4217s_three() -> None:
    whole = Money.of("1109.781", "KWD")
    assert DealShare.percentage(30).amount_of(whole, Money.zero("KWD")) == Money.of(
        "332.93", "KWD"
    )  # 332.9343
    with pytest.raises(InvalidValueError) as err:
        DealShare.amount("10.005").amount_of(whole, Money.zero("KWD"))
    assert err.value.violations[0].code is MessageCode.TOO_PRECISE_FOR_CURRENCY
    assert err.value.violations[0].params["places"] == "2"
    lines = share_lines([DESIGN, HOSTING], "KWD", Money.of("333.33", "KWD"), "a third")
    assert [line.net("KWD").to_decimal_string() for line in lines] == ["32.97", "300.36"]
    assert amount_before_tax(lines, "KWD") == Money.of("333.33", "KWD")


# Properties -------------------------------------------------------------------------------------

currencies = st.sampled_from(["USD", "JPY", "KWD"])
methods = st.sampled_from(list(TaxMethod))


@st.composite
def deal_lines(draw: st.DrawFn) -> list[InvoiceLine]:
    count = draw(st.integers(min_value=1, max_value=6))
    lines = [
        InvoiceLine(
            description=draw(st.sampled_from(["", "work"])),
            quantity=draw(st.decimals(min_value=D("0.01"), max_value=D(500), places=2)),
            unit_price=draw(st.decimals(min_value=D(0), max_value=D(20_000), places=3)),
            discount=draw(st.decimals(min_value=D(0), max_value=D(100), places=2)),
            discount_kind=DiscountKind.PERCENTAGE,
            tax_rate=draw(st.decimals(min_value=D(0), max_value=D(30), places=3)),
            tax_method=draw(methods),
            name=f"P{index}",
        )
        for index in range(count)
    ]
    if draw(st.booleans()):
        lines.append(
            InvoiceLine.discount_line(
                "Loyalty", draw(st.decimals(min_value=D(1), max_value=D(50), places=2))
            )
        )
    return lines


percent_lists = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8).filter(
    lambda ps: sum(ps) <= 100
)


@given(deal_lines(), currencies, percent_lists)
def test_a_schedules_invoices_ask_for_exactly_the_deal_before_tax(
    lines: list[InvoiceLine], currency: str, percents: list[int]
) -> None:
    whole = amount_before_tax(lines, currency)
    assume(whole.amount >= 100)
    percentages = [D(p) for p in percents[:-1]] + [D(100 - sum(percents[:-1]))]
    assume(percentages[-1] > 0)

    amounts = schedule_amounts(whole, percentages)
    invoices = [share_lines(lines, currency, amount, "share") for amount in amounts]

    assert Money.sum_of(amounts, currency) == whole
    for amount, invoice in zip(amounts, invoices, strict=True):
        assert amount_before_tax(invoice, currency) == amount
        totals = totals_of(invoice, currency)
        assert totals.total - totals.tax == amount  # what the deal's remaining counts
    assert Money.sum_of((amount_before_tax(i, currency) for i in invoices), currency) == whole


@given(deal_lines(), currencies, st.integers(min_value=1, max_value=100))
def test_a_percentage_and_the_rest_add_up_to_the_deal(
    lines: list[InvoiceLine], currency: str, percent: int
) -> None:
    whole = amount_before_tax(lines, currency)
    assume(whole.amount * percent / 100 >= 1)
    zero = Money.zero(currency)
    deposit = DealShare.percentage(percent).amount_of(whole, zero)
    first = share_lines(lines, currency, deposit, "deposit")
    invoiced = amount_before_tax(first, currency)

    if invoiced == whole:
        return  # 100 %, or a percentage rounding to all of it: nothing is left
    rest = DealShare.rest().amount_of(whole, invoiced)
    second = share_lines(lines, currency, rest, "rest")

    assert invoiced == deposit
    assert invoiced + amount_before_tax(second, currency) == whole
    assert all(not line.unit_price.is_signed() or line.is_discount for line in first + second)
