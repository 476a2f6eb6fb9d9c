"""The invoice's states and its state machine, in one explicit table, and the status label
(OVERDUE) decided in one place. ``domain.invoice`` applies them."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Final

from domain.money import Money


class InvoiceState(StrEnum):
    CREATING = "creating"
    CREATE_FAILED = "create_failed"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    DELETED = "deleted"


#: States of an invoice that does not stand (QuickBooks refused it, or it was voided or
#: deleted): a deal with only these has no invoice to show for its sale.
NOT_LIVE: Final = frozenset({InvoiceState.CREATE_FAILED, InvoiceState.VOIDED, InvoiceState.DELETED})


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

TRANSITIONS: Final[dict[str, dict[InvoiceState, InvoiceState]]] = {
    # creation
    "confirm_created": {_CREATING: _OPEN, _CREATE_FAILED: _OPEN},
    "reject": {_CREATING: _CREATE_FAILED},
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


def allowed_actions(state: InvoiceState) -> frozenset[str]:
    """The actions the state machine allows in ``state`` (e.g. to show the "..." menu)."""
    return frozenset(action for action, moves in TRANSITIONS.items() if state in moves)


def status_of(
    state: InvoiceState, due_date: date | None, balance: Money, today: date
) -> InvoiceStatus:
    """The label an invoice in ``state`` shows on ``today`` (the company's local date): OVERDUE
    when it is open or partly paid, something is left to pay and it was due before today; else
    its state. The one place OVERDUE is decided (invoices and stored views alike)."""
    if (
        state in (_OPEN, _PARTIALLY_PAID)
        and due_date is not None
        and due_date < today
        and balance.is_positive()
    ):
        return InvoiceStatus.OVERDUE
    return InvoiceStatus(state.value)
