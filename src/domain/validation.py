"""Checks the value objects share: each adds one FieldViolation per problem to ``violations``."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from domain.errors import FieldViolation
from domain.messages import MessageCode

E = TypeVar("E", bound=StrEnum)


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
