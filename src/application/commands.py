"""Commands: what entrypoints ask use cases to do, as frozen dataclasses of primitives."""

from __future__ import annotations

from dataclasses import dataclass, field

from application.auth import Principal


@dataclass(frozen=True, slots=True)
class FieldSourceInput:
    """A mapping source as the caller sent it; validated by the use case."""

    entity: str
    field_key: str


@dataclass(frozen=True, slots=True)
class DueDatePolicyInput:
    rule: str
    days: int = 0
    day_of_month: int = 0


@dataclass(frozen=True, slots=True)
class SettingsInput:
    """Every settings field as sent; ``update_mask`` says which of them to apply."""

    to: FieldSourceInput | None = None
    address: FieldSourceInput | None = None
    email: FieldSourceInput | None = None
    tax_id: FieldSourceInput | None = None
    due_date_policy: DueDatePolicyInput | None = None
    copy_customer_details: bool = False
    default_currency: str = ""
    default_tax_code: str = ""
    default_terms: str = ""
    default_item: str = ""


@dataclass(frozen=True, slots=True)
class GetSettingsCommand:
    principal: Principal
    company_id: str


@dataclass(frozen=True, slots=True)
class UpdateSettingsCommand:
    principal: Principal
    company_id: str
    settings: SettingsInput
    update_mask: tuple[str, ...] = field(default_factory=tuple)
    etag: str = ""
