"""Domain errors: a stable ``reason`` and string metadata, never a transport code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one input field; ``field`` is a path such as ``lines[2].quantity``."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    reason: str = "DOMAIN_ERROR"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidValueError(DomainError):
    """A value breaks an invariant; carries one field violation per problem."""

    reason = "INVALID_VALUE"

    def __init__(
        self,
        field: str,
        description: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description, metadata=metadata)
        if reason is not None:
            self.reason = reason
        self.violations: tuple[FieldViolation, ...] = (FieldViolation(field, description),)

    @classmethod
    def many(
        cls, violations: list[FieldViolation], *, reason: str | None = None
    ) -> InvalidValueError:
        """One error for several problems found at once (so a form can show them all)."""
        if not violations:
            raise ValueError("InvalidValueError.many needs at least one violation")
        err = cls(violations[0].field, violations[0].description, reason=reason)
        err.violations = tuple(violations)
        if len(violations) > 1:
            err.message = "; ".join(f"{v.field}: {v.description}" for v in violations)
            err.args = (err.message,)
        return err

    def prefixed(self, prefix: str) -> InvalidValueError:
        """The same violations with their field paths nested under ``prefix``."""
        err = InvalidValueError.many(
            [
                FieldViolation(f"{prefix}.{v.field}" if v.field else prefix, v.description)
                for v in self.violations
            ],
            reason=self.reason,
        )
        err.metadata = dict(self.metadata)
        return err


class CurrencyMismatchError(InvalidValueError):
    """Arithmetic or comparison between two different currencies."""

    reason = "CURRENCY_MISMATCH"


class InvalidStateTransitionError(DomainError):
    """An action the invoice's current state does not allow; names the state and the action."""

    reason = "INVALID_STATE_TRANSITION"

    def __init__(self, invoice_id: str, state: str, action: str) -> None:
        super().__init__(
            f"Cannot {action.replace('_', ' ')} invoice {invoice_id}: "
            f"it is {state.lower().replace('_', ' ')}.",
            metadata={"invoice": invoice_id, "state": state, "action": action},
        )
        self.invoice_id = invoice_id
        self.state = state
        self.action = action
