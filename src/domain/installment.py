"""Invoicing a share of a deal: a percentage, an amount or the rest of it, exactly.

The rounding rule, one and explicit (the property tests in tests/unit/domain/test_installment.py
hold it):

1. **The share's amount first.** A percentage ``p`` of the deal's amount ``D`` (its lines before
   tax) is ``D x p / 100`` rounded half-up to the currency's places (``minor_units()``: ISO's, at
   most 2, as QuickBooks keeps); an amount is itself; the rest is ``D`` less what the deal's
   invoices already ask for. In a schedule every installment but the last is its percentage so
   rounded and **the last takes the remainder**, so the installments add up to ``D`` exactly,
   never a cent more or less.
2. **Then the lines.** Each line's amount before tax ``d_i`` is scaled to ``d_i x S / D`` and
   rounded half-up; the cents the rounding lost or gained go to the largest item line, so the
   share's lines add up to ``S`` exactly. A scaled line is quantity 1 at that amount with no
   discount of its own (the discount is in the amount), the same item, tax code, rate and method.
   An INCLUSIVE line's price is its amount plus the tax, rounded half-up: its amount before tax,
   as :class:`InvoiceLine` extracts it, is again exactly the scaled amount (the rounding error of
   the price, at most half a minor unit, is divided by 1 + rate before it is rounded again).

The scaled lines are ordinary lines: their tax is the lines' own (QuickBooks records what the
preview shows, as for any line); only amounts before tax are shared exactly, since they are what
a deal's remaining-to-invoice counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.invoice_line import DESCRIPTION_MAX, InvoiceLine, TaxMethod
from domain.messages import MessageCode
from domain.money import Money, minor_units, to_decimal

_HUNDRED: Final = Decimal(100)
# A schedule's installments: enough for monthly payments over years, few enough to read.
INSTALLMENTS_MAX: Final = 60


class ShareKind(StrEnum):
    PERCENTAGE = "percentage"
    """``value`` percent of the deal's amount before tax."""
    AMOUNT = "amount"
    """``value`` in the invoice's currency, before tax."""
    REST = "rest"
    """What the deal's invoices do not ask for yet (``value`` is not used)."""


@dataclass(frozen=True, slots=True)
class DealShare:
    """The part of a deal one invoice asks for."""

    kind: ShareKind
    value: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        try:
            kind = ShareKind(self.kind)
        except ValueError:
            raise InvalidValueError.of(
                "share.kind",
                MessageCode.CHOOSE_ONE_OF,
                choices=", ".join(k.value for k in ShareKind),
            ) from None
        object.__setattr__(self, "kind", kind)
        if kind is ShareKind.REST:
            object.__setattr__(self, "value", Decimal(0))
            return
        value = to_decimal(self.value, "share.value")
        object.__setattr__(self, "value", value)
        if value <= 0:
            raise InvalidValueError.of("share.value", MessageCode.MUST_BE_POSITIVE)
        if kind is ShareKind.PERCENTAGE and value > _HUNDRED:
            raise InvalidValueError.of("share.value", MessageCode.NOT_A_PERCENTAGE)

    @classmethod
    def percentage(cls, value: Decimal | int | str) -> DealShare:
        return cls(ShareKind.PERCENTAGE, to_decimal(value, "share.value"))

    @classmethod
    def amount(cls, value: Decimal | int | str) -> DealShare:
        return cls(ShareKind.AMOUNT, to_decimal(value, "share.value"))

    @classmethod
    def rest(cls) -> DealShare:
        return cls(ShareKind.REST)

    def amount_of(self, whole: Money, invoiced: Money) -> Money:
        """This share of a deal whose lines ask for ``whole`` before tax, of which ``invoiced``
        is invoiced already. Refused when nothing is left, or when the amount is more than
        what is left (a percentage may be: a warning says the deal is then over-invoiced)."""
        left = whole - invoiced
        match self.kind:
            case ShareKind.PERCENTAGE:
                share = percent_of(whole, self.value)
            case ShareKind.AMOUNT:
                share = Money(self.value, whole.currency)
                if share != share.rounded():
                    raise InvalidValueError.of(
                        "share.value",
                        MessageCode.TOO_PRECISE_FOR_CURRENCY,
                        value=format(self.value, "f"),
                        currency=whole.currency,
                        places=minor_units(whole.currency),
                    )
                if share > left:
                    raise InvalidValueError.of(
                        "share.value", MessageCode.SHARE_OVER_REST, rest=str(left.rounded())
                    )
            case ShareKind.REST:
                share = left
        if not left.is_positive():
            raise InvalidValueError.of(
                "share", MessageCode.NOTHING_LEFT_TO_INVOICE, value=str(whole.rounded())
            )
        if not share.is_positive():  # a percentage of a few cents, rounded to nothing
            raise InvalidValueError.of("share.value", MessageCode.SHARE_TOO_SMALL, value=str(share))
        return share


def percent_of(whole: Money, percentage: Decimal) -> Money:
    """``percentage`` % of ``whole``, rounded half-up to the currency's places (``minor_units``)."""
    return Money(whole.amount * percentage / _HUNDRED, whole.currency).rounded()


def schedule_amounts(whole: Money, percentages: Sequence[Decimal]) -> tuple[Money, ...]:
    """Each installment's amount: its percentage of ``whole`` rounded half-up, the last one
    the remainder, so that they add up to ``whole`` exactly. The percentages add up to 100."""
    violations: list[FieldViolation] = []
    if not 1 <= len(percentages) <= INSTALLMENTS_MAX:
        violations.append(
            FieldViolation.of("installments", MessageCode.INSTALLMENTS_COUNT, max=INSTALLMENTS_MAX)
        )
    for index, percentage in enumerate(percentages):
        if not 0 < percentage <= _HUNDRED:
            violations.append(
                FieldViolation(f"installments[{index}].percentage", MessageCode.NOT_A_PERCENTAGE)
            )
    if not violations and sum(percentages, Decimal(0)) != _HUNDRED:
        violations.append(
            FieldViolation.of(
                "installments",
                MessageCode.INSTALLMENTS_NOT_WHOLE,
                total=format(sum(percentages, Decimal(0)).normalize(), "f"),
            )
        )
    if violations:
        raise InvalidValueError.many(violations)
    amounts = [percent_of(whole, p) for p in percentages[:-1]]
    amounts.append(whole - Money.sum_of(amounts, whole.currency))
    return tuple(amounts)


def amount_before_tax(lines: Sequence[InvoiceLine], currency: str) -> Money:
    """What ``lines`` ask for before tax (discount lines take theirs off)."""
    return Money.sum_of((before_tax_of(line, currency) for line in lines), currency)


def before_tax_of(line: InvoiceLine, currency: str) -> Money:
    if line.is_discount:
        return line.net(currency)
    return line.net_excluding_tax(currency)


def share_lines(
    lines: Sequence[InvoiceLine], currency: str, share: Money, label: str
) -> tuple[InvoiceLine, ...]:
    """``lines`` scaled to ask for ``share`` before tax, exactly (rule 2 above), each saying
    which share it is: ``label`` then the line's own description (or name)."""
    whole = amount_before_tax(lines, currency)
    items = [i for i, line in enumerate(lines) if not line.is_discount]
    if not whole.is_positive() or not items:
        raise InvalidValueError.of("share", MessageCode.NOTHING_LEFT_TO_INVOICE, value=str(whole))
    amounts = [
        Money(
            before_tax_of(line, currency).amount * share.amount / whole.amount, currency
        ).rounded()
        for line in lines
    ]
    largest = max(items, key=lambda i: amounts[i].amount)  # the first of equals
    amounts[largest] = amounts[largest] + (share - Money.sum_of(amounts, currency))
    if amounts[largest].is_negative():
        # Only a share of a cent or so spread over discount lines can do this.
        raise InvalidValueError.of("share.value", MessageCode.SHARE_TOO_SMALL, value=str(share))
    step = Decimal(1).scaleb(-minor_units(currency))
    scaled: list[InvoiceLine] = []
    for line, amount in zip(lines, amounts, strict=True):
        text = _described(label, line.description or line.name)
        if line.is_discount:
            if not amount.is_zero():
                scaled.append(
                    replace(InvoiceLine.discount_line(text, amount.amount), name=line.name)
                )
            continue
        price = amount.amount
        if line.tax_method is TaxMethod.INCLUSIVE:
            price = (price * (1 + line.tax_rate / _HUNDRED)).quantize(step, ROUND_HALF_UP)
        scaled.append(
            InvoiceLine(
                description=text,
                quantity=Decimal(1),
                unit_price=price,
                tax_rate=line.tax_rate,
                tax_method=line.tax_method,
                name=line.name,
                item_ref=line.item_ref,
                tax_code_ref=line.tax_code_ref,
                tax_parts=line.tax_parts,
            )
        )
    return tuple(scaled)


def _described(label: str, own: str) -> str:
    text = f"{label} — {own}" if own else label
    return text[:DESCRIPTION_MAX]
