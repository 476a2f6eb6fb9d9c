"""What happened to an invoice (the deal's history); each event's ``kind`` is stored: keep it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from domain.ids import InvoiceId
from domain.money import Money


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every invoice event."""

    kind: ClassVar[str] = "event"

    invoice_id: InvoiceId
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceCreationRequested(DomainEvent):
    kind: ClassVar[str] = "creation_requested"

    total: Money
    requested_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceCreated(DomainEvent):
    """QuickBooks accepted the invoice."""

    kind: ClassVar[str] = "created"

    quickbooks_id: str
    doc_number: str | None
    total: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceCreationFailed(DomainEvent):
    """QuickBooks rejected the invoice; ``reason`` says why in plain words."""

    kind: ClassVar[str] = "creation_failed"

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceTotalsMismatched(DomainEvent):
    """QuickBooks computed a different total from ours; both are kept."""

    kind: ClassVar[str] = "totals_mismatched"

    expected: Money
    quickbooks_total: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRecorded(DomainEvent):
    """The amount paid grew by ``amount`` (seen in QuickBooks)."""

    kind: ClassVar[str] = "payment_received"

    amount: Money
    amount_paid: Money
    balance: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceSent(DomainEvent):
    kind: ClassVar[str] = "sent"

    to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceVoided(DomainEvent):
    kind: ClassVar[str] = "voided"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceDeleted(DomainEvent):
    kind: ClassVar[str] = "deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceBecameOverdue(DomainEvent):
    kind: ClassVar[str] = "overdue"

    due_date: date
    balance: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceUpdatedInAccounting(DomainEvent):
    """Someone changed the invoice in QuickBooks (total, due date, or payments removed)."""

    kind: ClassVar[str] = "updated_in_accounting"

    total: Money
    balance: Money
    due_date: date | None


EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    InvoiceCreationRequested,
    InvoiceCreated,
    InvoiceCreationFailed,
    InvoiceTotalsMismatched,
    PaymentRecorded,
    InvoiceSent,
    InvoiceVoided,
    InvoiceDeleted,
    InvoiceBecameOverdue,
    InvoiceUpdatedInAccounting,
)
"""Every concrete event type (e.g. for a storage mapper keyed by ``kind``)."""
