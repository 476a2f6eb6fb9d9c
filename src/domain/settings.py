"""CompanySettings: one Pipedrive company's invoicing settings (edited by its admins)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from domain.due_date_policy import DueDatePolicy
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import FieldMapping
from domain.money import currency_violation

ID_MAX: Final = 64


def _id_violation(field: str, value: object, *, required: bool) -> FieldViolation | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        return FieldViolation(field, "Must not be empty." if required else "Must be text.")
    if len(value) > ID_MAX:
        return FieldViolation(field, f"Must be at most {ID_MAX} characters long.")
    return None


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
    version: int = 0
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("default_currency", "default_tax_code", "default_terms", "default_item"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.strip() or None)
        violations = [
            v
            for v in (
                _id_violation("company_id", self.company_id, required=True),
                _id_violation("default_tax_code", self.default_tax_code, required=False),
                _id_violation("default_terms", self.default_terms, required=False),
                _id_violation("default_item", self.default_item, required=False),
            )
            if v is not None
        ]
        if self.default_currency is not None:
            problem = currency_violation(self.default_currency)
            if problem is not None:
                violations.append(FieldViolation("default_currency", problem))
        if not isinstance(self.field_mapping, FieldMapping):
            violations.append(FieldViolation("field_mapping", "Must be a field mapping."))
        if not isinstance(self.due_date_policy, DueDatePolicy):
            violations.append(FieldViolation("due_date_policy", "Must be a due-date rule."))
        if not isinstance(self.copy_customer_details, bool):
            violations.append(FieldViolation("copy_customer_details", "Must be true or false."))
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            violations.append(FieldViolation("version", "Must be a whole number, 0 or more."))
        if self.updated_at is not None and self.updated_at.tzinfo is None:
            violations.append(FieldViolation("updated_at", "Must carry a time zone."))
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
