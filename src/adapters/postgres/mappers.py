"""Row <-> domain conversions, both directions, as pure functions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters.postgres.tables import CompanySettingsRow, InvoiceEventRow, InvoiceRow
from application.ports.persistence import CreationOptions
from domain.customer import Address, Customer
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.events import EVENT_TYPES, DomainEvent
from domain.field_mapping import FieldMapping, FieldSource, InvoiceField, SourceEntity
from domain.ids import CompanyId, DealId, InvoiceId
from domain.invoice import DiscountKind, Invoice, InvoiceLine, InvoiceState, LineKind, TaxMethod
from domain.money import Money
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


# -- invoices ------------------------------------------------------------------------------------


def _address_to_json(address: Address | None) -> dict[str, str] | None:
    return None if address is None else dataclasses.asdict(address)


def customer_to_json(customer: Customer) -> dict[str, Any]:
    return {
        "display_name": customer.display_name,
        "email": customer.email,
        "billing_address": _address_to_json(customer.billing_address),
        "tax_id": customer.tax_id,
        "quickbooks_id": customer.quickbooks_id,
    }


def customer_from_json(data: dict[str, Any]) -> Customer:
    address = data.get("billing_address")
    return Customer.restore(  # stored only after Customer checked it
        display_name=data["display_name"],
        email=data.get("email"),
        billing_address=Address(**address) if address else None,
        tax_id=data.get("tax_id"),
        quickbooks_id=data.get("quickbooks_id"),
    )


def line_to_json(line: InvoiceLine) -> dict[str, Any]:
    return {
        "name": line.name,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price),
        "discount": str(line.discount),
        "discount_kind": line.discount_kind.value,
        "tax_rate": str(line.tax_rate),
        "tax_method": line.tax_method.value,
        "item_ref": line.item_ref,
        "tax_code_ref": line.tax_code_ref,
        "kind": line.kind.value,
    }


def line_from_json(data: dict[str, Any]) -> InvoiceLine:
    return InvoiceLine.restore(  # stored only after InvoiceLine checked it
        name=data.get("name", ""),
        description=data.get("description", ""),
        quantity=Decimal(data["quantity"]),
        unit_price=Decimal(data["unit_price"]),
        discount=Decimal(data.get("discount", "0")),
        discount_kind=DiscountKind(data.get("discount_kind", "percentage")),
        tax_rate=Decimal(data.get("tax_rate", "0")),
        tax_method=TaxMethod(data.get("tax_method", "none")),
        item_ref=data.get("item_ref"),
        tax_code_ref=data.get("tax_code_ref"),
        kind=LineKind(data.get("kind", "item")),
    )


def creation_to_json(options: CreationOptions) -> dict[str, Any]:
    return {
        "link_entity": options.link_entity.value if options.link_entity else None,
        "link_entity_id": options.link_entity_id,
        "update_customer_details": options.update_customer_details,
        "requested_by": options.requested_by,
    }


def creation_from_json(data: dict[str, Any]) -> CreationOptions:
    entity = data.get("link_entity")
    return CreationOptions(
        link_entity=SourceEntity(entity) if entity else None,
        link_entity_id=data.get("link_entity_id"),
        update_customer_details=bool(data.get("update_customer_details", False)),
        requested_by=data.get("requested_by"),
    )


def invoice_values(invoice: Invoice) -> dict[str, Any]:
    """The columns an invoice's state maps to (without ``creation``)."""
    return {
        "id": invoice.id,
        "company_id": invoice.company_id,
        "deal_id": invoice.deal_id,
        "state": invoice.state.value,
        "customer": customer_to_json(invoice.customer),
        "lines": [line_to_json(line) for line in invoice.lines],
        "currency": invoice.currency,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "memo": invoice.memo,
        "amount_paid": invoice.amount_paid.amount,
        "quickbooks_id": invoice.quickbooks_id,
        "doc_number": invoice.doc_number,
        "sync_token": invoice.sync_token,
        "quickbooks_total": (
            invoice.quickbooks_total.amount if invoice.quickbooks_total is not None else None
        ),
        "failure_reason": invoice.failure_reason,
        "created_at": invoice.created_at,
        "updated_at": invoice.updated_at,
        "last_synced_at": invoice.last_synced_at,
        "last_sent_at": invoice.last_sent_at,
        "overdue_recorded_for": invoice.overdue_recorded_for,
        "created_by": invoice.created_by,
        "version": invoice.version,
    }


def invoice_from_row(row: InvoiceRow) -> Invoice:
    currency = row.currency
    return Invoice(
        id=InvoiceId(row.id),
        company_id=CompanyId(row.company_id),
        deal_id=DealId(row.deal_id),
        customer=customer_from_json(row.customer),
        lines=tuple(line_from_json(line) for line in row.lines),
        currency=currency,
        issue_date=row.issue_date,
        due_date=row.due_date,
        memo=row.memo,
        state=InvoiceState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        amount_paid=Money(Decimal(row.amount_paid), currency),
        created_by=row.created_by,
        quickbooks_id=row.quickbooks_id,
        doc_number=row.doc_number,
        sync_token=row.sync_token,
        quickbooks_total=(
            Money(Decimal(row.quickbooks_total), currency)
            if row.quickbooks_total is not None
            else None
        ),
        failure_reason=row.failure_reason,
        last_synced_at=row.last_synced_at,
        last_sent_at=row.last_sent_at,
        overdue_recorded_for=row.overdue_recorded_for,
        version=row.version,
    )


def invoice_from_record(record: Mapping[str, Any]) -> Invoice:
    """An invoice from a plain row (asyncpg record) whose JSON columns arrive as text."""
    currency = record["currency"]
    quickbooks_total = record["quickbooks_total"]
    return Invoice(
        id=InvoiceId(record["id"]),
        company_id=CompanyId(record["company_id"]),
        deal_id=DealId(record["deal_id"]),
        customer=customer_from_json(json.loads(record["customer"])),
        lines=tuple(line_from_json(line) for line in json.loads(record["lines"])),
        currency=currency,
        issue_date=record["issue_date"],
        due_date=record["due_date"],
        memo=record["memo"],
        state=InvoiceState(record["state"]),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
        amount_paid=Money(record["amount_paid"], currency),
        created_by=record["created_by"],
        quickbooks_id=record["quickbooks_id"],
        doc_number=record["doc_number"],
        sync_token=record["sync_token"],
        quickbooks_total=(
            Money(quickbooks_total, currency) if quickbooks_total is not None else None
        ),
        failure_reason=record["failure_reason"],
        last_synced_at=record["last_synced_at"],
        last_sent_at=record["last_sent_at"],
        overdue_recorded_for=record["overdue_recorded_for"],
        version=record["version"],
    )


_EVENTS_BY_KIND = {event_type.kind: event_type for event_type in EVENT_TYPES}


def _value_to_json(value: object) -> object:
    if isinstance(value, Money):
        return {"$money": [str(value.amount), value.currency]}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _value_from_json(value: object) -> object:
    if isinstance(value, dict):
        if "$money" in value:
            amount, currency = value["$money"]
            return Money(Decimal(amount), currency)
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


def event_payload(event: DomainEvent) -> dict[str, Any]:
    return {
        f.name: _value_to_json(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in ("invoice_id", "occurred_at")
    }


def event_from_row(row: InvoiceEventRow) -> DomainEvent:
    event_type = _EVENTS_BY_KIND[row.kind]
    fields = {k: _value_from_json(v) for k, v in row.payload.items()}
    return event_type(invoice_id=InvoiceId(row.invoice_id), occurred_at=row.occurred_at, **fields)
