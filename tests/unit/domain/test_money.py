from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatchError, DomainReason, FieldViolation, InvalidValueError
from domain.messages import MessageCode
from domain.money import Money, is_known_currency, known_currencies, minor_units, to_decimal

amounts = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4, allow_nan=False
)
currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD", "CLF", "ISK"])


def money_in(currency: str) -> st.SearchStrategy[Money]:
    return amounts.map(lambda amount: Money(amount, currency))


# -- currencies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("USD", 2), ("EUR", 2), ("GBP", 2), ("CAD", 2), ("AUD", 2), ("NZD", 2), ("CHF", 2),
        ("SEK", 2), ("NOK", 2), ("DKK", 2), ("PLN", 2), ("CZK", 2), ("HUF", 2), ("INR", 2),
        ("ZAR", 2), ("BRL", 2), ("MXN", 2), ("SGD", 2), ("HKD", 2), ("CNY", 2), ("AED", 2),
        ("SAR", 2), ("ILS", 2), ("TRY", 2), ("RON", 2), ("BGN", 2),
        ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("XOF", 0), ("UGX", 0),
        # ISO 4217 says 3 (and 4 for the CLF and UYW units of account); QuickBooks keeps 2.
        ("KWD", 2), ("BHD", 2), ("OMR", 2), ("JOD", 2), ("TND", 2), ("IQD", 2), ("LYD", 2),
        ("CLF", 2), ("UYW", 2),
    ],
)  # fmt: skip
def test_minor_units_follow_iso_4217_up_to_the_two_places_quickbooks_keeps(
    currency: str, digits: int
) -> None:
    assert minor_units(currency) == digits
    assert is_known_currency(currency)


def test_no_currency_has_more_places_than_quickbooks_keeps() -> None:
    assert {minor_units(code) for code in known_currencies()} == {0, 2}


@pytest.mark.parametrize("currency", ["KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD"])
def test_a_three_decimal_currency_is_rounded_to_two_places_as_quickbooks_records_it(
    currency: str,
) -> None:
    assert Money.of("1.234", currency).rounded() == Money.of("1.23", currency)
    assert Money.of("1.235", currency).to_decimal_string() == "1.24"
    assert Money.of("-1.235", currency).to_decimal_string() == "-1.24"
    assert str(Money.of("1000", currency)) == f"1000.00 {currency}"


def test_the_table_covers_the_active_iso_list() -> None:
    assert len(known_currencies()) >= 150
    assert all(len(code) == 3 and code.isupper() for code in known_currencies())


@pytest.mark.parametrize("code", ["eur", "EURO", "XAU", "ABC", "", 978])
def test_unknown_or_badly_written_codes_are_not_known_currencies(code: object) -> None:
    assert not is_known_currency(code)


def test_minor_units_of_an_unknown_currency_is_an_invalid_currency() -> None:
    with pytest.raises(InvalidValueError) as err:
        minor_units("ABC")
    assert err.value.violations[0].field == "currency"


# -- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["eur", "EU", "EURO", "ABC", "", "€"])
def test_money_rejects_a_currency_that_is_not_an_upper_case_known_code(currency: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        Money(Decimal(1), currency)
    assert err.value.violations[0].field == "currency"
    assert err.value.violations[0].description


def test_money_rejects_floats() -> None:
    with pytest.raises(InvalidValueError) as err:
        Money(0.1, "EUR")  # type: ignore[arg-type]
    assert err.value.violations[0].field == "amount"
    assert "floating-point" in err.value.message


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_money_rejects_amounts_that_are_not_finite(amount: str) -> None:
    with pytest.raises(InvalidValueError):
        Money(Decimal(amount), "EUR")


def test_money_rejects_booleans_and_text_passed_as_amount() -> None:
    with pytest.raises(InvalidValueError):
        Money(True, "EUR")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        Money("1.00", "EUR")  # type: ignore[arg-type]


def test_money_accepts_an_int_and_stores_a_decimal() -> None:
    money = Money(12, "EUR")  # type: ignore[arg-type]
    assert isinstance(money.amount, Decimal)
    assert money == Money.of("12.00", "EUR")


def test_money_of_parses_strings_decimals_and_ints() -> None:
    assert Money.of("109.78", "EUR").amount == Decimal("109.78")
    assert Money.of(Decimal("1.5"), "USD").amount == Decimal("1.5")
    assert Money.of(7, "JPY").amount == Decimal(7)


def test_money_of_rejects_text_that_is_not_a_number() -> None:
    with pytest.raises(InvalidValueError) as err:
        Money.of("twelve", "EUR")
    assert err.value.violations[0].field == "amount"


def test_absurdly_large_amounts_are_rejected() -> None:
    with pytest.raises(InvalidValueError):
        Money.of("1e30", "EUR")


@pytest.mark.parametrize("text", ["1e999999", "-1e999999", "100000000000000", "1E+14"])
def test_a_number_with_more_than_14_digits_before_the_point_is_refused(text: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        to_decimal(text, "quantity")
    assert err.value.violations == (
        FieldViolation.of("quantity", MessageCode.NUMBER_TOO_LARGE, max=14),
    )


@pytest.mark.parametrize("text", ["99999999999999.999999", "-99999999999999", "1e-999999"])
def test_a_number_with_at_most_14_digits_before_the_point_is_read(text: str) -> None:
    assert to_decimal(text, "quantity") == Decimal(text)


def test_zero_is_zero_in_its_currency() -> None:
    assert Money.zero("JPY").is_zero()
    assert Money.zero("JPY").currency == "JPY"


# -- arithmetic and comparison ---------------------------------------------------------------


def test_adding_subtracting_and_negating_keep_the_currency() -> None:
    a, b = Money.of("10.50", "EUR"), Money.of("0.25", "EUR")
    assert a + b == Money.of("10.75", "EUR")
    assert a - b == Money.of("10.25", "EUR")
    assert -a == Money.of("-10.50", "EUR")
    assert (-a).is_negative()


def test_multiplying_by_a_decimal_or_an_int_works_from_either_side() -> None:
    price = Money.of("22", "EUR")
    assert price * 5 == Money.of("110", "EUR")
    assert Decimal("0.5") * price == Money.of("11", "EUR")


def test_multiplying_by_a_float_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        Money.of("1", "EUR") * 1.5  # type: ignore[operator]


def test_comparisons_order_amounts_of_one_currency() -> None:
    small, big = Money.of("1", "EUR"), Money.of("2", "EUR")
    assert small < big
    assert small <= big
    assert big > small
    assert big >= small
    assert small <= Money.of("1.000", "EUR")


def test_equal_amounts_written_with_different_precision_are_equal_and_hash_alike() -> None:
    assert Money.of("1.5", "EUR") == Money.of("1.50", "EUR")
    assert hash(Money.of("1.5", "EUR")) == hash(Money.of("1.50", "EUR"))


def test_same_amount_in_different_currencies_is_not_equal() -> None:
    assert Money.of("1", "EUR") != Money.of("1", "USD")


def test_mismatch_error_names_both_currencies() -> None:
    with pytest.raises(CurrencyMismatchError) as err:
        Money.of("1", "EUR") + Money.of("1", "USD")
    assert "EUR" in err.value.message
    assert "USD" in err.value.message
    assert err.value.reason == DomainReason.CURRENCY_MISMATCH


def test_sum_of_adds_amounts_and_starts_from_zero() -> None:
    assert Money.sum_of([], "EUR") == Money.zero("EUR")
    assert Money.sum_of([Money.of("1.10", "EUR"), Money.of("2", "EUR")], "EUR") == Money.of(
        "3.10", "EUR"
    )


# -- rounding and rendering ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("109.775", "EUR", "109.78"),
        ("109.774", "EUR", "109.77"),
        ("-0.005", "EUR", "-0.01"),
        ("0.5", "JPY", "1"),
        ("1000.4", "JPY", "1000"),
        ("1.2345", "KWD", "1.23"),
        ("0.001", "EUR", "0.00"),
        ("-0.001", "EUR", "0.00"),
    ],
)
def test_rounding_is_half_up_to_the_currency_minor_units(
    amount: str, currency: str, expected: str
) -> None:
    assert Money.of(amount, currency).to_decimal_string() == expected


def test_to_decimal_string_is_plain_without_exponent() -> None:
    assert Money.of("1E+3", "JPY").to_decimal_string() == "1000"
    assert Money.of("1E+3", "EUR").to_decimal_string() == "1000.00"


def test_str_shows_rounded_amount_and_code() -> None:
    assert str(Money.of("109.78", "EUR")) == "109.78 EUR"
    assert str(Money.of("1000", "JPY")) == "1000 JPY"


# -- properties ------------------------------------------------------------------------------


@given(st.data(), currencies)
def test_addition_is_associative_and_commutative(data: st.DataObject, currency: str) -> None:
    a, b, c = (data.draw(money_in(currency)) for _ in range(3))
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a


@given(st.data(), currencies)
def test_subtracting_undoes_adding(data: st.DataObject, currency: str) -> None:
    a, b = data.draw(money_in(currency)), data.draw(money_in(currency))
    assert (a + b) - b == a
    assert a + (-a) == Money.zero(currency)


@given(st.data(), currencies)
def test_rounding_is_idempotent(data: st.DataObject, currency: str) -> None:
    money = data.draw(money_in(currency))
    assert money.rounded().rounded() == money.rounded()


@given(st.data(), currencies)
def test_rounding_moves_an_amount_by_at_most_half_a_minor_unit(
    data: st.DataObject, currency: str
) -> None:
    money = data.draw(money_in(currency))
    half_unit = Decimal(1).scaleb(-minor_units(currency)) / 2
    assert abs(money.rounded().amount - money.amount) <= half_unit
    assert -money.rounded().amount.as_tuple().exponent <= minor_units(currency)  # type: ignore[operator]


@given(amounts, amounts, st.sampled_from(["EUR", "JPY"]), st.sampled_from(["USD", "KWD"]))
def test_mixing_currencies_always_raises(
    left: Decimal, right: Decimal, one: str, other: str
) -> None:
    a, b = Money(left, one), Money(right, other)
    for operation in (
        lambda: a + b,
        lambda: a - b,
        lambda: a < b,
        lambda: a <= b,
        lambda: a > b,
        lambda: a >= b,
    ):
        with pytest.raises(CurrencyMismatchError):
            operation()
