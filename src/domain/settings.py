"""CompanySettings: one Pipedrive company's invoicing settings (edited by its admins)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from domain.due_date_policy import DueDatePolicy
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import FieldMapping
from domain.messages import MessageCode
from domain.money import currency_violation
from domain.permissions import Permissions
from domain.timeline import TimelinePolicy
from domain.validation import optional_text

ID_MAX: Final = 64


@dataclass(frozen=True, slots=True)
class CompanySettings:
    """How invoices are prefilled for one company.

    The ``default_*`` fields are QuickBooks ids (tax code, term, item) or a currency code; blank
    text counts as not set. ``version`` is the stored revision, used as an etag.
    """

    company_id: str
    field_mapping: FieldMapping
    due_date_policy: DueDatePolicy
    copy_customer_details: bool = False
    default_currency: str | None = None
    default_tax_code: str | None = None
    default_terms: str | None = None
    default_item: str | None = None
    timeline: TimelinePolicy = field(default_factory=TimelinePolicy)
    permissions: Permissions = field(default_factory=Permissions)
    version: int = 0
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        violations: list[FieldViolation] = []
        if not isinstance(self.company_id, str) or not self.company_id.strip():
            violations.append(FieldViolation("company_id", MessageCode.REQUIRED))
        elif len(self.company_id) > ID_MAX:
            violations.append(FieldViolation.of("company_id", MessageCode.TOO_LONG, max=ID_MAX))
        for name in ("default_tax_code", "default_terms", "default_item"):
            object.__setattr__(
                self, name, optional_text(getattr(self, name), name, ID_MAX, violations)
            )
        if isinstance(self.default_currency, str):
            object.__setattr__(self, "default_currency", self.default_currency.strip() or None)
        if self.default_currency is not None:
            problem = currency_violation(self.default_currency, "default_currency")
            if problem is not None:
                violations.append(problem)
        if not isinstance(self.field_mapping, FieldMapping):
            violations.append(FieldViolation("field_mapping", MessageCode.NOT_A_FIELD_MAPPING))
        if not isinstance(self.due_date_policy, DueDatePolicy):
            violations.append(FieldViolation("due_date_policy", MessageCode.NOT_A_DUE_DATE_RULE))
        if not isinstance(self.timeline, TimelinePolicy):
            violations.append(
                FieldViolation.of("timeline", MessageCode.CHOOSE_ONE_OF, choices="TimelinePolicy")
            )
        if not isinstance(self.permissions, Permissions):
            violations.append(
                FieldViolation.of("permissions", MessageCode.CHOOSE_ONE_OF, choices="Permissions")
            )
        if not isinstance(self.copy_customer_details, bool):
            violations.append(FieldViolation("copy_customer_details", MessageCode.NOT_A_BOOLEAN))
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            violations.append(FieldViolation("version", MessageCode.NOT_A_COUNT))
        if self.updated_at is not None and self.updated_at.tzinfo is None:
            violations.append(FieldViolation("updated_at", MessageCode.NEEDS_TIME_ZONE))
        if violations:
            raise InvalidValueError.many(violations)

    def touched(self, now: datetime) -> CompanySettings:
        """The same settings, marked as changed at ``now``."""
        return replace(self, updated_at=now)

    @classmethod
    def default(cls, company_id: str) -> CompanySettings:
        """What a newly connected company starts with: the suggested mapping, due in 7 days."""
        return cls(
            company_id=company_id,
            field_mapping=FieldMapping.default(),
            due_date_policy=DueDatePolicy.default(),
        )
