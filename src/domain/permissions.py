"""Who may create, send, void and delete a company's invoices (issue 16): everyone, or only its
Pipedrive admins, chosen per action in the company's settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode


class Action(StrEnum):
    CREATE = "create"
    SEND = "send"
    VOID = "void"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Permissions:
    """``admins_only``: the actions only admins may take; every user may take the others (the
    default, as before the setting existed)."""

    admins_only: frozenset[Action] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.admins_only, frozenset) or not all(
            isinstance(a, Action) for a in self.admins_only
        ):
            raise InvalidValueError(_choose())

    @classmethod
    def of(cls, admins_only: Iterable[str]) -> Permissions:
        """From stored or sent text (an unknown action raises InvalidValueError)."""
        names = list(admins_only)
        if any(name not in {a.value for a in Action} for name in names):
            raise InvalidValueError(_choose())
        return cls(frozenset(Action(name) for name in names))

    def allows(self, action: Action, *, is_admin: bool) -> bool:
        return is_admin or action not in self.admins_only


def _choose() -> FieldViolation:
    return FieldViolation.of(
        "admins_only", MessageCode.CHOOSE_ONE_OF, choices=", ".join(repr(a.value) for a in Action)
    )
