"""Row <-> domain conversions, both directions, as pure functions."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import RowMapping

from adapters.postgres.tables import InvoiceEventRow
from application.ports.persistence import CreationOptions
from application.views import InvoiceView, LineView, as_shown
from domain.customer import Address, Customer
from domain.due_date_policy import DueDatePolicy
from domain.events import EVENT_TYPES, DomainEvent
from domain.field_mapping import FieldMapping, FieldSource, SourceEntity
from domain.ids import InvoiceId
from domain.invoice import Invoice, InvoiceState
from domain.invoice_line import (
    DiscountKind,
    InvoiceLine,
    InvoiceTotals,
    LineKind,
    TaxMethod,
    TaxPart,
)
from domain.invoice_rule import InvoiceRule, RuleRun, RuleRunState, RuleTrigger
from domain.invoice_template import (
    CustomFieldValue,
    InvoiceExtras,
    InvoiceTemplate,
    TemplateCustomField,
)
from domain.money import Money
from domain.permissions import Action, Permissions
from domain.settings import CompanySettings
from domain.timeline import TimelinePolicy


def settings_from_row(row: RowMapping) -> CompanySettings:
    """Settings from their row, whose columns are the settings' fields (stored as
    ``dataclasses.asdict`` wrote them: the mapping and the policy as JSON objects)."""
    mapping = {
        field: FieldSource(**source) if source else None
        for field, source in row["field_mapping"].items()
    }
    timeline = row["timeline"]
    permissions = row["permissions"]
    return CompanySettings(
        **{
            **row,
            "field_mapping": FieldMapping(**mapping),
            "due_date_policy": DueDatePolicy(**row["due_date_policy"]),
            "timeline": TimelinePolicy.of(
                timeline["milestones"], timeline["language"], timeline.get("entry_kind", "note")
            )
            if timeline is not None
            else TimelinePolicy(),
            "permissions": Permissions.of(
                permissions["admins_only"], permissions.get("permission_sets")
            )
            if permissions is not None
            else Permissions(),
        }
    )


def settings_values(settings: CompanySettings) -> dict[str, Any]:
    """The settings' row: ``dataclasses.asdict``, the timeline policy and the permissions as
    JSON objects."""
    timeline = settings.timeline
    return dataclasses.asdict(settings) | {
        "timeline": {
            "milestones": sorted(m.value for m in timeline.milestones),
            "language": timeline.language.value,
            "entry_kind": timeline.entry_kind.value,
        },
        "permissions": {
            "admins_only": sorted(a.value for a in settings.permissions.admins_only),
            # action -> permission set ids (absent in rows saved before the sets existed)
            "permission_sets": {
                a.value: sorted(settings.permissions.sets_for(a))
                for a in Action
                if settings.permissions.sets_for(a)
            },
        },
    }


# -- invoices ------------------------------------------------------------------------------------


def customer_from_json(data: dict[str, Any]) -> Customer:
    """The customer ``dataclasses.asdict`` stored, once Customer had checked it (so not again)."""
    addresses = {
        kind: Address(**data[kind]) if data.get(kind) else None
        for kind in ("billing_address", "shipping_address")  # no shipping before it existed
    }
    return Customer.restore(**data | addresses)


def _line_to_json(line: InvoiceLine) -> dict[str, Any]:
    data = {k: str(v) if isinstance(v, Decimal) else v for k, v in dataclasses.asdict(line).items()}
    data["tax_parts"] = [[part.rate_id, str(part.percent)] for part in line.tax_parts]
    return data


def line_from_json(data: dict[str, Any]) -> InvoiceLine:
    return InvoiceLine.restore(  # stored only after InvoiceLine checked it
        name=data["name"],
        description=data["description"],
        quantity=Decimal(data["quantity"]),
        unit_price=Decimal(data["unit_price"]),
        discount=Decimal(data["discount"]),
        discount_kind=DiscountKind(data["discount_kind"]),
        tax_rate=Decimal(data["tax_rate"]),
        tax_method=TaxMethod(data["tax_method"]),
        item_ref=data["item_ref"],
        tax_code_ref=data["tax_code_ref"],
        kind=LineKind(data["kind"]),
        # Lines stored before an invoice's tax was rounded per rate have none.
        tax_parts=tuple(TaxPart(rate, Decimal(pct)) for rate, pct in data.get("tax_parts", ())),
    )


def creation_to_json(creation: CreationOptions) -> dict[str, Any]:
    data = dataclasses.asdict(creation)
    deposit = (data.get("extras") or {}).get("deposit")
    if deposit is not None:
        data["extras"]["deposit"] = str(deposit)  # JSON has no exact decimal
    return data


def creation_from_json(data: dict[str, Any]) -> CreationOptions:
    """What ``dataclasses.asdict`` stored (``{}`` before an invoice had any)."""
    entity = data.get("link_entity")
    extras = data.get("extras")
    return CreationOptions(
        **{
            **data,
            "link_entity": SourceEntity(entity) if entity else None,
            "extras": extras_from_json(extras) if extras else None,
            "batch_members": tuple(data.get("batch_members") or ()),
        }
    )


def extras_from_json(data: dict[str, Any]) -> InvoiceExtras:
    fields = tuple(CustomFieldValue(**cf) for cf in data.get("custom_fields") or ())
    deposit = data.get("deposit")
    return InvoiceExtras(
        **{
            **data,
            "custom_fields": fields,
            "deposit": Decimal(deposit) if deposit is not None else None,
        }
    )


# -- invoice templates ---------------------------------------------------------------------------

_TEMPLATE_COLUMNS = ("company_id", "id", "name", "is_default", "version", "updated_at")


def template_values(template: InvoiceTemplate) -> dict[str, Any]:
    """The template's row: its identity in columns, its presets in ``body``."""
    data = dataclasses.asdict(template)
    row = {name: data.pop(name) for name in _TEMPLATE_COLUMNS}
    return row | {"body": data}


def template_from_row(row: RowMapping) -> InvoiceTemplate:
    body = dict(row["body"])
    fields = tuple(
        TemplateCustomField(
            definition_id=cf["definition_id"],
            value=cf.get("value") or "",
            source=FieldSource(**cf["source"]) if cf.get("source") else None,
        )
        for cf in body.pop("custom_fields", None) or ()
    )
    columns = {name: row[name] for name in _TEMPLATE_COLUMNS}
    return InvoiceTemplate(**columns, **body, custom_fields=fields)


# The invoices table's columns are named after the aggregate's fields (its events aside) and
# after the view's: only values of another type are converted.
_INVOICE_FIELDS = [f.name for f in dataclasses.fields(Invoice) if f.name != "events"]
# Read with the invoice (``invoices._OTHER_COMPANY``), never written from it.
_DERIVED = "other_quickbooks_company"
_VIEW_FIELDS = [f.name for f in dataclasses.fields(InvoiceView)]


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _amount(money: Money | None) -> Decimal | None:
    return None if money is None else money.amount


def invoice_values(invoice: Invoice) -> dict[str, Any]:
    """The columns of an invoice's row (without ``creation``), read-side columns included."""
    currency = invoice.currency
    totals = invoice.totals()
    values = {name: getattr(invoice, name) for name in _INVOICE_FIELDS if name != _DERIVED}
    values.update(
        customer=dataclasses.asdict(invoice.customer),
        lines=[
            _line_to_json(line) | {"amount": str(line.total(currency).amount)}
            for line in invoice.lines
        ],
        amount_paid=invoice.amount_paid.amount,
        quickbooks_total=_amount(invoice.quickbooks_total),
        quickbooks_tax=_amount(invoice.quickbooks_tax),
        failure_params=dict(invoice.failure_params),
        subtotal=totals.subtotal.amount,
        discount=totals.discount.amount,
        tax=totals.tax.amount,
        total=totals.total.amount,
        balance=totals.balance.amount,
    )
    return values


def invoice_from_row(row: RowMapping) -> Invoice:
    """The invoice aggregate from its row (a row that migration 0008 reads has no failure
    columns yet: they keep their defaults)."""
    currency = row["currency"]
    values = {name: row[name] for name in _INVOICE_FIELDS if name in row}
    values.update(
        customer=customer_from_json(row["customer"]),
        lines=tuple(line_from_json(line) for line in row["lines"]),
        state=InvoiceState(row["state"]),
        amount_paid=Money(row["amount_paid"], currency),
        quickbooks_total=_money(row["quickbooks_total"], currency),
        quickbooks_tax=_money(row.get("quickbooks_tax"), currency),
    )
    return Invoice(**values)


def view_from_row(row: asyncpg.Record, today: date) -> InvoiceView:
    """The read side's view of a row: stored figures, nothing computed but the status."""
    currency = row["currency"]
    state = InvoiceState(row["state"])
    balance = Money(row["balance"], currency)
    converted: dict[str, Any] = {
        "state": state,
        "customer": customer_from_json(row["customer"]),
        "lines": tuple(
            LineView(line_from_json(line), Money(Decimal(line["amount"]), currency))
            for line in row["lines"]
        ),
        "totals": InvoiceTotals(
            subtotal=Money(row["subtotal"], currency),
            discount=Money(row["discount"], currency),
            tax=Money(row["tax"], currency),
            total=Money(row["total"], currency),
            amount_paid=Money(row["amount_paid"], currency),
            balance=balance,
        ),
        "quickbooks_total": _money(row["quickbooks_total"], currency),
        "failure_params": row["failure_params"] or {},
    } | as_shown(
        state,
        row["due_date"],
        balance,
        today,
        row["quickbooks_url"],
        row["payment_link"],
        elsewhere=row[_DERIVED],
    )
    return InvoiceView(
        **converted, **{name: row[name] for name in _VIEW_FIELDS if name not in converted}
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


def rule_values(rule: InvoiceRule) -> dict[str, Any]:
    return dataclasses.asdict(rule) | {"trigger": rule.trigger.value}


def rule_from_row(row: RowMapping) -> InvoiceRule:
    return InvoiceRule(
        company_id=row["company_id"],
        id=row["id"],
        trigger=RuleTrigger(row["trigger"]),
        stage_id=row["stage_id"],
        pipeline_id=row["pipeline_id"],
        template_id=row["template_id"],
        enabled=row["enabled"],
        version=row["version"],
        updated_at=row["updated_at"],
    )


def run_values(run: RuleRun) -> dict[str, Any]:
    return dataclasses.asdict(run) | {"state": run.state.value}


def run_from_row(row: RowMapping) -> RuleRun:
    return RuleRun(
        company_id=row["company_id"],
        rule_id=row["rule_id"],
        deal_id=row["deal_id"],
        state=RuleRunState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attempt=row["attempt"],
        invoice_id=row["invoice_id"],
        failure_code=row["failure_code"],
        failure_params=dict(row["failure_params"] or {}),
        failure_field=row["failure_field"],
        noted=row["noted"],
    )
