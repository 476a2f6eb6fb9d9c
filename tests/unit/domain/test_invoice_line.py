from __future__ import annotations

from decimal import Decimal

import pytest
from domain_builders import a_line
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValueError
from domain.invoice_line import (
    DiscountKind,
    InvoiceLine,
    LineKind,
    TaxMethod,
    TaxPart,
    build_lines,
    totals_of,
)
from domain.money import Money

D = Decimal


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


# -- Pipedrive's arithmetic ------------------------------------------------------------------


def test_five_at_22_with_a_0_2_percent_discount_is_109_78() -> None:
    line = a_line(quantity=D(5), unit_price=D(22), discount=D("0.2"))
    assert line.gross("EUR") == eur("110.00")
    assert line.discount_amount("EUR") == eur("0.22")
    assert line.net("EUR") == eur("109.78")
    assert line.total("EUR") == eur("109.78")
    assert line.tax("EUR") == Money.zero("EUR")


def test_pipedrive_fixture_a3_v1_inclusive_tax_line_sums_to_109_78() -> None:
    # item_price 22, quantity 5, discount 0.2 percentage, tax 11 inclusive -> sum 109.78
    line = InvoiceLine(
        description="1234",
        quantity=D(5),
        unit_price=D(22),
        discount=D("0.2"),
        discount_kind=DiscountKind("percentage"),
        tax_rate=D(11),
        tax_method=TaxMethod("inclusive"),
    )
    assert line.total("EUR") == eur("109.78")
    # 109.78 / 1.11 = 98.9009... -> 98.90 before tax, so 10.88 of the 109.78 is tax.
    assert line.net_excluding_tax("EUR") == eur("98.90")
    assert line.tax("EUR") == eur("10.88")


def test_pipedrive_fixture_a3_v2_line_sums_to_90() -> None:
    # item_price 90, quantity 1, discount 0, tax 0 inclusive -> sum 90
    line = InvoiceLine(
        description="Mechanical Pencil",
        quantity=D(1),
        unit_price=D(90),
        discount=D(0),
        discount_kind=DiscountKind.PERCENTAGE,
        tax_rate=D(0),
        tax_method=TaxMethod.INCLUSIVE,
    )
    assert line.total("USD") == Money.of("90", "USD")
    assert line.tax("USD") == Money.zero("USD")


def test_exclusive_tax_is_added_on_top_of_the_net() -> None:
    line = a_line(discount=D("0.2"), tax_rate=D(11), tax_method=TaxMethod.EXCLUSIVE)
    assert line.tax("EUR") == eur("12.08")  # 109.78 x 11% = 12.0758
    assert line.total("EUR") == eur("121.86")
    assert line.net_excluding_tax("EUR") == eur("109.78")


def test_inclusive_tax_is_extracted_from_the_net() -> None:
    line = a_line(quantity=D(1), unit_price=D(120), tax_rate=D(20), tax_method=TaxMethod.INCLUSIVE)
    assert line.tax("EUR") == eur("20.00")
    assert line.net_excluding_tax("EUR") == eur("100.00")
    assert line.total("EUR") == eur("120.00")


def test_no_tax_method_ignores_the_rate() -> None:
    line = a_line(tax_rate=D(11), tax_method=TaxMethod.NONE)
    assert line.tax("EUR") == Money.zero("EUR")
    assert line.total("EUR") == eur("110.00")


def test_an_amount_discount_is_taken_off_the_whole_line() -> None:
    line = a_line(discount=D(10), discount_kind=DiscountKind.AMOUNT)
    assert line.net("EUR") == eur("100.00")
    assert line.discount_amount("EUR") == eur("10.00")


def test_a_100_percent_discount_makes_the_line_free() -> None:
    assert a_line(discount=D(100)).total("EUR") == Money.zero("EUR")


def test_each_line_is_rounded_half_up_to_minor_units() -> None:
    assert a_line(quantity=D(3), unit_price=D("0.335")).gross("EUR") == eur("1.01")
    assert a_line(quantity=D(3), unit_price=D("333.5")).total("JPY") == Money.of(1001, "JPY")
    assert a_line(quantity=D(1), unit_price=D("1.0005")).total("KWD") == Money.of("1.00", "KWD")


def test_fractional_quantities_are_allowed() -> None:
    assert a_line(quantity=D("1.5"), unit_price=D(80)).total("EUR") == eur("120.00")


# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": D(0)}, "quantity"),
        ({"quantity": D(-1)}, "quantity"),
        ({"unit_price": D("-0.01")}, "unit_price"),
        ({"discount": D("100.01")}, "discount"),
        ({"discount": D(-1)}, "discount"),
        ({"discount": D("110.01"), "discount_kind": DiscountKind.AMOUNT}, "discount"),
        ({"tax_rate": D(-1)}, "tax_rate"),
        ({"tax_rate": D("100.5")}, "tax_rate"),
        ({"description": "x" * 4001}, "description"),
        ({"quantity": 1.5}, "quantity"),
        ({"unit_price": 22.0}, "unit_price"),
        ({"quantity": D("NaN")}, "quantity"),
        ({"tax_method": "sometimes"}, "tax_method"),
        ({"discount_kind": "fraction"}, "discount_kind"),
        ({"item_ref": "x" * 65}, "item_ref"),
    ],
)
def test_invalid_line_values_are_rejected(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        a_line(**overrides)
    assert [v.field for v in err.value.violations] == [field]
    assert err.value.violations[0].description


def test_an_amount_discount_equal_to_the_line_amount_is_allowed() -> None:
    line = a_line(discount=D(110), discount_kind=DiscountKind.AMOUNT)
    assert line.total("EUR") == Money.zero("EUR")


def test_a_description_of_4000_characters_is_allowed() -> None:
    assert len(a_line(description="x" * 4000).description) == 4000


def test_ints_are_accepted_and_stored_as_decimals() -> None:
    line = a_line(quantity=2, unit_price=3, tax_rate=20)
    assert isinstance(line.quantity, Decimal)
    assert isinstance(line.unit_price, Decimal)
    assert isinstance(line.tax_rate, Decimal)


def test_enum_values_given_as_text_are_accepted() -> None:
    line = a_line(discount_kind="amount", tax_method="exclusive")
    assert line.discount_kind is DiscountKind.AMOUNT
    assert line.tax_method is TaxMethod.EXCLUSIVE


def test_blank_references_count_as_absent() -> None:
    assert a_line(item_ref=" ", tax_code_ref="").item_ref is None


def test_every_line_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidValueError) as err:
        a_line(quantity=D(0), unit_price=D(-1), tax_rate=D(200))
    assert [v.field for v in err.value.violations] == ["quantity", "unit_price", "tax_rate"]


def gbp(amount: str) -> Money:
    return Money.of(amount, "GBP")


def test_the_tax_is_charged_after_a_discount_line_as_quickbooks_charges_it() -> None:
    lines = [
        a_line(quantity=D(1), unit_price=D(100), tax_rate=D(20), tax_method=TaxMethod.EXCLUSIVE),
        InvoiceLine.discount_line("Loyalty", D(10)),
    ]
    totals = totals_of(lines, "GBP")
    # 20 % of 100 - 10, not of 100: the tax line QuickBooks prints is 18.00 on 90.00.
    assert (totals.discount, totals.tax, totals.total) == (
        gbp("10.00"),
        gbp("18.00"),
        gbp("108.00"),
    )


def test_a_discount_line_comes_off_every_line_in_proportion_untaxed_ones_too() -> None:
    lines = [
        a_line(quantity=D(1), unit_price=D(100), tax_rate=D(20), tax_method=TaxMethod.EXCLUSIVE),
        a_line(quantity=D(1), unit_price=D(100)),
        InvoiceLine.discount_line("Loyalty", D(50)),
    ]
    totals = totals_of(lines, "GBP")
    # QuickBooks' ratio (200 - 50) / 200 leaves 75.00 of the taxed line: 15.00 tax.
    assert (totals.tax, totals.total) == (gbp("15.00"), gbp("165.00"))


def test_a_discount_line_shrinks_the_tax_an_inclusive_price_contains_in_the_same_ratio() -> None:
    lines = [
        a_line(quantity=D(1), unit_price=D(120), tax_rate=D(20), tax_method=TaxMethod.INCLUSIVE),
        InvoiceLine.discount_line("Loyalty", D(10)),
    ]
    totals = totals_of(lines, "GBP")
    # 100.00 before tax, less 10, plus 20 % (the emulator's reading of QuickBooks, see totals_of)
    assert (totals.tax, totals.total) == (gbp("18.00"), gbp("108.00"))


def test_without_discount_lines_the_totals_are_the_lines_own() -> None:
    lines = [
        a_line(
            quantity=D(3), unit_price=D("33.33"), tax_rate=D(20), tax_method=TaxMethod.EXCLUSIVE
        ),
        a_line(quantity=D(7), unit_price=D("3.33"), tax_rate=D(5), tax_method=TaxMethod.INCLUSIVE),
    ]
    totals = totals_of(lines, "GBP")
    assert totals.tax == Money.sum_of((line.tax("GBP") for line in lines), "GBP")
    assert totals.total == Money.sum_of((line.total("GBP") for line in lines), "GBP")


def _coded(price: str, *parts: tuple[str, str], method: str = "exclusive") -> InvoiceLine:
    """One unit at ``price``, taxed at the rates ``parts`` (rate id, percent) of its code."""
    tax_parts = tuple(TaxPart(rate_id, D(percent)) for rate_id, percent in parts)
    return a_line(
        quantity=D(1),
        unit_price=D(price),
        tax_rate=sum((part.percent for part in tax_parts), D(0)),
        tax_method=method,
        tax_parts=tax_parts,
    )


def test_each_rate_is_rounded_once_on_the_sum_it_taxes_as_quickbooks_rounds_it() -> None:
    # California 7.25 % + San Mateo 1 % on 10.25 + 10.25: 1.48625 -> 1.49 and 0.205 -> 0.21.
    california = _coded("10.25", ("1", "7.25"), ("2", "1"))
    # A second code sharing the state rate: its base joins the state's.
    state_only = _coded("4.00", ("1", "7.25"))

    assert totals_of([california, california], "USD").tax == Money.of("1.70", "USD")
    assert totals_of([california, state_only], "USD").tax == Money.of("1.13", "USD")
    # Per line, 8.25 % of 10.25 is 0.85: the rates rounded one by one make it 0.74 + 0.10.
    assert totals_of([california], "USD").tax == Money.of("0.84", "USD")
    assert california.tax("USD") == Money.of("0.85", "USD")


def test_the_rates_tax_what_the_discount_lines_leave() -> None:
    # 3 x 10.03 at 20 % less 0.15: 20 % of 29.94 is 5.99, where per line 2.006 x 29.94 /
    # 30.09 rounds to 2.00, three times 6.00.
    line = _coded("10.03", ("1", "20"))
    lines = [line, line, line, InvoiceLine.discount_line("Loyalty", D("0.15"))]

    assert totals_of(lines, "GBP").tax == gbp("5.99")
    assert totals_of([line, line, line], "GBP").tax == gbp("6.02")


def test_a_half_cent_taxed_after_a_discount_is_rounded_up_exactly() -> None:
    # 10.06 at 20 % and 10.06 untaxed, less 18.37: 10.06 x 1.75 / 20.12 = 0.875 is taxed, 0.88
    # to the cent, 0.176 -> 0.18 of tax. Through the ratio 1.75 / 20.12 rounded to 28 digits
    # first it would be 0.8749...9 -> 0.87 and 0.17.
    taxed = _coded("10.06", ("1", "20"))
    lines = [taxed, a_line(quantity=D(1), unit_price=D("10.06"))]

    discounted = [*lines, InvoiceLine.discount_line("Loyalty", D("18.37"))]

    assert totals_of(discounted, "GBP").tax == gbp("0.18")


def test_each_rate_taxes_its_amount_taxed_to_the_cent() -> None:
    # 10.00 taxable and 10.00 not, less 0.01: 9.995 taxable is 10.00 to the cent, as
    # QuickBooks' tax line shows it, taxed 0.73 + 0.10 (9.995 itself would be 0.72 + 0.10).
    california = _coded("10.00", ("1", "7.25"), ("2", "1"))
    lines = [california, a_line(quantity=D(1), unit_price=D(10))]

    discounted = [*lines, InvoiceLine.discount_line("Loyalty", D("0.01"))]

    assert totals_of(discounted, "USD").tax == Money.of("0.83", "USD")


def test_a_line_without_rates_is_rounded_on_its_own() -> None:
    untold = a_line(
        quantity=D(1), unit_price=D("10.03"), tax_rate=D(20), tax_method=TaxMethod.EXCLUSIVE
    )

    assert totals_of([untold] * 3, "GBP").tax == gbp("6.03")


def test_a_price_including_tax_is_taxed_on_its_amount_before_tax_as_quickbooks_taxes_it() -> None:
    # 12.04 including 20 % is 10.03 before tax (and contains 2.01); QuickBooks taxes the three
    # 10.03 it is sent at 20 % once: 6.02, a total 0.01 under the prices' 36.12.
    inclusive = _coded("12.04", ("1", "20"), method="inclusive")

    totals = totals_of([inclusive] * 3, "GBP")

    assert inclusive.tax("GBP") == gbp("2.01")
    assert (totals.tax, totals.total) == (gbp("6.02"), gbp("36.11"))


def test_rates_that_do_not_add_up_to_the_lines_rate_are_a_bug() -> None:
    with pytest.raises(ValueError, match="do not add up"):
        a_line(tax_rate=D(20), tax_method=TaxMethod.EXCLUSIVE, tax_parts=(TaxPart("1", D(5)),))


def kwd(amount: str) -> Money:
    return Money.of(amount, "KWD")


def test_a_three_decimal_currency_line_is_rounded_to_the_two_places_quickbooks_keeps() -> None:
    # ISO 4217 gives KWD 3 decimals; QuickBooks records 2, so the preview rounds to 2 too.
    line = a_line(quantity=D(3), unit_price=D("1.0005"))
    assert line.gross("KWD") == kwd("3.00")  # 3.0015, not 3.002
    assert line.total("KWD").to_decimal_string() == "3.00"
    discounted = a_line(
        quantity=D(1),
        unit_price=D("10.005"),
        discount=D("0.125"),
        discount_kind=DiscountKind.AMOUNT,
    )
    assert (discounted.gross("KWD"), discounted.discount_amount("KWD")) == (
        kwd("10.01"),
        kwd("0.13"),
    )
    assert discounted.net("KWD") == kwd("9.88")


def test_a_three_decimal_currency_invoices_totals_and_tax_are_to_two_places() -> None:
    lines = [
        a_line(
            quantity=D(3), unit_price=D("1.0005"), tax_rate=D(5), tax_method=TaxMethod.EXCLUSIVE
        ),
        a_line(quantity=D(1), unit_price=D("2.345"), tax_rate=D(5), tax_method=TaxMethod.INCLUSIVE),
        InvoiceLine.discount_line("Loyalty", D("0.125")),
    ]
    totals = totals_of(lines, "KWD")
    for amount in (totals.subtotal, totals.discount, totals.tax, totals.total, totals.balance):
        assert -amount.amount.as_tuple().exponent <= 2, amount  # type: ignore[operator]
    # 3.00 + 2.35 incl. 5 % (2.24 before tax) = 5.24 before tax, less 0.13: 5.11, tax 0.26.
    assert (totals.subtotal, totals.discount) == (kwd("5.35"), kwd("0.13"))
    assert (totals.tax, totals.total) == (kwd("0.26"), kwd("5.37"))


def test_build_lines_reports_problems_with_their_line_paths() -> None:
    with pytest.raises(InvalidValueError) as err:
        build_lines(
            [
                {"description": "ok", "quantity": D(1), "unit_price": D(1)},
                {"description": "bad", "quantity": D(0), "unit_price": D(1)},
                {"description": "worse", "quantity": D(1), "unit_price": D(1), "tax_rate": D(-1)},
            ]
        )
    assert [v.field for v in err.value.violations] == ["lines[1].quantity", "lines[2].tax_rate"]


def test_build_lines_builds_valid_rows() -> None:
    lines = build_lines([{"description": "a", "quantity": D(1), "unit_price": D(2)}])
    assert lines == (InvoiceLine("a", D(1), D(2)),)


# -- discount lines --------------------------------------------------------------------------


def test_a_discount_line_takes_its_amount_off() -> None:
    line = InvoiceLine.discount_line("Loyalty discount", D(10))
    assert line.kind is LineKind.DISCOUNT
    assert line.is_discount
    assert line.total("EUR") == eur("-10.00")
    assert line.tax("EUR") == Money.zero("EUR")


def test_a_discount_line_ignores_the_sign_of_its_amount() -> None:
    assert InvoiceLine.discount_line("d", D(-10)) == InvoiceLine.discount_line("d", 10)


def test_a_discount_line_of_zero_is_rejected() -> None:
    with pytest.raises(InvalidValueError):
        InvoiceLine.discount_line("d", D(0))


def test_a_discount_line_cannot_be_built_with_a_quantity_or_tax() -> None:
    with pytest.raises(InvalidValueError) as err:
        InvoiceLine(
            "d", D(2), D(5), tax_rate=D(10), tax_method=TaxMethod.EXCLUSIVE, kind=LineKind.DISCOUNT
        )
    assert [v.field for v in err.value.violations] == ["quantity", "unit_price", "tax_rate"]


# -- properties ------------------------------------------------------------------------------

quantities = st.decimals(min_value=D("0.01"), max_value=D(10_000), places=2)
prices = st.decimals(min_value=D(0), max_value=D(100_000), places=4)
percentages = st.decimals(min_value=D(0), max_value=D(100), places=2)
currencies = st.sampled_from(["EUR", "JPY", "KWD"])


@given(quantities, prices, percentages, percentages, st.sampled_from(list(TaxMethod)), currencies)
def test_line_amounts_always_add_up(
    quantity: Decimal,
    price: Decimal,
    discount: Decimal,
    tax_rate: Decimal,
    method: TaxMethod,
    currency: str,
) -> None:
    line = a_line(
        quantity=quantity,
        unit_price=price,
        discount=discount,
        tax_rate=tax_rate,
        tax_method=method,
    )
    gross, net, tax = line.gross(currency), line.net(currency), line.tax(currency)
    assert line.discount_amount(currency) + net == gross
    assert Money.zero(currency) <= net <= gross
    assert not tax.is_negative()
    assert line.net_excluding_tax(currency) + tax == line.total(currency)
    if method is TaxMethod.EXCLUSIVE:
        assert line.total(currency) == net + tax
    else:
        assert line.total(currency) == net
    for amount in (gross, net, tax, line.total(currency)):
        assert amount.rounded() == amount


def test_a_restored_line_equals_the_checked_line_it_was_stored_from() -> None:
    line = a_line(
        quantity="5",
        unit_price="22",
        discount="0.2",
        tax_rate="10",
        tax_method="exclusive",
        tax_parts=(TaxPart("7", D("2.5")), TaxPart("8", D("7.5"))),
    )

    restored = InvoiceLine.restore(
        name=line.name,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        discount_kind=line.discount_kind,
        tax_rate=line.tax_rate,
        tax_method=line.tax_method,
        item_ref=line.item_ref,
        tax_code_ref=line.tax_code_ref,
        kind=line.kind,
        tax_parts=line.tax_parts,
    )

    assert restored == line
    assert restored.amounts("USD") == line.amounts("USD")
