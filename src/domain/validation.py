"""Checks the value objects share: each adds one FieldViolation per problem to ``violations``."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Final, TypeVar

from domain.errors import FieldViolation
from domain.messages import MessageCode

E = TypeVar("E", bound=StrEnum)

# The dates an invoice may have (issue, due, an installment's): years 1900 to 2999. No real
# invoice is dated outside them, and they keep every due date computed from an issue date (a
# rule adds at most MAX_DAYS days and two months; a QuickBooks term its days) far inside the
# dates Python can hold (years 1 to 9999), where "9999-12-20" plus a month ended INTERNAL.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2999, 12, 31)


def checked_text(value: object, field: str, limit: int, violations: list[FieldViolation]) -> str:
    """``value`` stripped; a violation when it is not text or longer than ``limit``."""
    if not isinstance(value, str):
        violations.append(FieldViolation(field, MessageCode.NOT_TEXT))
        return ""
    stripped = value.strip()
    if len(stripped) > limit:
        violations.append(FieldViolation.of(field, MessageCode.TOO_LONG, max=limit))
    return stripped


def optional_text(
    value: object, field: str, limit: int, violations: list[FieldViolation]
) -> str | None:
    """As :func:`checked_text`, with None and blank text both read as None."""
    if value is None:
        return None
    return checked_text(value, field, limit, violations) or None


def checked_choice(
    enum: type[E], value: Any, field: str, violations: list[FieldViolation]
) -> E | None:
    """``value`` as a member of ``enum``; a violation listing the choices when it is none."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        violations.append(FieldViolation.of(field, MessageCode.CHOOSE_ONE_OF, choices=choices))
        return None


def checked_date(text: str, field: str, violations: list[FieldViolation]) -> date | None:
    """``text`` (YYYY-MM-DD) as a date from EARLIEST_DATE to LATEST_DATE; else None and a
    violation."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        violations.append(FieldViolation.of(field, MessageCode.NOT_A_DATE, value=text[:40]))
        return None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        violations.append(
            FieldViolation.of(
                field,
                MessageCode.DATE_OUT_OF_RANGE,
                min=EARLIEST_DATE.isoformat(),
                max=LATEST_DATE.isoformat(),
            )
        )
        return None
    return value
