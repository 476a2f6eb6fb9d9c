"""Plain-English sentences for the deal's invoicing history (the UI translates by ``type``)."""

from __future__ import annotations

from domain.events import (
    DomainEvent,
    InvoiceBecameOverdue,
    InvoiceCreated,
    InvoiceCreationFailed,
    InvoiceCreationRequested,
    InvoiceSent,
    InvoiceTotalsMismatched,
    InvoiceUpdatedInAccounting,
    PaymentRecorded,
)
from domain.money import Money


def describe(event: DomainEvent) -> tuple[str, Money | None]:
    """A sentence for people, and the amount involved when there is one."""
    match event:
        case InvoiceCreationRequested(total=total):
            return f"Invoice requested for {total}.", total
        case InvoiceCreated(doc_number=number, total=total):
            return f"Invoice {number or ''} created in QuickBooks for {total}.".replace(
                "  ", " "
            ), total
        case InvoiceCreationFailed(reason=reason):
            return f"QuickBooks refused the invoice: {reason}", None
        case InvoiceTotalsMismatched(expected=expected, quickbooks_total=theirs):
            return f"QuickBooks computed {theirs}, the lines add up to {expected}.", theirs
        case PaymentRecorded(amount=amount, balance=balance):
            return f"Payment of {amount} received; {balance} left to pay.", amount
        case InvoiceSent(to=to):
            return f"Sent by email to {to}.", None
        case InvoiceBecameOverdue(due_date=due, balance=balance):
            return f"Overdue: {balance} was due on {due.isoformat()}.", balance
        case InvoiceUpdatedInAccounting(total=total, balance=balance):
            return f"Changed in QuickBooks: total {total}, {balance} left to pay.", total
    return {
        "voided": ("Voided.", None),
        "deleted": ("Deleted.", None),
    }.get(event.kind, (event.kind.replace("_", " ").capitalize() + ".", None))
