"""Invoice aggregate; its state machine in ``invoice_state``, its lines in ``invoice_line``, the
checks of a draft in ``invoice_checks``.

QuickBooks is the source of truth for money facts once the invoice exists there: most
transitions are facts applied (a payment, a void seen in QuickBooks); a few are requests a user
makes (void, delete, send). Every method that changes the invoice takes ``now`` from the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from domain.customer import EMAIL_MAX, Customer, email_list
from domain.errors import (
    CurrencyMismatchError,
    FieldViolation,
    InvalidStateTransitionError,
    InvalidValueError,
    OtherQuickBooksCompanyError,
)
from domain.events import (
    DomainEvent,
    InvoiceBecameOverdue,
    InvoiceCreated,
    InvoiceCreationFailed,
    InvoiceCreationRequested,
    InvoiceDeleted,
    InvoiceSent,
    InvoiceTotalsMismatched,
    InvoiceUpdatedInAccounting,
    InvoiceVoided,
    PaymentRecorded,
)
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice_checks import check_untaxed, checked_memo
from domain.invoice_line import InvoiceLine, InvoiceTotals, totals_of
from domain.invoice_state import TRANSITIONS
from domain.invoice_state import InvoiceState as InvoiceState
from domain.invoice_state import InvoiceStatus as InvoiceStatus
from domain.invoice_state import allowed_actions as allowed_actions
from domain.invoice_state import status_of as status_of
from domain.messages import MessageCode
from domain.money import Money
from domain.payment_term import PaymentTerm

_OPEN = InvoiceState.OPEN
_PARTIALLY_PAID = InvoiceState.PARTIALLY_PAID
_PAID = InvoiceState.PAID
_VOIDED = InvoiceState.VOIDED

FAILURE_REASON_MAX: Final = 1000


def _require_aware(now: datetime) -> None:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidValueError.of("now", MessageCode.NEEDS_TIME_ZONE)


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
    failure_code: str | None = None
    failure_params: dict[str, str] = field(default_factory=dict)
    last_synced_at: datetime | None = None
    last_sent_at: datetime | None = None
    overdue_recorded_for: date | None = None
    quickbooks_url: str | None = None
    # QuickBooks' InvoiceLink: where the customer pays online (None: the company does not
    # take online payments, or the invoice does not allow them).
    payment_link: str | None = None
    terms_id: str | None = None  # the QuickBooks term sent (or applied by QuickBooks)
    terms_name: str | None = None
    # The class and the location QuickBooks has on the invoice (by full name; classes assigned
    # per line: each line's, once, comma-separated), for the panel; followed, with the terms,
    # when they are changed in QuickBooks (``follow_recorded``).
    class_name: str | None = None
    location_name: str | None = None
    # US automated sales tax: QuickBooks computes the tax; the lines carry none of ours, and
    # the tax is QuickBooks' (``quickbooks_tax``) once it has answered.
    tax_by_quickbooks: bool = False
    quickbooks_tax: Money | None = None
    # A US company without automated sales tax: the code whose rate the taxable lines carry
    # (QuickBooks' TxnTaxCodeRef).
    sales_tax_code_id: str | None = None
    # Made in a QuickBooks company other than the one connected now (the company switched
    # QuickBooks companies since): kept as last seen, but neither synced nor acted on in
    # QuickBooks, where its id names another invoice. Known from the store; never written.
    other_quickbooks_company: bool = False
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
        terms: PaymentTerm | None = None,
        tax_by_quickbooks: bool = False,
        sales_tax_code_id: str | None = None,
    ) -> Invoice:
        """A new invoice, CREATING until QuickBooks confirms it; ``due_date`` None leaves the
        date to QuickBooks (from the term it applies); ``terms`` None leaves the term to it;
        ``tax_by_quickbooks`` leaves the tax to QuickBooks (no line may then carry a rate)."""
        _require_aware(now)
        if tax_by_quickbooks:
            check_untaxed(lines)
        memo_text = checked_memo(customer, lines, currency, issue_date, due_date, memo)
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
            terms_id=terms.id if terms else None,
            terms_name=(terms.name or None) if terms else None,
            tax_by_quickbooks=tax_by_quickbooks,
            sales_tax_code_id=sales_tax_code_id or None,
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
        return self.state in TRANSITIONS.get(action, {})

    def ensure_in_connected_company(self, action: str) -> None:
        """Before ``action`` in QuickBooks: the invoice must be in the connected company (one
        QuickBooks never made, refused or not created yet, has nothing there to act on)."""
        if self.other_quickbooks_company and self.quickbooks_id is not None:
            raise OtherQuickBooksCompanyError(self.id, action)

    def _target(self, action: str, now: datetime) -> InvoiceState:
        """The state ``action`` leads to from this one, at an aware ``now``."""
        _require_aware(now)
        target = TRANSITIONS[action].get(self.state)
        if target is None:
            raise InvalidStateTransitionError(self.id, self.state.name, action)
        return target

    def _transition(self, action: str, now: datetime, *events: DomainEvent) -> None:
        self.state = self._target(action, now)
        self._touch(now)
        self.events.extend(events)

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def _set_failure(self, reason: str | None, code: str | None, params: dict[str, str]) -> None:
        self.failure_reason = reason
        self.failure_code = code
        self.failure_params = params

    def confirm_created(
        self,
        quickbooks_id: str,
        doc_number: str | None,
        sync_token: str,
        quickbooks_total: Money,
        now: datetime,
        *,
        customer_quickbooks_id: str | None = None,
        quickbooks_url: str | None = None,
        due_date: date | None = None,
        terms: tuple[str, str] | None = None,
        quickbooks_tax: Money | None = None,
        payment_link: str | None = None,
        class_name: str | None = None,
        location_name: str | None = None,
    ) -> None:
        """QuickBooks created the invoice. If its total differs from ours both are kept and an
        InvoiceTotalsMismatched event says so (see :attr:`totals_mismatch`). ``quickbooks_url``
        opens it in QuickBooks; ``payment_link`` is where the customer pays it online, if they
        can. ``due_date`` and ``terms`` (id, name) are what QuickBooks recorded: they fill in
        what the invoice left to it, as ``quickbooks_tax`` does the tax of an invoice taxed by
        QuickBooks. ``class_name`` and ``location_name`` are the names QuickBooks has them by."""
        self._target("confirm_created", now)
        if not quickbooks_id:
            raise InvalidValueError.of("quickbooks_id", MessageCode.NO_QUICKBOOKS_ID)
        quickbooks_total = self._in_currency(quickbooks_total, "quickbooks_total")
        ours = self.total()
        if customer_quickbooks_id is not None:
            self.customer = self.customer.with_quickbooks_id(customer_quickbooks_id)
        self.quickbooks_id = quickbooks_id
        self.quickbooks_url = quickbooks_url
        self.payment_link = payment_link or None
        self.class_name, self.location_name = class_name or None, location_name or None
        self.doc_number = doc_number or None
        self.sync_token = sync_token
        self.quickbooks_total = quickbooks_total
        self._take_tax(quickbooks_tax)
        self.amount_paid = Money.zero(self.currency)
        self._set_failure(None, None, {})
        if self.due_date is None:
            self.due_date = due_date
        if terms is not None and self.terms_id in (None, terms[0]):
            self.terms_id, self.terms_name = terms[0], terms[1] or self.terms_name
        events: list[DomainEvent] = [
            InvoiceCreated(
                invoice_id=self.id,
                occurred_at=now,
                quickbooks_id=quickbooks_id,
                doc_number=self.doc_number,
                total=quickbooks_total,
            )
        ]
        if self.totals_mismatch:
            events.append(
                InvoiceTotalsMismatched(
                    invoice_id=self.id,
                    occurred_at=now,
                    expected=ours,
                    quickbooks_total=quickbooks_total,
                )
            )
        self._transition("confirm_created", now, *events)

    def reject(
        self,
        reason: str,
        now: datetime,
        *,
        code: str | None = None,
        params: Mapping[str, str] | None = None,
    ) -> None:
        """QuickBooks refused the invoice; ``reason`` says why in plain English, ``code`` and
        ``params`` are the refusal's error reason and metadata (the UI words them itself)."""
        self._target("reject", now)
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            raise InvalidValueError.of("reason", MessageCode.REJECTION_REASON_REQUIRED)
        if len(text) > FAILURE_REASON_MAX:
            text = text[: FAILURE_REASON_MAX - 1] + "…"
        self._set_failure(text, code or None, dict(params or {}))
        self._transition(
            "reject", now, InvoiceCreationFailed(invoice_id=self.id, occurred_at=now, reason=text)
        )

    def apply_accounting_facts(
        self,
        total: Money,
        balance: Money,
        sync_token: str,
        due_date: date | None,
        now: datetime,
        voided: bool = False,
        tax: Money | None = None,
    ) -> bool:
        """Bring the invoice in line with what QuickBooks now says; True when anything was
        recorded (a new SyncToken alone bumps the version without an event).

        The state follows from the facts: voided -> VOIDED; balance 0 and total > 0 -> PAID;
        0 < balance < total -> PARTIALLY_PAID; otherwise OPEN. A voided invoice keeps the
        amounts it had (QuickBooks zeroes them).
        """
        _require_aware(now)
        total = self._in_currency(total, "total")
        balance = self._in_currency(balance, "balance")
        new_due = due_date if due_date is not None else self.due_date
        events: list[DomainEvent] = []
        if voided:
            action = "update_from_accounting" if self.state is _VOIDED else "void"
            self._target(action, now)
            if self.state is not _VOIDED:
                events.append(InvoiceVoided(invoice_id=self.id, occurred_at=now))
        else:
            if total.is_negative():
                raise InvalidValueError.of("total", MessageCode.NEGATIVE_QUICKBOOKS_TOTAL)
            if balance.is_negative() or balance > total:
                raise InvalidValueError.of(
                    "balance", MessageCode.BALANCE_OUT_OF_RANGE, balance=balance, total=total
                )
            action = self._facts_action(total, balance)
            self._target(action, now)
            paid = total - balance
            if paid > self.amount_paid:
                events.append(
                    PaymentRecorded(
                        invoice_id=self.id,
                        occurred_at=now,
                        amount=paid - self.amount_paid,
                        amount_paid=paid,
                        balance=balance,
                    )
                )
            if (
                paid < self.amount_paid
                or total != self.quickbooks_total
                or new_due != self.due_date
            ):
                events.append(
                    InvoiceUpdatedInAccounting(
                        invoice_id=self.id,
                        occurred_at=now,
                        total=total,
                        balance=balance,
                        due_date=new_due,
                    )
                )
            self.quickbooks_total = total
            self._take_tax(tax)
            self.amount_paid = paid
        changed = bool(events) or sync_token != self.sync_token or new_due != self.due_date
        self.sync_token = sync_token
        self.due_date = new_due
        if events:
            self._transition(action, now, *events)
        elif changed:
            self._touch(now)
        return changed

    def follow_recorded(
        self,
        terms: tuple[str | None, str | None],
        class_name: str | None,
        location_name: str | None,
        now: datetime,
    ) -> bool:
        """The terms (id, name), class and location QuickBooks has on the invoice now, changed
        there since it was created; True when any differs from what the invoice keeps."""
        recorded = (terms[0], terms[1] or None, class_name or None, location_name or None)
        if recorded == (self.terms_id, self.terms_name, self.class_name, self.location_name):
            return False
        self.terms_id, self.terms_name, self.class_name, self.location_name = recorded
        self._touch(now)
        return True

    def _take_tax(self, tax: Money | None) -> None:
        """QuickBooks' tax, kept where QuickBooks computes it (else ours is the tax)."""
        if self.tax_by_quickbooks and tax is not None:
            self.quickbooks_tax = self._in_currency(tax, "tax")

    def _facts_action(self, total: Money, balance: Money) -> str:
        """The transition to the state QuickBooks' amounts put an unvoided invoice in."""
        if balance.is_zero() and total.is_positive():
            target = _PAID
        elif balance.is_positive() and balance < total:
            target = _PARTIALLY_PAID
        else:
            target = _OPEN
        if target is self.state:
            return "update_from_accounting"
        if target is _PAID:
            return "apply_full_payment"
        if target is _OPEN:
            return "reopen"
        return "reopen_partially" if self.state is _PAID else "apply_payment"

    def void(self, now: datetime) -> None:
        """The invoice is voided (irreversible); allowed paid or not."""
        self._transition("void", now, InvoiceVoided(invoice_id=self.id, occurred_at=now))

    def delete(self, now: datetime) -> None:
        self._transition("delete", now, InvoiceDeleted(invoice_id=self.id, occurred_at=now))

    def record_sent(self, to_email: str, now: datetime) -> None:
        """QuickBooks emailed the invoice to ``to_email`` (one address or the customer's
        several); the state does not change."""
        self._target("send", now)
        violations: list[FieldViolation] = []
        to = email_list(to_email, "to", EMAIL_MAX, violations)
        if violations or not to:
            raise InvalidValueError.of("to", MessageCode.NOT_AN_EMAIL, value=str(to_email)[:80])
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
            raise InvalidValueError.of(name, MessageCode.NOT_MONEY)
        if amount.currency != self.currency:
            raise CurrencyMismatchError(
                FieldViolation.of(
                    name,
                    MessageCode.NOT_INVOICE_CURRENCY,
                    currency=self.currency,
                    other=amount.currency,
                ),
                metadata={"left": self.currency, "right": amount.currency},
            )
        return amount

    def total(self) -> Money:
        """Our total, from the lines."""
        return totals_of(self.lines, self.currency).total

    def balance(self) -> Money:
        """What remains to pay, from QuickBooks' total once known (else ours); nothing once
        voided, as QuickBooks shows it."""
        if self.state is InvoiceState.VOIDED:
            return Money.zero(self.currency)
        total = self.quickbooks_total if self.quickbooks_total is not None else self.total()
        return total - self.amount_paid

    @property
    def totals_mismatch(self) -> bool:
        """True when QuickBooks' total differs from ours (:meth:`totals`)."""
        return self.quickbooks_total is not None and self.quickbooks_total != self.totals().total

    def totals(self) -> InvoiceTotals:
        """Every total at once (one pass over the lines); ``balance`` as :meth:`balance`. When
        QuickBooks computes the tax, the tax is QuickBooks' once known: the total is the lines'
        plus that tax, which QuickBooks' total equals unless the lines changed there."""
        balance = None
        if self.state is InvoiceState.VOIDED:
            balance = Money.zero(self.currency)
        elif self.quickbooks_total is not None:
            balance = self.quickbooks_total - self.amount_paid
        totals = totals_of(self.lines, self.currency, amount_paid=self.amount_paid, balance=balance)
        tax = self.quickbooks_tax
        if tax is not None:
            return dataclasses.replace(totals, tax=totals.tax + tax, total=totals.total + tax)
        return totals

    def is_overdue(self, today: date) -> bool:
        """Open or partly paid, something left to pay, and due before ``today``."""
        return status_of(self.state, self.due_date, self.balance(), today) is InvoiceStatus.OVERDUE

    def status(self, today: date) -> InvoiceStatus:
        """The label to show: DELETED > VOIDED > PAID > OVERDUE > PARTIALLY_PAID > OPEN."""
        return status_of(self.state, self.due_date, self.balance(), today)
