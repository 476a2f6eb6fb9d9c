"""PaymentTerm: a QuickBooks sales term ("Net 30", "15th of the month") and the due date it
gives an invoice (pure; no clock)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from domain.errors import InvalidValueError
from domain.messages import MessageCode


def _on_day(year: int, month: int, day: int) -> date:
    """``day`` of the month, or its last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class PaymentTerm:
    """QuickBooks' ``Term``: a STANDARD term is due ``due_days`` after the issue date; a
    DATE_DRIVEN one (``day_of_month_due`` set) on that day of the month, or of the next month
    when the invoice is issued after it or fewer than ``due_next_month_days`` days before it."""

    id: str
    name: str
    due_days: int = 0
    day_of_month_due: int | None = None
    due_next_month_days: int = 0
    active: bool = True

    def due_date(self, issue_date: date) -> date:
        """The due date this term gives an invoice issued on ``issue_date``. A date-driven term
        gives one for any issue date in ``domain.validation``'s range; a term of more days than
        Python's dates hold (QuickBooks' data, not ours) is DUE_DATE_TOO_FAR."""
        try:
            return self._due_date(issue_date)
        except (OverflowError, ValueError):
            raise InvalidValueError.of("issue_date", MessageCode.DUE_DATE_TOO_FAR) from None

    def _due_date(self, issue_date: date) -> date:
        if self.day_of_month_due is None:
            return issue_date + timedelta(days=self.due_days)
        due = _on_day(issue_date.year, issue_date.month, self.day_of_month_due)
        # [U] Intuit documents DueNextMonthDays as "due the next month if issued within that
        # many days of the due date" without saying whether the last day counts; QuickBooks
        # Desktop's date-driven terms, which QBO's follow, move the date when fewer days remain.
        if (due - issue_date).days < max(self.due_next_month_days, 0):
            year, month = divmod(issue_date.year * 12 + issue_date.month, 12)
            due = _on_day(year, month + 1, self.day_of_month_due)
        return due
