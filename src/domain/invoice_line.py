"""Invoice lines and their totals: Pipedrive's deal-product arithmetic per line, exact, and the
tax rounded per rate as QuickBooks rounds it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from domain.money import Money, to_decimal
from domain.validation import checked_choice, checked_text, optional_text

DESCRIPTION_MAX: Final = 4000
LINE_NAME_MAX: Final = 255
REF_MAX: Final = 64
_HUNDRED: Final = Decimal(100)


class DiscountKind(StrEnum):
    """As Pipedrive's deal-product ``discount_type``."""

    PERCENTAGE = "percentage"
    AMOUNT = "amount"
    """An amount taken off the whole line (not per unit)."""


class TaxMethod(StrEnum):
    """As Pipedrive's deal-product ``tax_method``."""

    EXCLUSIVE = "exclusive"
    """Tax is added on top of the price."""
    INCLUSIVE = "inclusive"
    """The price already includes the tax."""
    NONE = "none"
    """No tax, whatever the rate says."""


class LineKind(StrEnum):
    ITEM = "item"
    DISCOUNT = "discount"
    """A fixed amount taken off the invoice before tax: quantity 1, a negative unit price, no
    tax of its own (the item lines' tax is charged after it)."""


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency).rounded()


@dataclass(frozen=True, slots=True)
class TaxPart:
    """One of the rates a line's tax code charges (a QuickBooks TaxRate: a state's and a
    county's rate in a US group, GST and PST in a Canadian code). QuickBooks taxes each rate once
    per invoice, on the sum of the lines it applies to, and rounds that once (see
    :func:`totals_of`)."""

    rate_id: str
    percent: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice line, with Pipedrive's deal-product arithmetic.

    ``gross`` = quantity x unit price; ``net`` = gross less the discount; the tax is added to the
    net (EXCLUSIVE), extracted from it (INCLUSIVE) or ignored (NONE). Amounts are rounded
    half-up to the currency's minor units, per line. A discount line is built with
    :meth:`discount_line`: its unit price is negative, so its gross, net and total are too.
    """

    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    discount_kind: DiscountKind = DiscountKind.PERCENTAGE
    tax_rate: Decimal = Decimal(0)
    tax_method: TaxMethod = TaxMethod.NONE
    name: str = ""
    item_ref: str | None = None
    tax_code_ref: str | None = None
    kind: LineKind = LineKind.ITEM
    tax_parts: tuple[TaxPart, ...] = ()
    """The rates ``tax_rate`` is the sum of, when QuickBooks' tax code is known (set by the
    application from the code, never from input); none: the line's tax is rounded on its own."""

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []

        def number(name: str) -> Decimal | None:
            try:
                value = to_decimal(getattr(self, name), name)
            except InvalidValueError as err:
                violations.extend(err.violations)
                return None
            object.__setattr__(self, name, value)
            return value

        def text(name: str, limit: int) -> None:
            object.__setattr__(
                self, name, checked_text(getattr(self, name), name, limit, violations)
            )

        def choice(name: str, enum: type[StrEnum]) -> StrEnum | None:
            value = checked_choice(enum, getattr(self, name), name, violations)
            object.__setattr__(self, name, value)
            return value

        text("description", DESCRIPTION_MAX)
        text("name", LINE_NAME_MAX)
        for ref in ("item_ref", "tax_code_ref"):
            object.__setattr__(
                self, ref, optional_text(getattr(self, ref), ref, REF_MAX, violations)
            )
        kind = choice("kind", LineKind)
        discount_kind = choice("discount_kind", DiscountKind)
        choice("tax_method", TaxMethod)
        quantity = number("quantity")
        unit_price = number("unit_price")
        discount = number("discount")
        tax_rate = number("tax_rate")

        if quantity is not None and quantity <= 0:
            violations.append(FieldViolation("quantity", MessageCode.MUST_BE_POSITIVE))
        if kind is LineKind.DISCOUNT:
            if quantity is not None and quantity != 1:
                violations.append(FieldViolation("quantity", MessageCode.DISCOUNT_LINE_QUANTITY))
            if unit_price is not None and unit_price >= 0:
                violations.append(FieldViolation("unit_price", MessageCode.DISCOUNT_LINE_PRICE))
            if discount is not None and discount != 0:
                violations.append(FieldViolation("discount", MessageCode.DISCOUNT_LINE_DISCOUNT))
            if tax_rate is not None and tax_rate != 0:
                violations.append(FieldViolation("tax_rate", MessageCode.DISCOUNT_LINE_TAX))
        elif unit_price is not None and unit_price < 0:
            violations.append(FieldViolation("unit_price", MessageCode.NEGATIVE_PRICE))
        if discount is not None and discount < 0:
            violations.append(FieldViolation("discount", MessageCode.MUST_NOT_BE_NEGATIVE))
        elif discount is not None and discount_kind is DiscountKind.PERCENTAGE:
            if discount > _HUNDRED:
                violations.append(FieldViolation("discount", MessageCode.NOT_A_PERCENTAGE))
        elif (
            discount is not None
            and quantity is not None
            and unit_price is not None
            and discount > quantity * unit_price
        ):
            violations.append(
                FieldViolation.of(
                    "discount", MessageCode.DISCOUNT_OVER_AMOUNT, max=f"{quantity * unit_price:f}"
                )
            )
        if tax_rate is not None and not 0 <= tax_rate <= _HUNDRED:
            violations.append(FieldViolation("tax_rate", MessageCode.NOT_A_PERCENTAGE))
        if violations:
            raise InvalidValueError.many(violations)
        object.__setattr__(self, "tax_parts", tuple(self.tax_parts))
        if self.tax_parts and sum(p.percent for p in self.tax_parts) != self.tax_rate:
            # Parts come from QuickBooks' code with the rate they add up to, never from a user.
            raise ValueError(f"tax parts {self.tax_parts} do not add up to {self.tax_rate}")

    @classmethod
    def restore(
        cls,
        *,
        name: str,
        description: str,
        quantity: Decimal,
        unit_price: Decimal,
        discount: Decimal,
        discount_kind: DiscountKind,
        tax_rate: Decimal,
        tax_method: TaxMethod,
        item_ref: str | None,
        tax_code_ref: str | None,
        kind: LineKind,
        tax_parts: tuple[TaxPart, ...] = (),
    ) -> InvoiceLine:
        """A line as it was stored once it had passed the checks: nothing is checked again.
        For repositories, not for input."""
        line = object.__new__(cls)
        for field_name, value in (
            ("name", name),
            ("description", description),
            ("quantity", quantity),
            ("unit_price", unit_price),
            ("discount", discount),
            ("discount_kind", discount_kind),
            ("tax_rate", tax_rate),
            ("tax_method", tax_method),
            ("item_ref", item_ref),
            ("tax_code_ref", tax_code_ref),
            ("kind", kind),
            ("tax_parts", tax_parts),
        ):
            object.__setattr__(line, field_name, value)
        return line

    @classmethod
    def discount_line(cls, description: str, amount: Decimal | int) -> InvoiceLine:
        """A line taking ``amount`` off the invoice (its sign is ignored: 10 and -10 both take
        10 off). Deal-level discounts from Pipedrive become such lines."""
        value = to_decimal(amount, "amount")
        if value.is_zero():
            raise InvalidValueError.of("amount", MessageCode.MUST_BE_POSITIVE)
        return cls(
            description=description,
            quantity=Decimal(1),
            unit_price=-abs(value),
            kind=LineKind.DISCOUNT,
        )

    @property
    def is_discount(self) -> bool:
        return self.kind is LineKind.DISCOUNT

    def amounts(self, currency: str) -> LineAmounts:
        """Gross, net, tax and total of this line, each rounded once (see the methods below)."""
        gross_exact = self.quantity * self.unit_price
        discount = self.discount
        if self.discount_kind is DiscountKind.PERCENTAGE:
            discount = gross_exact * self.discount / _HUNDRED
        gross = _money(gross_exact, currency)
        net = _money(gross_exact - discount, currency)
        tax = _money(self._unrounded_tax(net), currency)
        total = net + tax if self.tax_method is TaxMethod.EXCLUSIVE else net
        return LineAmounts(gross=gross, net=net, tax=tax, total=total)

    def _unrounded_tax(self, net: Money) -> Decimal:
        """The tax on ``net`` before it is rounded: added to it (EXCLUSIVE), the part of it
        that is tax (INCLUSIVE: rounded already, as the price it is part of), or none."""
        match self.tax_method:
            case TaxMethod.EXCLUSIVE:
                return net.amount * self.tax_rate / _HUNDRED
            case TaxMethod.INCLUSIVE:
                untaxed = _money(net.amount / (1 + self.tax_rate / _HUNDRED), net.currency)
                return (net - untaxed).amount
            case TaxMethod.NONE:
                return Decimal(0)

    def tax_after_discounts(self, currency: str, left: Money, before: Money) -> Money:
        """This line's tax once the invoice's discount lines leave ``left`` of ``before``, the
        item lines' amount before tax: its tax x left / before, rounded once. QuickBooks takes
        a discount off every item line in that ratio before it taxes them (see
        :func:`totals_of`)."""
        if left == before:
            return self.tax(currency)
        tax = self._unrounded_tax(self.net(currency))
        return _money(tax * left.amount / before.amount, currency)

    def gross(self, currency: str) -> Money:
        """Quantity x unit price, rounded (QuickBooks' line ``Amount``)."""
        return self.amounts(currency).gross

    def net(self, currency: str) -> Money:
        """After the discount, rounded once (Pipedrive's ``sum``: 5 x 22 less 0.2% = 109.78)."""
        return self.amounts(currency).net

    def discount_amount(self, currency: str) -> Money:
        """How much the discount takes off: always gross - net, so the two add up."""
        return self.amounts(currency).discount

    def tax(self, currency: str) -> Money:
        """The tax on this line; for INCLUSIVE, the part of the net that is tax."""
        return self.amounts(currency).tax

    def net_excluding_tax(self, currency: str) -> Money:
        """The net without any tax in it (differs from ``net`` only for INCLUSIVE)."""
        amounts = self.amounts(currency)
        if self.tax_method is TaxMethod.INCLUSIVE:
            return amounts.net - amounts.tax
        return amounts.net

    def total(self, currency: str) -> Money:
        """What the customer pays for this line: net + tax (EXCLUSIVE), else the net."""
        return self.amounts(currency).total


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """One line's amounts in its invoice's currency, computed together."""

    gross: Money
    net: Money
    tax: Money
    total: Money

    @property
    def discount(self) -> Money:
        return self.gross - self.net


def build_lines(rows: Sequence[Mapping[str, Any]]) -> tuple[InvoiceLine, ...]:
    """Lines from keyword rows, reporting every problem at once with ``lines[i].field`` paths."""
    lines: list[InvoiceLine] = []
    violations: list[FieldViolation] = []
    for index, row in enumerate(rows):
        try:
            lines.append(InvoiceLine(**row))
        except InvalidValueError as err:
            violations.extend(err.prefixed(f"lines[{index}]").violations)
    if violations:
        raise InvalidValueError.many(violations)
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """``subtotal`` = sum of item lines' gross; ``discount`` = line discounts and discount
    lines; ``tax`` = after the discount lines, and includes tax contained in INCLUSIVE lines;
    ``total`` = the lines before tax, less the discount lines, plus the tax (see
    :func:`totals_of`); ``balance`` = what remains to pay (from QuickBooks' total once known)."""

    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    amount_paid: Money
    balance: Money


def totals_of(
    lines: Sequence[InvoiceLine],
    currency: str,
    *,
    amount_paid: Money | None = None,
    balance: Money | None = None,
) -> InvoiceTotals:
    """Totals of ``lines`` (also for a draft that is not an invoice yet). ``balance`` defaults
    to the total less ``amount_paid``.

    The tax is charged after the discount lines, as QuickBooks charges it (always outside the
    US; US invoices are sent with ApplyTaxAfterDiscount). A discount line is an amount before
    tax, and QuickBooks takes the invoice's discount off every item line in the same ratio,
    (subtotal - discount) / subtotal, before taxing them: so the amounts taxed shrink in the
    ratio left / before of the item lines' amounts before tax.

    The tax is then rounded as QuickBooks rounds it: once per rate (:class:`TaxPart`), on the
    sum of the amounts taxed at that rate (its TaxLine's NetAmountTaxable), so that the preview
    is QuickBooks' own figure whether or not it honours the tax we send (TxnTaxDetail.TotalTax:
    confirmed for US automated sales tax only, reference §3.3; python-quickbooks #301 [O] saw
    it ignored). Three UK lines of 10.03 at 20 % are taxed 6.02 (30.09 x 20 %), not 3 x 2.01.
    A price that includes tax counts at its amount before tax (QuickBooks takes every
    Line.Amount as before tax, also on a TaxInclusive invoice: quickbooks-ruby #346 [O]), so
    its total can be a cent or so under the prices including tax: 3 x 12.04 including 20 % is
    30.09 + 6.02 = 36.11, as QuickBooks records it. A line without parts (no QuickBooks code
    known; stored before parts were) keeps its own tax, rounded on its own.

    [U] An INCLUSIVE line: the reference does not say how QuickBooks discounts a price that
    includes tax. Its Line.Amount is net of tax (as the emulator takes it), and the discount
    comes off amounts net of tax, so the tax the price contains shrinks in the same ratio: a
    discount of 10 on a 120.00 price including 20 % leaves 90.00 + 18.00 = 108.00.
    """
    zero = Money.zero(currency)
    items = [(line, line.amounts(currency)) for line in lines if not line.is_discount]
    off = -Money.sum_of((line.net(currency) for line in lines if line.is_discount), currency)
    before = Money.sum_of((amounts.total - amounts.tax for _, amounts in items), currency)
    # More off than there is to take it from: refused (Invoice.request), and nothing is taxed.
    left = max(before - off, zero)
    tax = _tax(items, currency, left, before)
    total = before - off + tax
    paid = amount_paid if amount_paid is not None else zero
    return InvoiceTotals(
        subtotal=Money.sum_of((amounts.gross for _, amounts in items), currency),
        discount=Money.sum_of((amounts.discount for _, amounts in items), currency) + off,
        tax=tax,
        total=total,
        amount_paid=paid,
        balance=balance if balance is not None else total - paid,
    )


def _tax(
    items: Sequence[tuple[InvoiceLine, LineAmounts]], currency: str, left: Money, before: Money
) -> Money:
    """The item lines' tax once the discount lines leave ``left`` of ``before``: per rate for
    lines that say their rates, per line otherwise (see :func:`totals_of`).

    A rate's amount taxed (QuickBooks' NetAmountTaxable) is its lines' amounts before tax x
    left / before, rounded to the cent once (multiplied before it is divided, so exactly), and
    its tax that amount x the rate, rounded: [U] QuickBooks taxes the amount its tax line
    shows, so that the two agree."""
    per_rate: dict[tuple[str, Decimal], Decimal] = {}
    taxes: list[Money] = []
    for line, amounts in items:
        if line.tax_parts and line.tax_method is not TaxMethod.NONE:
            before_tax = (amounts.total - amounts.tax).amount
            for part in line.tax_parts:
                key = (part.rate_id, part.percent)
                per_rate[key] = per_rate.get(key, Decimal(0)) + before_tax
        else:
            taxes.append(line.tax_after_discounts(currency, left, before))
    for (_, pct), base in per_rate.items():
        taxed = (
            base if left == before else _money(base * left.amount / before.amount, currency).amount
        )
        taxes.append(_money(taxed * pct / _HUNDRED, currency))
    return Money.sum_of(taxes, currency)
