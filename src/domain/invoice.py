"""Invoice aggregate: its lines and money, and its state machine (one explicit table).

QuickBooks is the source of truth for money facts once the invoice exists there: most
transitions are facts applied (a payment, a void seen in QuickBooks); a few are requests a user
makes (void, delete, send). Every method that changes the invoice takes ``now`` from the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from domain.customer import Customer, is_plausible_email
from domain.errors import (
    CurrencyMismatchError,
    FieldViolation,
    InvalidStateTransitionError,
    InvalidValueError,
)
from domain.events import (
    DomainEvent,
    InvoiceBecameOverdue,
    InvoiceCreated,
    InvoiceCreationFailed,
    InvoiceCreationRequested,
    InvoiceCreationRetried,
    InvoiceDeleted,
    InvoiceRevised,
    InvoiceSent,
    InvoiceTotalsMismatched,
    InvoiceUpdatedInAccounting,
    InvoiceVoided,
    PaymentRecorded,
)
from domain.ids import CompanyId, DealId, InvoiceId
from domain.money import Money, currency_violation, to_decimal

DESCRIPTION_MAX: Final = 4000
LINE_NAME_MAX: Final = 255
REF_MAX: Final = 64
MEMO_MAX: Final = 1000
FAILURE_REASON_MAX: Final = 1000
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
    """A fixed amount taken off the invoice: quantity 1, a negative unit price, no tax."""


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency).rounded()


def _optional_ref(
    value: object, name: str, violations: list[FieldViolation]
) -> tuple[str | None, bool]:
    if value is None:
        return None, True
    if not isinstance(value, str):
        violations.append(FieldViolation(name, "Must be text."))
        return None, False
    stripped = value.strip()
    if len(stripped) > REF_MAX:
        violations.append(FieldViolation(name, f"Must be at most {REF_MAX} characters long."))
        return None, False
    return stripped or None, True


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
            value = getattr(self, name)
            if not isinstance(value, str):
                violations.append(FieldViolation(name, "Must be text."))
                return
            value = value.strip()
            if len(value) > limit:
                violations.append(FieldViolation(name, f"Must be at most {limit} characters long."))
            object.__setattr__(self, name, value)

        def choice(name: str, enum: type[StrEnum]) -> StrEnum | None:
            try:
                value = enum(getattr(self, name))
            except ValueError:
                options = ", ".join(e.value for e in enum)
                violations.append(FieldViolation(name, f"Choose one of: {options}."))
                return None
            object.__setattr__(self, name, value)
            return value

        text("description", DESCRIPTION_MAX)
        text("name", LINE_NAME_MAX)
        for ref in ("item_ref", "tax_code_ref"):
            value, ok = _optional_ref(getattr(self, ref), ref, violations)
            if ok:
                object.__setattr__(self, ref, value)
        kind = choice("kind", LineKind)
        discount_kind = choice("discount_kind", DiscountKind)
        choice("tax_method", TaxMethod)
        quantity = number("quantity")
        unit_price = number("unit_price")
        discount = number("discount")
        tax_rate = number("tax_rate")

        if quantity is not None and quantity <= 0:
            violations.append(FieldViolation("quantity", "Must be more than 0."))
        if kind is LineKind.DISCOUNT:
            if quantity is not None and quantity != 1:
                violations.append(FieldViolation("quantity", "A discount line has quantity 1."))
            if unit_price is not None and unit_price >= 0:
                violations.append(
                    FieldViolation("unit_price", "A discount line takes an amount off.")
                )
            if discount is not None and discount != 0:
                violations.append(FieldViolation("discount", "A discount line has no discount."))
            if tax_rate is not None and tax_rate != 0:
                violations.append(FieldViolation("tax_rate", "A discount line carries no tax."))
        elif unit_price is not None and unit_price < 0:
            violations.append(
                FieldViolation(
                    "unit_price", "Must be 0 or more; add a discount line to take money off."
                )
            )
        if discount is not None and discount < 0:
            violations.append(FieldViolation("discount", "Must be 0 or more."))
        elif discount is not None and discount_kind is DiscountKind.PERCENTAGE:
            if discount > _HUNDRED:
                violations.append(FieldViolation("discount", "Must be a percentage, 0 to 100."))
        elif (
            discount is not None
            and quantity is not None
            and unit_price is not None
            and discount > quantity * unit_price
        ):
            violations.append(
                FieldViolation(
                    "discount",
                    f"Cannot be more than the line amount ({quantity * unit_price:f}).",
                )
            )
        if tax_rate is not None and not 0 <= tax_rate <= _HUNDRED:
            violations.append(FieldViolation("tax_rate", "Must be a percentage, 0 to 100."))
        if violations:
            raise InvalidValueError.many(violations)

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
    ) -> InvoiceLine:
        """A line as it was stored once it had passed the checks, with every value already of
        its type: nothing is checked again (reading an invoice list would otherwise re-run
        them for every line of every invoice). For repositories, not for input."""
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
        ):
            object.__setattr__(line, field_name, value)
        return line

    @classmethod
    def discount_line(cls, description: str, amount: Decimal | int) -> InvoiceLine:
        """A line taking ``amount`` off the invoice (its sign is ignored: 10 and -10 both take
        10 off). Deal-level discounts from Pipedrive become such lines."""
        value = to_decimal(amount, "amount")
        if value.is_zero():
            raise InvalidValueError("amount", "A discount must be more than 0.")
        return cls(
            description=description,
            quantity=Decimal(1),
            unit_price=-abs(value),
            kind=LineKind.DISCOUNT,
        )

    @property
    def is_discount(self) -> bool:
        return self.kind is LineKind.DISCOUNT

    def _gross_exact(self) -> Decimal:
        return self.quantity * self.unit_price

    def _discount_exact(self) -> Decimal:
        if self.discount_kind is DiscountKind.PERCENTAGE:
            return self._gross_exact() * self.discount / _HUNDRED
        return self.discount

    def amounts(self, currency: str) -> LineAmounts:
        """Gross, net, tax and total of this line, each rounded once (see the methods below)."""
        gross_exact = self._gross_exact()
        gross = _money(gross_exact, currency)
        net = _money(gross_exact - self._discount_exact(), currency)
        match self.tax_method:
            case TaxMethod.EXCLUSIVE:
                tax = _money(net.amount * self.tax_rate / _HUNDRED, currency)
                total = net + tax
            case TaxMethod.INCLUSIVE:
                tax = net - _money(net.amount / (1 + self.tax_rate / _HUNDRED), currency)
                total = net
            case TaxMethod.NONE:
                tax = Money.zero(currency)
                total = net
        return LineAmounts(gross=gross, net=net, tax=tax, total=total)

    def gross(self, currency: str) -> Money:
        """Quantity x unit price, rounded (QuickBooks' line ``Amount``)."""
        return _money(self._gross_exact(), currency)

    def net(self, currency: str) -> Money:
        """After the discount, rounded once (Pipedrive's ``sum``: 5 x 22 less 0.2% = 109.78)."""
        return _money(self._gross_exact() - self._discount_exact(), currency)

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
    lines; ``tax`` includes tax contained in INCLUSIVE lines; ``total`` = sum of line totals;
    ``balance`` = what remains to pay (from QuickBooks' total once known)."""

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
    to the total less ``amount_paid``."""
    zero = Money.zero(currency)
    subtotal = discount = tax = total = zero
    for line in lines:
        amounts = line.amounts(currency)
        total = total + amounts.total
        tax = tax + amounts.tax
        if line.is_discount:
            discount = discount - amounts.net
        else:
            subtotal = subtotal + amounts.gross
            discount = discount + amounts.discount
    paid = amount_paid if amount_paid is not None else zero
    return InvoiceTotals(
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        total=total,
        amount_paid=paid,
        balance=balance if balance is not None else total - paid,
    )


class InvoiceState(StrEnum):
    CREATING = "creating"
    CREATE_FAILED = "create_failed"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    DELETED = "deleted"


class InvoiceStatus(StrEnum):
    """The label shown to users: the state, or OVERDUE when an unpaid invoice is past due."""

    CREATING = "creating"
    CREATE_FAILED = "create_failed"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOIDED = "voided"
    DELETED = "deleted"


_CREATING = InvoiceState.CREATING
_CREATE_FAILED = InvoiceState.CREATE_FAILED
_OPEN = InvoiceState.OPEN
_PARTIALLY_PAID = InvoiceState.PARTIALLY_PAID
_PAID = InvoiceState.PAID
_VOIDED = InvoiceState.VOIDED
_DELETED = InvoiceState.DELETED

_TRANSITIONS: Final[dict[str, dict[InvoiceState, InvoiceState]]] = {
    # creation
    "confirm_created": {_CREATING: _OPEN, _CREATE_FAILED: _OPEN},
    "reject": {_CREATING: _CREATE_FAILED},
    "revise": {_CREATE_FAILED: _CREATE_FAILED},
    "retry": {_CREATE_FAILED: _CREATING},
    # facts seen in QuickBooks
    "apply_payment": {_OPEN: _PARTIALLY_PAID, _PARTIALLY_PAID: _PARTIALLY_PAID},
    "apply_full_payment": {_OPEN: _PAID, _PARTIALLY_PAID: _PAID},
    "reopen": {_PARTIALLY_PAID: _OPEN, _PAID: _OPEN},
    "reopen_partially": {_PAID: _PARTIALLY_PAID},
    "update_from_accounting": {
        _OPEN: _OPEN,
        _PARTIALLY_PAID: _PARTIALLY_PAID,
        _PAID: _PAID,
        _VOIDED: _VOIDED,
    },
    "record_overdue": {_OPEN: _OPEN, _PARTIALLY_PAID: _PARTIALLY_PAID},
    # user requests (also applied when seen in QuickBooks)
    "void": {_OPEN: _VOIDED, _PARTIALLY_PAID: _VOIDED, _PAID: _VOIDED},
    "delete": {
        _OPEN: _DELETED,
        _PARTIALLY_PAID: _DELETED,
        _PAID: _DELETED,
        _VOIDED: _DELETED,
        _CREATE_FAILED: _DELETED,
    },
    "send": {_OPEN: _OPEN, _PARTIALLY_PAID: _PARTIALLY_PAID, _PAID: _PAID},
}

ACTIONS: Final[tuple[str, ...]] = tuple(_TRANSITIONS)


def allowed_actions(state: InvoiceState) -> frozenset[str]:
    """The actions the state machine allows in ``state`` (e.g. to show the "..." menu)."""
    return frozenset(action for action, moves in _TRANSITIONS.items() if state in moves)


def _require_aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidValueError("now", "Must be a date and time with a time zone.")


def _draft_violations(
    customer: object,
    lines: Sequence[object],
    currency: str,
    issue_date: date,
    due_date: date | None,
    memo: str,
) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    if not isinstance(customer, Customer):
        violations.append(FieldViolation("customer", "Choose a customer."))
    currency_problem = currency_violation(currency)
    if currency_problem is not None:
        violations.append(FieldViolation("currency", currency_problem))
    if not lines:
        violations.append(FieldViolation("lines", "Add at least one line."))
    for index, line in enumerate(lines):
        if not isinstance(line, InvoiceLine):
            violations.append(FieldViolation(f"lines[{index}]", "Must be an invoice line."))
    valid_lines = [line for line in lines if isinstance(line, InvoiceLine)]
    if valid_lines and all(line.is_discount for line in valid_lines):
        violations.append(FieldViolation("lines", "Add at least one line that is not a discount."))
    elif valid_lines and currency_problem is None:
        total = Money.sum_of((line.total(currency) for line in valid_lines), currency)
        if total.is_negative():
            violations.append(
                FieldViolation(
                    "lines",
                    f"The discounts are larger than the amount invoiced; the total would be "
                    f"{total}.",
                )
            )
    if not isinstance(issue_date, date):
        violations.append(FieldViolation("issue_date", "Enter the issue date."))
    elif due_date is not None and (not isinstance(due_date, date) or due_date < issue_date):
        violations.append(
            FieldViolation(
                "due_date", f"Must be on or after the issue date ({issue_date.isoformat()})."
            )
        )
    if len(memo) > MEMO_MAX:
        violations.append(FieldViolation("memo", f"Must be at most {MEMO_MAX} characters long."))
    return violations


@dataclass(eq=False, kw_only=True)
class Invoice:
    """An invoice created from a deal. Equal when ids are equal.

    ``version`` counts persisted changes (an optimistic-lock token); ``events`` holds events not
    yet published (drain them with :meth:`pull_events`).
    """

    id: InvoiceId
    company_id: CompanyId
    deal_id: DealId
    customer: Customer
    lines: tuple[InvoiceLine, ...]
    currency: str
    issue_date: date
    due_date: date | None
    memo: str
    state: InvoiceState
    created_at: datetime
    updated_at: datetime
    amount_paid: Money
    created_by: str | None = None
    quickbooks_id: str | None = None
    doc_number: str | None = None
    sync_token: str | None = None
    quickbooks_total: Money | None = None
    failure_reason: str | None = None
    last_synced_at: datetime | None = None
    last_sent_at: datetime | None = None
    overdue_recorded_for: date | None = None
    version: int = 0
    events: list[DomainEvent] = field(default_factory=list)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Invoice) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # -- creation --------------------------------------------------------------------------

    @classmethod
    def request(
        cls,
        id: InvoiceId,
        company_id: CompanyId,
        deal_id: DealId,
        customer: Customer,
        lines: Sequence[InvoiceLine],
        currency: str,
        issue_date: date,
        due_date: date | None,
        memo: str | None,
        created_by: str | None,
        now: datetime,
    ) -> Invoice:
        """A new invoice, CREATING until QuickBooks confirms it. Reports every problem at once.

        ``due_date`` None leaves it to QuickBooks (from the term).
        """
        _require_aware(now)
        memo_text = (memo or "").strip()
        violations = _draft_violations(customer, lines, currency, issue_date, due_date, memo_text)
        if violations:
            raise InvalidValueError.many(violations)
        invoice = cls(
            id=id,
            company_id=company_id,
            deal_id=deal_id,
            customer=customer,
            lines=tuple(lines),
            currency=currency,
            issue_date=issue_date,
            due_date=due_date,
            memo=memo_text,
            state=InvoiceState.CREATING,
            created_at=now,
            updated_at=now,
            amount_paid=Money.zero(currency),
            created_by=created_by,
        )
        invoice.events.append(
            InvoiceCreationRequested(
                invoice_id=id, occurred_at=now, total=invoice.total(), requested_by=created_by
            )
        )
        return invoice

    # -- the state machine -------------------------------------------------------------------

    def can(self, action: str) -> bool:
        """True when ``action`` is allowed in the current state."""
        return self.state in _TRANSITIONS.get(action, {})

    def _target(self, action: str) -> InvoiceState:
        target = _TRANSITIONS[action].get(self.state)
        if target is None:
            raise InvalidStateTransitionError(self.id, self.state.name, action)
        return target

    def _transition(self, action: str, now: datetime, *events: DomainEvent) -> None:
        target = self._target(action)
        self.state = target
        self._touch(now)
        self.events.extend(events)

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def confirm_created(
        self,
        quickbooks_id: str,
        doc_number: str | None,
        sync_token: str,
        quickbooks_total: Money,
        now: datetime,
        *,
        customer_quickbooks_id: str | None = None,
    ) -> None:
        """QuickBooks created the invoice. If its total differs from ours both are kept and an
        InvoiceTotalsMismatched event says so (see :attr:`totals_mismatch`)."""
        _require_aware(now)
        self._target("confirm_created")
        if not quickbooks_id:
            raise InvalidValueError("quickbooks_id", "QuickBooks did not return an invoice id.")
        quickbooks_total = self._in_currency(quickbooks_total, "quickbooks_total")
        ours = self.total()
        if customer_quickbooks_id is not None:
            self.customer = self.customer.with_quickbooks_id(customer_quickbooks_id)
        self.quickbooks_id = quickbooks_id
        self.doc_number = doc_number or None
        self.sync_token = sync_token
        self.quickbooks_total = quickbooks_total
        self.amount_paid = Money.zero(self.currency)
        self.failure_reason = None
        events: list[DomainEvent] = [
            InvoiceCreated(
                invoice_id=self.id,
                occurred_at=now,
                quickbooks_id=quickbooks_id,
                doc_number=self.doc_number,
                total=quickbooks_total,
            )
        ]
        if quickbooks_total != ours:
            events.append(
                InvoiceTotalsMismatched(
                    invoice_id=self.id,
                    occurred_at=now,
                    expected=ours,
                    quickbooks_total=quickbooks_total,
                )
            )
        self._transition("confirm_created", now, *events)

    def reject(self, reason: str, now: datetime) -> None:
        """QuickBooks refused the invoice; ``reason`` says why, in words a user understands."""
        _require_aware(now)
        self._target("reject")
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            raise InvalidValueError("reason", "Say why the invoice was rejected.")
        if len(text) > FAILURE_REASON_MAX:
            text = text[: FAILURE_REASON_MAX - 1] + "…"
        self.failure_reason = text
        self._transition(
            "reject", now, InvoiceCreationFailed(invoice_id=self.id, occurred_at=now, reason=text)
        )

    def revise(
        self,
        customer: Customer,
        lines: Sequence[InvoiceLine],
        currency: str,
        issue_date: date,
        due_date: date | None,
        memo: str | None,
        now: datetime,
    ) -> None:
        """Correct a rejected invoice before retrying it (same checks as :meth:`request`)."""
        _require_aware(now)
        self._target("revise")
        memo_text = (memo or "").strip()
        violations = _draft_violations(customer, lines, currency, issue_date, due_date, memo_text)
        if violations:
            raise InvalidValueError.many(violations)
        self.customer = customer
        self.lines = tuple(lines)
        self.currency = currency
        self.issue_date = issue_date
        self.due_date = due_date
        self.memo = memo_text
        self.amount_paid = Money.zero(currency)
        self._transition(
            "revise", now, InvoiceRevised(invoice_id=self.id, occurred_at=now, total=self.total())
        )

    def retry(self, now: datetime) -> None:
        """Try creating a rejected invoice again."""
        _require_aware(now)
        self._target("retry")
        self.failure_reason = None
        self._transition("retry", now, InvoiceCreationRetried(invoice_id=self.id, occurred_at=now))

    def apply_accounting_facts(
        self,
        total: Money,
        balance: Money,
        sync_token: str,
        due_date: date | None,
        now: datetime,
        voided: bool = False,
    ) -> bool:
        """Bring the invoice in line with what QuickBooks now says.

        The state follows from the facts: voided -> VOIDED; balance 0 and total > 0 -> PAID;
        0 < balance < total -> PARTIALLY_PAID; otherwise OPEN. Emits PaymentRecorded when the
        amount paid grew, InvoiceUpdatedInAccounting for other visible changes and
        InvoiceVoided on a void. When only the SyncToken changed it is recorded (version bumped)
        without an event. A voided invoice keeps the amounts it had (QuickBooks zeroes them).
        Returns True when anything was recorded.
        """
        _require_aware(now)
        total = self._in_currency(total, "total")
        balance = self._in_currency(balance, "balance")
        if not voided:
            if total.is_negative():
                raise InvalidValueError("total", "QuickBooks reported a negative total.")
            if balance.is_negative() or balance > total:
                raise InvalidValueError(
                    "balance", f"QuickBooks reported a balance of {balance} on a total of {total}."
                )
        new_due = due_date if due_date is not None else self.due_date

        if voided:
            action = "update_from_accounting" if self.state is _VOIDED else "void"
            target = self._target(action)
            events: list[DomainEvent] = []
            if target is not self.state:
                events.append(InvoiceVoided(invoice_id=self.id, occurred_at=now))
            changed = bool(events) or sync_token != self.sync_token or new_due != self.due_date
            self.sync_token = sync_token
            self.due_date = new_due
            if changed:
                self._transition(action, now, *events)
            return changed

        paid = total - balance
        if balance.is_zero() and total.is_positive():
            target_state = _PAID
        elif balance.is_positive() and balance < total:
            target_state = _PARTIALLY_PAID
        else:
            target_state = _OPEN
        previous_paid = self.amount_paid
        if target_state is self.state:
            action = "update_from_accounting"
        elif target_state is _PAID:
            action = "apply_full_payment"
        elif target_state is _OPEN:
            action = "reopen"
        elif self.state is _PAID:
            action = "reopen_partially"
        else:
            action = "apply_payment"
        self._target(action)

        events = []
        if paid > previous_paid:
            events.append(
                PaymentRecorded(
                    invoice_id=self.id,
                    occurred_at=now,
                    amount=paid - previous_paid,
                    amount_paid=paid,
                    balance=balance,
                )
            )
        edited = (
            paid < previous_paid
            or self.quickbooks_total is None
            or total != self.quickbooks_total
            or new_due != self.due_date
        )
        if edited:
            events.append(
                InvoiceUpdatedInAccounting(
                    invoice_id=self.id,
                    occurred_at=now,
                    total=total,
                    balance=balance,
                    due_date=new_due,
                )
            )
        changed = bool(events) or sync_token != self.sync_token
        self.quickbooks_total = total
        self.amount_paid = paid
        self.sync_token = sync_token
        self.due_date = new_due
        if events:
            self._transition(action, now, *events)
        elif changed:
            self._touch(now)
        return changed

    def void(self, now: datetime) -> None:
        """The invoice is voided (irreversible); allowed paid or not."""
        _require_aware(now)
        self._transition("void", now, InvoiceVoided(invoice_id=self.id, occurred_at=now))

    def delete(self, now: datetime) -> None:
        _require_aware(now)
        self._transition("delete", now, InvoiceDeleted(invoice_id=self.id, occurred_at=now))

    def record_sent(self, to_email: str, now: datetime) -> None:
        """QuickBooks emailed the invoice to ``to_email``; the state does not change."""
        _require_aware(now)
        self._target("send")
        to = to_email.strip() if isinstance(to_email, str) else ""
        if not is_plausible_email(to):
            raise InvalidValueError("to", f"{to_email!r} does not look like an email address.")
        self.last_sent_at = now
        self._transition("send", now, InvoiceSent(invoice_id=self.id, occurred_at=now, to=to))

    def record_overdue(self, today: date, now: datetime) -> bool:
        """Emit InvoiceBecameOverdue once per due date when the invoice is overdue on
        ``today`` (the company's local date). Returns True when it did."""
        _require_aware(now)
        if not self.is_overdue(today) or self.overdue_recorded_for == self.due_date:
            return False
        assert self.due_date is not None  # is_overdue implies a due date
        self.overdue_recorded_for = self.due_date
        self._transition(
            "record_overdue",
            now,
            InvoiceBecameOverdue(
                invoice_id=self.id,
                occurred_at=now,
                due_date=self.due_date,
                balance=self.balance(),
            ),
        )
        return True

    def mark_synced(self, now: datetime) -> None:
        """Record that QuickBooks was just read (shown as "last synced"); not a change of the
        invoice itself, so neither version nor events change."""
        _require_aware(now)
        self.last_synced_at = now

    def pull_events(self) -> list[DomainEvent]:
        """The pending events, oldest first; the invoice no longer holds them."""
        events, self.events = self.events, []
        return events

    # -- queries ----------------------------------------------------------------------------

    def _in_currency(self, amount: Money, name: str) -> Money:
        if not isinstance(amount, Money):
            raise InvalidValueError(name, "Must be an amount of money.")
        if amount.currency != self.currency:
            raise CurrencyMismatchError(
                name,
                f"Must be in the invoice's currency, {self.currency}, not {amount.currency}.",
                metadata={"left": self.currency, "right": amount.currency},
            )
        return amount

    def total(self) -> Money:
        """Our total, from the lines."""
        return Money.sum_of((line.total(self.currency) for line in self.lines), self.currency)

    def balance(self) -> Money:
        """What remains to pay, from QuickBooks' total once known (else ours)."""
        total = self.quickbooks_total if self.quickbooks_total is not None else self.total()
        return total - self.amount_paid

    @property
    def totals_mismatch(self) -> bool:
        """True when QuickBooks' total differs from the total of our lines."""
        return self.quickbooks_total is not None and self.quickbooks_total != self.total()

    def totals(self) -> InvoiceTotals:
        """Every total at once (one pass over the lines); ``balance`` as :meth:`balance`."""
        balance = (
            self.quickbooks_total - self.amount_paid if self.quickbooks_total is not None else None
        )
        return totals_of(self.lines, self.currency, amount_paid=self.amount_paid, balance=balance)

    def is_overdue(self, today: date) -> bool:
        """Open or partly paid, something left to pay, and due before ``today``."""
        return (
            self.state in (_OPEN, _PARTIALLY_PAID)
            and self.due_date is not None
            and self.due_date < today
            and self.balance().is_positive()
        )

    def status(self, today: date) -> InvoiceStatus:
        """The label to show: DELETED > VOIDED > PAID > OVERDUE > PARTIALLY_PAID > OPEN."""
        if self.is_overdue(today):
            return InvoiceStatus.OVERDUE
        return InvoiceStatus(self.state.value)
