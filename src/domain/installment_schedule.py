"""A deal invoiced in installments (30/40/30 with dates): each installment's amount is fixed when
the schedule is made (domain/installment.py: the last takes the remainder), and its invoice is
created on its date, exactly once (its request id is derived from the schedule and position)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import FieldViolation, InstallmentStateError, InvalidValueError
from domain.installment import schedule_amounts
from domain.messages import MessageCode
from domain.money import Money


class InstallmentState(StrEnum):
    SCHEDULED = "scheduled"
    """Its invoice is created on its date."""
    CREATED = "created"
    """Its invoice exists (``invoice_id``)."""
    FAILED = "failed"
    """Its invoice was refused (``reason``); the deal's panel says so, with Retry."""
    CANCELLED = "cancelled"
    """Called off before its date: no invoice, and the deal's rest is free to invoice again."""


@dataclass(frozen=True, slots=True)
class PlannedInstallment:
    """What the user asks for: a percentage of the deal and the date its invoice is made."""

    percentage: Decimal
    due_on: date


@dataclass(frozen=True, slots=True)
class Installment:
    company_id: str
    deal_id: str
    schedule_id: str
    position: int  # from 1
    count: int
    percentage: Decimal
    amount: Money  # before tax
    due_on: date
    created_at: datetime
    state: InstallmentState = InstallmentState.SCHEDULED
    invoice_id: str | None = None
    reason: str = ""
    attempt: int = 0  # retries after a refusal; each try has its own request id

    @property
    def request_id(self) -> str:
        """The request id its invoice is created under: never a second invoice for one try."""
        return installment_request_id(self.schedule_id, self.position, self.attempt)

    @property
    def is_pending(self) -> bool:
        """Still to be invoiced by dealbooks: its amount is spoken for on the deal."""
        return self.state is InstallmentState.SCHEDULED

    def is_due(self, today: date) -> bool:
        return self.state is InstallmentState.SCHEDULED and self.due_on <= today

    def invoiced(self, invoice_id: str) -> Installment:
        return replace(self, state=InstallmentState.CREATED, invoice_id=invoice_id, reason="")

    def refused(self, reason: str) -> Installment:
        return replace(self, state=InstallmentState.FAILED, reason=reason[:200])

    def retried(self) -> Installment:
        """A refused installment tried again (under a new request id: the refused try's
        stays refused): scheduled, created at once when its date has come."""
        if self.state is not InstallmentState.FAILED:
            raise InstallmentStateError(self.state.value, "retry")
        return replace(self, state=InstallmentState.SCHEDULED, reason="", attempt=self.attempt + 1)

    def cancelled(self) -> Installment:
        if self.state is not InstallmentState.SCHEDULED:
            raise InstallmentStateError(self.state.value, "cancel")
        return replace(self, state=InstallmentState.CANCELLED)


def installment_request_id(schedule_id: str, position: int, attempt: int = 0) -> str:
    retry = f":{attempt}" if attempt else ""  # a first try keeps the id it always had
    return f"installment:{schedule_id}:{position}{retry}"[:64]


def plan_schedule(
    *,
    company_id: str,
    deal_id: str,
    schedule_id: str,
    whole: Money,
    planned: Sequence[PlannedInstallment],
    today: date,
    now: datetime,
) -> tuple[Installment, ...]:
    """The installments of ``whole`` (what is left to invoice on the deal, before tax): dates
    from ``today`` on, each on or after the one before."""
    violations: list[FieldViolation] = []
    previous = today
    for index, part in enumerate(planned):
        if part.due_on < previous:
            violations.append(
                FieldViolation.of(
                    f"installments[{index}].due_date",
                    MessageCode.INSTALLMENT_DATES_ORDER,
                    today=today.isoformat(),
                )
            )
        previous = max(previous, part.due_on)
    try:
        amounts = schedule_amounts(whole, [part.percentage for part in planned])
    except InvalidValueError as err:
        raise InvalidValueError.many([*err.violations, *violations]) from None
    if violations:
        raise InvalidValueError.many(violations)
    return tuple(
        Installment(
            company_id=company_id,
            deal_id=deal_id,
            schedule_id=schedule_id,
            position=position,
            count=len(planned),
            percentage=part.percentage,
            amount=amount,
            due_on=part.due_on,
            created_at=now,
        )
        for position, (part, amount) in enumerate(zip(planned, amounts, strict=True), start=1)
    )
