"""The deal's Pipedrive timeline: which moments of an invoice leave an entry on its deal.

A milestone is read from the invoice's events (created, sent, partly paid, paid, overdue,
voided, deleted). Its ``key`` is the same each time the same fact is seen, so an entry is
written once per invoice and key, however often QuickBooks tells it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.events import (
    DomainEvent,
    InvoiceBecameOverdue,
    InvoiceCreated,
    InvoiceDeleted,
    InvoiceSent,
    InvoiceVoided,
    PaymentRecorded,
)
from domain.messages import MessageCode


class Milestone(StrEnum):
    CREATED = "created"
    SENT = "sent"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"
    VOIDED = "voided"
    DELETED = "deleted"


class TimelineLanguage(StrEnum):
    """The language of the entries; AUTO is the language of the Pipedrive user the app acts as
    (the one who installed it): Pipedrive keeps a locale per user, none per company."""

    AUTO = ""
    ENGLISH = "en"
    FRENCH = "fr"


class EntryKind(StrEnum):
    """What an entry is in Pipedrive: a note on the deal, or a done activity on it."""

    NOTE = "note"
    ACTIVITY = "activity"


DEFAULT_MILESTONES: Final = frozenset({Milestone.CREATED, Milestone.PAID, Milestone.VOIDED})


@dataclass(frozen=True, slots=True)
class TimelinePolicy:
    """Which milestones leave an entry on the deal, in which language, and whether each is a
    Pipedrive note or a done activity (a company setting)."""

    milestones: frozenset[Milestone] = DEFAULT_MILESTONES
    language: TimelineLanguage = TimelineLanguage.AUTO
    entry_kind: EntryKind = EntryKind.NOTE

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        if not isinstance(self.milestones, frozenset) or not all(
            isinstance(m, Milestone) for m in self.milestones
        ):
            violations.append(_choose("milestones", [m.value for m in Milestone]))
        if not isinstance(self.language, TimelineLanguage):
            violations.append(_choose("language", ["en", "fr"]))
        if not isinstance(self.entry_kind, EntryKind):
            violations.append(_choose("entry_kind", [k.value for k in EntryKind]))
        if violations:
            raise InvalidValueError.many(violations)

    @classmethod
    def of(
        cls, milestones: Iterable[str], language: str = "", entry_kind: str = "note"
    ) -> TimelinePolicy:
        """From stored or sent text (unknown names raise InvalidValueError)."""
        known = {m.value for m in Milestone}
        unknown = [m for m in milestones if m not in known]
        if unknown:
            raise InvalidValueError(_choose("milestones", [m.value for m in Milestone]))
        if language not in {lang.value for lang in TimelineLanguage}:
            raise InvalidValueError(_choose("language", ["", "en", "fr"]))
        if entry_kind not in {k.value for k in EntryKind}:
            raise InvalidValueError(_choose("entry_kind", [k.value for k in EntryKind]))
        return cls(
            frozenset(Milestone(m) for m in milestones),
            TimelineLanguage(language),
            EntryKind(entry_kind),
        )

    def wants(self, milestone: Milestone) -> bool:
        return milestone in self.milestones


def _choose(field: str, choices: Iterable[str]) -> FieldViolation:
    return FieldViolation.of(
        field, MessageCode.CHOOSE_ONE_OF, choices=", ".join(repr(c) for c in choices)
    )


@dataclass(frozen=True, slots=True)
class MilestoneReached:
    """One milestone of an invoice; ``details`` are what its entry says (amounts as text)."""

    milestone: Milestone
    key: str
    occurred_at: datetime
    details: dict[str, str] = field(default_factory=dict)


def milestones_of(events: Sequence[DomainEvent]) -> list[MilestoneReached]:
    """The milestones these events reach, oldest first."""
    reached: list[MilestoneReached] = []
    for event in events:
        at = event.occurred_at
        match event:
            case InvoiceCreated():
                details = {"total": str(event.total)}
                if event.doc_number:
                    details["doc_number"] = event.doc_number
                reached.append(MilestoneReached(Milestone.CREATED, "created", at, details))
            case InvoiceSent():
                key = f"sent:{at.isoformat()}"
                reached.append(MilestoneReached(Milestone.SENT, key, at, {"to": event.to}))
            case PaymentRecorded():
                paid = event.balance.is_zero()
                milestone = Milestone.PAID if paid else Milestone.PARTIALLY_PAID
                details = {
                    "amount": str(event.amount),
                    "amount_paid": str(event.amount_paid),
                    "balance": str(event.balance),
                }
                key = f"{milestone.value}:{event.amount_paid.to_decimal_string()}"
                reached.append(MilestoneReached(milestone, key, at, details))
            case InvoiceBecameOverdue():
                key = f"overdue:{event.due_date.isoformat()}"
                details = {"due_date": event.due_date.isoformat(), "balance": str(event.balance)}
                reached.append(MilestoneReached(Milestone.OVERDUE, key, at, details))
            case InvoiceVoided():
                reached.append(MilestoneReached(Milestone.VOIDED, "voided", at))
            case InvoiceDeleted():
                reached.append(MilestoneReached(Milestone.DELETED, "deleted", at))
    return reached
