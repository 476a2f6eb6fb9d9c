"""Who may create, send, void and delete a company's invoices (issue 16), chosen per action in
the company's settings: everyone, only its Pipedrive admins, or its admins and the members of
named Pipedrive permission sets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode

MAX_PERMISSION_SETS: Final = 20  # per action
# Pipedrive's permission set ids are UUIDs in its OpenAPI examples; any id of that alphabet
# is taken ([U]: the spec types them as plain strings).
_PERMISSION_SET_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Action(StrEnum):
    CREATE = "create"
    SEND = "send"
    VOID = "void"
    DELETE = "delete"


class Rule(StrEnum):
    """Who may take one action."""

    EVERYONE = "everyone"
    ADMINS_ONLY = "admins_only"
    PERMISSION_SETS = "permission_sets"  # admins, and the members of named permission sets


@dataclass(frozen=True, slots=True)
class Permissions:
    """``admins_only``: the actions only admins may take; ``permission_sets``: (action, set id)
    pairs, an action with any being for admins and the members of those Pipedrive permission
    sets (whether or not ``admins_only`` lists it). Every user may take the other actions (the
    default, as before the setting existed)."""

    admins_only: frozenset[Action] = frozenset()
    permission_sets: frozenset[tuple[Action, str]] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.admins_only, frozenset) or not all(
            isinstance(a, Action) for a in self.admins_only
        ):
            raise InvalidValueError(_choose("admins_only"))
        if not isinstance(self.permission_sets, frozenset) or not all(
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], Action)
            and isinstance(pair[1], str)
            for pair in self.permission_sets
        ):
            raise InvalidValueError(_choose("permission_sets"))

    @classmethod
    def of(
        cls,
        admins_only: Iterable[str],
        permission_sets: Mapping[str, Iterable[str]] | None = None,
    ) -> Permissions:
        """From stored or sent text: actions by name, permission set ids by action name (an
        unknown action, a malformed id or too many ids raise InvalidValueError naming each)."""
        names = list(admins_only)
        known = {a.value for a in Action}
        violations: list[FieldViolation] = []
        if any(name not in known for name in names):
            violations.append(_choose("admins_only"))
        pairs: set[tuple[Action, str]] = set()
        for name, ids in (permission_sets or {}).items():
            where = f"permission_sets.{name}"
            if name not in known:
                violations.append(_choose(where))
                continue
            chosen = list(ids)
            if len(set(chosen)) > MAX_PERMISSION_SETS:
                violations.append(
                    FieldViolation.of(
                        where, MessageCode.TOO_MANY_PERMISSION_SETS, max=MAX_PERMISSION_SETS
                    )
                )
            for set_id in chosen:
                if not isinstance(set_id, str) or not _PERMISSION_SET_ID.match(set_id):
                    violations.append(
                        FieldViolation.of(
                            where, MessageCode.NOT_A_PERMISSION_SET, value=str(set_id)[:80]
                        )
                    )
                else:
                    pairs.add((Action(name), set_id))
        if violations:
            raise InvalidValueError.many(violations)
        return cls(frozenset(Action(name) for name in names), frozenset(pairs))

    def sets_for(self, action: Action) -> frozenset[str]:
        """The permission sets whose members may take ``action`` (besides the admins)."""
        return frozenset(set_id for a, set_id in self.permission_sets if a is action)

    def rule(self, action: Action) -> Rule:
        if self.sets_for(action):
            return Rule.PERMISSION_SETS
        return Rule.ADMINS_ONLY if action in self.admins_only else Rule.EVERYONE

    def allows(
        self, action: Action, *, is_admin: bool, permission_sets: Iterable[str] = ()
    ) -> bool:
        """Whether a user (an admin or not, holding ``permission_sets``) may take ``action``."""
        if is_admin:
            return True
        named = self.sets_for(action)
        if named:
            return not named.isdisjoint(permission_sets)
        return action not in self.admins_only


def _choose(field: str) -> FieldViolation:
    return FieldViolation.of(
        field, MessageCode.CHOOSE_ONE_OF, choices=", ".join(repr(a.value) for a in Action)
    )
