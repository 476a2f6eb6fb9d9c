"""Domain errors: a stable ``reason`` (:class:`DomainReason`) and string metadata, never a
transport code. Every other reason is in ``application.reasons``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.messages import MessageCode, as_params, english


class DomainReason(StrEnum):
    """``ErrorInfo.reason`` of the errors the domain raises (the value is the wire format)."""

    DOMAIN_ERROR = "DOMAIN_ERROR"
    INVALID_VALUE = "INVALID_VALUE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
    INSTALLMENT_STATE = "INSTALLMENT_STATE"
    INVOICE_IN_OTHER_QUICKBOOKS_COMPANY = "INVOICE_IN_OTHER_QUICKBOOKS_COMPANY"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One problem with one input field; ``field`` is a path such as ``lines[2].quantity``."""

    field: str
    code: MessageCode
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, field: str, code: MessageCode, /, **params: object) -> FieldViolation:
        """``FieldViolation.of("memo", MessageCode.TOO_LONG, max=4000)``."""
        return cls(field, code, as_params(params))

    @property
    def description(self) -> str:
        """The problem in English (API callers who do not translate read this)."""
        return english(self.code, self.params)

    def under(self, prefix: str) -> FieldViolation:
        """The same problem with its field path nested under ``prefix``."""
        return FieldViolation(
            f"{prefix}.{self.field}" if self.field else prefix, self.code, self.params
        )


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    reason: str = DomainReason.DOMAIN_ERROR

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidValueError(DomainError):
    """A value breaks an invariant; carries one field violation per problem."""

    reason: str = DomainReason.INVALID_VALUE

    def __init__(
        self,
        *violations: FieldViolation,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        if not violations:
            raise ValueError("InvalidValueError needs at least one violation")
        if len(violations) == 1:
            message = violations[0].description
        else:
            message = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(message, metadata=metadata)
        if reason is not None:
            self.reason = reason
        self.violations: tuple[FieldViolation, ...] = violations

    @classmethod
    def of(cls, field: str, code: MessageCode, /, **params: object) -> InvalidValueError:
        """One problem: ``InvalidValueError.of("memo", MessageCode.TOO_LONG, max=4000)``."""
        return cls(FieldViolation.of(field, code, **params))

    @classmethod
    def many(
        cls, violations: Sequence[FieldViolation], *, reason: str | None = None
    ) -> InvalidValueError:
        """One error for several problems found at once (so a form can show them all)."""
        return cls(*violations, reason=reason)

    def prefixed(self, prefix: str) -> InvalidValueError:
        """The same violations with their field paths nested under ``prefix``."""
        return InvalidValueError(
            *(v.under(prefix) for v in self.violations),
            reason=self.reason,
            metadata=self.metadata,
        )


class CurrencyMismatchError(InvalidValueError):
    """Arithmetic or comparison between two different currencies."""

    reason = DomainReason.CURRENCY_MISMATCH


class InvalidStateTransitionError(DomainError):
    """An action the invoice's current state does not allow; names the state and the action."""

    reason = DomainReason.INVALID_STATE_TRANSITION

    def __init__(self, invoice_id: str, state: str, action: str) -> None:
        super().__init__(
            f"Cannot {action.replace('_', ' ')} invoice {invoice_id}: "
            f"it is {state.lower().replace('_', ' ')}.",
            metadata={"invoice": invoice_id, "state": state, "action": action},
        )
        self.invoice_id = invoice_id
        self.state = state
        self.action = action


class OtherQuickBooksCompanyError(DomainError):
    """An action in QuickBooks (creating it included) on an invoice of a QuickBooks company
    other than the one connected now: there its QuickBooks id names another invoice, or none,
    and its customer, terms and codes are the other company's."""

    reason = DomainReason.INVOICE_IN_OTHER_QUICKBOOKS_COMPANY

    def __init__(self, invoice_id: str, action: str) -> None:
        super().__init__(
            f"Cannot {action.replace('_', ' ')} invoice {invoice_id}: it belongs to a QuickBooks "
            "company other than the one connected now, which dealbooks leaves alone.",
            metadata={"invoice": invoice_id, "action": action},
        )


class InstallmentStateError(DomainError):
    """An action the installment's state does not allow (Retry on one that was not refused,
    Cancel on one no longer scheduled); names the state and the action."""

    reason = DomainReason.INSTALLMENT_STATE

    def __init__(self, state: str, action: str) -> None:
        super().__init__(
            f"Cannot {action} this installment: it is {state}.",
            metadata={"state": state, "action": action},
        )
