"""Row <-> domain conversions, both directions, as pure functions."""

from __future__ import annotations

from typing import Any

from adapters.postgres.tables import CompanySettingsRow
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.field_mapping import FieldMapping, FieldSource, InvoiceField, SourceEntity
from domain.settings import CompanySettings


def _source_to_json(source: FieldSource | None) -> dict[str, str] | None:
    if source is None:
        return None
    return {"entity": source.entity.value, "field_key": source.field_key}


def _source_from_json(data: dict[str, str] | None) -> FieldSource | None:
    if not data:
        return None
    return FieldSource(SourceEntity(data["entity"]), data["field_key"])


def field_mapping_to_json(mapping: FieldMapping) -> dict[str, Any]:
    return {f.value: _source_to_json(mapping.source_for(f)) for f in InvoiceField}


def field_mapping_from_json(data: dict[str, Any]) -> FieldMapping:
    return FieldMapping(
        to=_source_from_json(data.get(InvoiceField.TO.value)),
        address=_source_from_json(data.get(InvoiceField.ADDRESS.value)),
        email=_source_from_json(data.get(InvoiceField.EMAIL.value)),
        tax_id=_source_from_json(data.get(InvoiceField.TAX_ID.value)),
    )


def settings_to_row(settings: CompanySettings, *, version: int) -> CompanySettingsRow:
    policy = settings.due_date_policy
    if settings.updated_at is None:
        raise ValueError("settings must be touched (updated_at set) before they are stored")
    return CompanySettingsRow(
        company_id=settings.company_id,
        field_mapping=field_mapping_to_json(settings.field_mapping),
        due_date_policy={
            "rule": policy.rule.value,
            "days": policy.days,
            "day_of_month": policy.day_of_month,
        },
        copy_customer_details=settings.copy_customer_details,
        default_currency=settings.default_currency,
        default_tax_code=settings.default_tax_code,
        default_terms=settings.default_terms,
        default_item=settings.default_item,
        version=version,
        updated_at=settings.updated_at,
    )


def settings_from_row(row: CompanySettingsRow) -> CompanySettings:
    policy = row.due_date_policy
    return CompanySettings(
        company_id=row.company_id,
        field_mapping=field_mapping_from_json(row.field_mapping),
        due_date_policy=DueDatePolicy(
            DueDateRule(policy["rule"]),
            days=int(policy.get("days", 0)),
            day_of_month=int(policy.get("day_of_month", 0)),
        ),
        copy_customer_details=row.copy_customer_details,
        default_currency=row.default_currency,
        default_tax_code=row.default_tax_code,
        default_terms=row.default_terms,
        default_item=row.default_item,
        version=row.version,
        updated_at=row.updated_at,
    )
