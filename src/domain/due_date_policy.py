"""DueDatePolicy: when an invoice is due, computed from its issue date (pure; no clock)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode
from domain.validation import checked_choice

MAX_DAYS: Final = 3650


class DueDateRule(StrEnum):
    DAYS_AFTER_ISSUE = "days_after_issue"
    END_OF_MONTH = "end_of_month"
    END_OF_NEXT_MONTH = "end_of_next_month"
    DAYS_AFTER_END_OF_MONTH = "days_after_end_of_month"
    DAY_OF_NEXT_MONTH = "day_of_next_month"
    QUICKBOOKS_TERM = "quickbooks_term"
    """No date of our own: QuickBooks computes it from the invoice's (or customer's) term."""


_USES_DAYS: Final = frozenset({DueDateRule.DAYS_AFTER_ISSUE, DueDateRule.DAYS_AFTER_END_OF_MONTH})
_USES_DAY_OF_MONTH: Final = frozenset({DueDateRule.DAY_OF_NEXT_MONTH})


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _next_month(day: date) -> tuple[int, int]:
    return (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)


@dataclass(frozen=True, slots=True)
class DueDatePolicy:
    """A due-date rule. ``days`` is used by the two "days" rules and ``day_of_month`` by
    DAY_OF_NEXT_MONTH; for other rules they are ignored and stored as 0."""

    rule: DueDateRule
    days: int = 0
    day_of_month: int = 0

    def __post_init__(self) -> None:
        violations = self.validate_all(self.rule, self.days, self.day_of_month)
        if violations:
            raise InvalidValueError.many(violations)
        rule = DueDateRule(self.rule)
        object.__setattr__(self, "rule", rule)
        if rule not in _USES_DAYS:
            object.__setattr__(self, "days", 0)
        if rule not in _USES_DAY_OF_MONTH:
            object.__setattr__(self, "day_of_month", 0)

    @classmethod
    def default(cls) -> DueDatePolicy:
        """Seven days after the issue date (issued 13 March, due 20 March)."""
        return cls(DueDateRule.DAYS_AFTER_ISSUE, days=7)

    @staticmethod
    def validate_all(rule: object, days: object, day_of_month: object) -> list[FieldViolation]:
        """Every problem with these settings at once (one violation per problem)."""
        violations: list[FieldViolation] = []
        parsed = checked_choice(DueDateRule, rule, "rule", violations)
        if isinstance(days, bool) or not isinstance(days, int):
            violations.append(FieldViolation("days", MessageCode.NOT_WHOLE_DAYS))
        elif parsed in _USES_DAYS and not 0 <= days <= MAX_DAYS:
            violations.append(
                FieldViolation.of("days", MessageCode.DAYS_OUT_OF_RANGE, max=MAX_DAYS, value=days)
            )
        if isinstance(day_of_month, bool) or not isinstance(day_of_month, int):
            violations.append(FieldViolation("day_of_month", MessageCode.NOT_A_WHOLE_NUMBER))
        elif parsed in _USES_DAY_OF_MONTH and not 1 <= day_of_month <= 31:
            violations.append(
                FieldViolation.of(
                    "day_of_month", MessageCode.NOT_A_DAY_OF_MONTH, value=day_of_month
                )
            )
        return violations

    def due_date(self, issue_date: date) -> date | None:
        """The due date for an invoice issued on ``issue_date``; None for QUICKBOOKS_TERM.
        Any issue date in ``domain.validation``'s range has one (at most MAX_DAYS days and two
        months later)."""
        try:
            match self.rule:
                case DueDateRule.DAYS_AFTER_ISSUE:
                    return issue_date + timedelta(days=self.days)
                case DueDateRule.END_OF_MONTH:
                    return _last_day(issue_date.year, issue_date.month)
                case DueDateRule.END_OF_NEXT_MONTH:
                    return _last_day(*_next_month(issue_date))
                case DueDateRule.DAYS_AFTER_END_OF_MONTH:
                    return _last_day(issue_date.year, issue_date.month) + timedelta(days=self.days)
                case DueDateRule.DAY_OF_NEXT_MONTH:
                    last = _last_day(*_next_month(issue_date))
                    return last.replace(day=min(self.day_of_month, last.day))
                case DueDateRule.QUICKBOOKS_TERM:
                    return None
        except (OverflowError, ValueError):  # past year 9999 (never from a date in range)
            raise InvalidValueError.of("issue_date", MessageCode.DUE_DATE_TOO_FAR) from None
