"""Money: a ``Decimal`` amount in an ISO 4217 currency; arithmetic refuses mixed currencies."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from domain.errors import CurrencyMismatchError, FieldViolation, InvalidValueError
from domain.messages import MessageCode

# Active ISO 4217 codes (list one, 2024/2025) with their minor units, plus a few recently
# withdrawn codes that CRM and accounting systems still carry on old records (HRK, SLL, ...).
# Codes with no minor unit defined ("N.A.": precious metals, XDR, testing codes) are not money
# an invoice can be written in, so they are left out. Amounts are not rounded to these digits
# but to :data:`QUICKBOOKS_PLACES` at most (see :func:`minor_units`).
_ISO_MINOR_UNITS: Final[dict[str, int]] = {
    "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2,
    "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2,
    "BOB": 2, "BOV": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2,
    "CDF": 2, "CHE": 2, "CHF": 2, "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2,
    "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2,
    "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2,
    "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HRK": 2, "HTG": 2,
    "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3,
    "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2,
    "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2,
    "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2,
    "MXN": 2, "MXV": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
    "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0,
    "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2,
    "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SLL": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2,
    "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2,
    "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "USN": 2, "UYI": 0, "UYU": 2,
    "UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2,
    "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2, "ZWL": 2,
}  # fmt: skip

# [O] QuickBooks Online keeps line amounts, tax, subtotals and totals to 2 decimal places, in
# every currency (Breadwinner's help, "Can Breadwinner handle 7 decimal places?":
# https://help.breadwinner.com/support/solutions/articles/44001664304); our QuickBooks reference
# is silent on it. So a KWD invoice previewed at 1.234 would be recorded as 1.23: invoices are
# computed to min(ISO minor units, 2) places instead, and the preview is what QuickBooks records.
QUICKBOOKS_PLACES: Final = 2
_PLACES: Final[dict[str, int]] = {
    code: min(units, QUICKBOOKS_PLACES) for code, units in _ISO_MINOR_UNITS.items()
}

# Digits a number read from input, and any amount, may have before the decimal point. Amounts
# are stored as NUMERIC(20, 6), which holds 14 (the 6 after it are more than any currency's
# minor units, to which stored amounts are rounded): so any Money can be stored, whatever sum or
# product made it. No quantity, price or rate needs more either, and the product of two such
# numbers has at most 28 digits, exact in Decimal's default context, where 1e999999 x 10 would
# overflow it (decimal.Overflow).
MAX_INTEGER_DIGITS: Final = 14
_MAX_ABS: Final = Decimal(10) ** MAX_INTEGER_DIGITS


def is_known_currency(code: object) -> bool:
    """True for an upper-case ISO 4217 code this service can invoice in."""
    return isinstance(code, str) and code in _PLACES


def known_currencies() -> frozenset[str]:
    """Every currency code :class:`Money` accepts."""
    return frozenset(_PLACES)


def minor_units(currency: str) -> int:
    """Digits after the decimal point of ``currency``'s amounts on an invoice: its ISO 4217 minor
    units, but at most the 2 places QuickBooks keeps (2 for EUR, 0 for JPY, 2 for KWD, whose ISO
    minor units are 3). Every amount is rounded to them, and an amount given more precisely
    (a deposit, a share of a deal) is refused."""
    try:
        return _PLACES[currency]
    except KeyError:
        raise InvalidValueError.of(
            "currency", MessageCode.UNKNOWN_CURRENCY, value=str(currency)[:40]
        ) from None


def currency_violation(currency: object, field: str = "currency") -> FieldViolation | None:
    """Why ``currency`` is not acceptable for ``field``, or None when it is."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        return FieldViolation(field, MessageCode.CURRENCY_FORMAT)
    if currency != currency.upper():
        return FieldViolation(field, MessageCode.CURRENCY_NOT_UPPERCASE)
    if currency not in _PLACES:
        return FieldViolation.of(field, MessageCode.UNKNOWN_CURRENCY, value=currency)
    return None


def to_decimal(value: object, field: str) -> Decimal:
    """``value`` as a finite Decimal of at most :data:`MAX_INTEGER_DIGITS` digits before the
    point; ints are accepted, floats and bools are refused."""
    number = _finite_decimal(value, field)
    if number.copy_abs() >= _MAX_ABS:  # copy_abs: no context, so no Overflow either
        raise InvalidValueError.of(field, MessageCode.NUMBER_TOO_LARGE, max=MAX_INTEGER_DIGITS)
    return number


def _finite_decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValueError.of(field, MessageCode.NUMBER_NOT_BOOLEAN)
    if isinstance(value, float):
        raise InvalidValueError.of(field, MessageCode.NUMBER_NOT_FLOAT)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        text = value
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise InvalidValueError.of(field, MessageCode.NOT_A_NUMBER, value=text[:40]) from None
    if not isinstance(value, Decimal):
        raise InvalidValueError.of(field, MessageCode.NOT_A_DECIMAL)
    if not value.is_finite():
        raise InvalidValueError.of(field, MessageCode.NOT_FINITE)
    return value


_QUANTA: Final[dict[str, Decimal]] = {
    code: Decimal(1).scaleb(-units) for code, units in _PLACES.items()
}


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. Compare and add only amounts of the same currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        # The usual case first: Money is built for every amount of every invoice read.
        amount, currency = self.amount, self.currency
        if (
            type(amount) is Decimal
            and type(currency) is str
            and currency in _PLACES
            and amount.is_finite()
            and -_MAX_ABS < amount < _MAX_ABS
        ):
            return
        problem = currency_violation(self.currency)
        if problem is not None:
            raise InvalidValueError(problem)
        if isinstance(self.amount, str):
            raise InvalidValueError.of("amount", MessageCode.AMOUNT_AS_TEXT)
        amount = _finite_decimal(self.amount, "amount")
        if amount.copy_abs() >= _MAX_ABS:
            raise InvalidValueError.of("amount", MessageCode.AMOUNT_TOO_LARGE)
        object.__setattr__(self, "amount", amount)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str) -> Money:
        """Money from a decimal string ("109.78"), a Decimal or an int; never a float."""
        return cls(_finite_decimal(amount, "amount"), currency)

    @classmethod
    def sum_of(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of ``amounts`` (zero when empty); every amount must be in ``currency``."""
        return sum(amounts, cls.zero(currency))

    # -- queries -------------------------------------------------------------------------------

    def rounded(self) -> Money:
        """Rounded half-up (away from zero on a tie) to the currency's :func:`minor_units`."""
        return Money(self._rounded_amount(), self.currency)

    def _rounded_amount(self) -> Decimal:
        quantized = self.amount.quantize(_QUANTA[self.currency], rounding=ROUND_HALF_UP)
        return abs(quantized) if quantized.is_zero() else quantized

    def is_zero(self) -> bool:
        return self.amount.is_zero()

    def is_negative(self) -> bool:
        return self.amount < 0

    def is_positive(self) -> bool:
        return self.amount > 0

    def to_decimal_string(self) -> str:
        """The amount rounded to :func:`minor_units` as a plain string: "109.78", "1000" for JPY."""
        return format(self._rounded_amount(), "f")

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"

    # -- arithmetic ----------------------------------------------------------------------------

    def _same_currency(self, other: object, verb: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot {verb} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                FieldViolation.of(
                    "currency",
                    MessageCode.MIXED_CURRENCIES,
                    operation=verb,
                    left=self.currency,
                    right=other.currency,
                ),
                metadata={"left": self.currency, "right": other.currency},
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other, "add").amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other, "subtract").amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, Money):
            raise TypeError("Cannot multiply Money by Money")
        return Money(self.amount * to_decimal(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other, "compare").amount
