"""Company settings use cases: read them, change them (admins only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from application.auth import Principal
from application.commands import (
    DueDatePolicyInput,
    FieldSourceInput,
    GetSettingsCommand,
    SettingsInput,
    UpdateSettingsCommand,
)
from application.errors import ConcurrencyConflictError
from application.ports.accounting import AccountingGateway, InvoiceOptions
from application.ports.clock import Clock
from application.ports.crm import CrmField, CrmGateway
from application.ports.persistence import UnitOfWorkFactory
from application.views import SettingsView, settings_etag
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import FieldSource, InvoiceField, SourceEntity
from domain.money import is_known_currency
from domain.settings import CompanySettings

MAPPING_FIELDS: dict[str, InvoiceField] = {
    "to": InvoiceField.TO,
    "address": InvoiceField.ADDRESS,
    "email": InvoiceField.EMAIL,
    "tax_id": InvoiceField.TAX_ID,
}
MASK_PATHS: frozenset[str] = frozenset(
    {
        "field_mapping",
        *(f"field_mapping.{name}" for name in MAPPING_FIELDS),
        "due_date_policy",
        "copy_customer_details",
        "default_currency",
        "default_tax_code",
        "default_terms",
        "default_item",
    }
)
MAX_REF_LENGTH = 64


class GetSettings:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, cmd: GetSettingsCommand) -> SettingsView:
        cmd.principal.ensure_can_access(cmd.company_id)
        async with self._uow_factory() as uow:
            stored = await uow.settings.get(cmd.company_id)
        settings = stored or CompanySettings.default(cmd.company_id)
        return SettingsView(settings=settings, etag=settings_etag(settings), is_default=not stored)


class UpdateSettings:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def execute(self, cmd: UpdateSettingsCommand) -> SettingsView:
        cmd.principal.ensure_admin(cmd.company_id)
        paths = _expand_mask(cmd.update_mask)
        changes = _parse_changes(cmd.settings, paths)
        async with self._uow_factory() as uow:
            current = await uow.settings.get(cmd.company_id) or CompanySettings.default(
                cmd.company_id
            )
            if cmd.etag and cmd.etag != settings_etag(current):
                raise ConcurrencyConflictError(
                    "The settings were changed by someone else since you opened them; "
                    "reload them and save again.",
                    metadata={"company": cmd.company_id, "current_etag": settings_etag(current)},
                )
            updated = _apply(current, changes).touched(self._clock.now())
            saved = await uow.settings.save(updated)
            await uow.commit()
        return SettingsView(settings=saved, etag=settings_etag(saved), is_default=False)


def _expand_mask(mask: tuple[str, ...]) -> frozenset[str]:
    if not mask or mask == ("*",):
        return MASK_PATHS
    unknown = [p for p in mask if p not in MASK_PATHS]
    if unknown:
        raise InvalidValueError.many(
            [
                FieldViolation(
                    "update_mask",
                    f"'{p}' is not a settings field that can be changed; "
                    f"use one of: {', '.join(sorted(MASK_PATHS))}.",
                )
                for p in unknown
            ]
        )
    return frozenset(mask)


def _parse_changes(data: SettingsInput, paths: frozenset[str]) -> dict[str, Any]:
    """Validate every masked field at once, so the caller sees every problem in one answer."""
    violations: list[FieldViolation] = []
    changes: dict[str, Any] = {}

    def attempt(key: str, field_path: str, build: Callable[[Any], Any], value: Any) -> None:
        try:
            changes[key] = build(value)
        except InvalidValueError as exc:
            violations.extend(exc.prefixed(field_path).violations)

    for name in MAPPING_FIELDS:
        if "field_mapping" in paths or f"field_mapping.{name}" in paths:
            attempt(f"mapping.{name}", f"field_mapping.{name}", _source, getattr(data, name))
    if "due_date_policy" in paths:
        attempt("due_date_policy", "due_date_policy", _policy, data.due_date_policy)
    if "copy_customer_details" in paths:
        changes["copy_customer_details"] = data.copy_customer_details
    if "default_currency" in paths:
        attempt("default_currency", "default_currency", _currency, data.default_currency)
    for name in ("default_tax_code", "default_terms", "default_item"):
        if name in paths:
            attempt(name, name, _reference, getattr(data, name))
    if violations:
        raise InvalidValueError.many(violations)
    return changes


def _source(value: FieldSourceInput | None) -> FieldSource | None:
    if value is None:
        return None
    entities = {e.value for e in SourceEntity}
    problems = []
    if value.entity not in entities:
        problems.append(
            FieldViolation(
                "entity",
                f"'{value.entity}' is not an entity fields can be read from; "
                f"use one of: {', '.join(sorted(entities))}.",
            )
        )
    if problems:
        raise InvalidValueError.many(problems)
    return FieldSource(SourceEntity(value.entity), value.field_key)


def _policy(value: DueDatePolicyInput | None) -> DueDatePolicy:
    if value is None:
        raise InvalidValueError("rule", "A due-date rule is required.")
    rules = {r.value for r in DueDateRule}
    problems = []
    if value.rule not in rules:
        problems.append(
            FieldViolation(
                "rule",
                f"'{value.rule}' is not a due-date rule; use one of: {', '.join(sorted(rules))}.",
            )
        )
        raise InvalidValueError.many(problems)
    rule = DueDateRule(value.rule)
    problems.extend(DueDatePolicy.validate_all(rule, value.days, value.day_of_month))
    if problems:
        raise InvalidValueError.many(problems)
    return DueDatePolicy(rule, days=value.days, day_of_month=value.day_of_month)


def _currency(code: str) -> str | None:
    code = code.strip().upper()
    if not code:
        return None
    if not is_known_currency(code):
        raise InvalidValueError("", f"'{code}' is not an ISO 4217 currency code.")
    return code


def _reference(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_REF_LENGTH:
        raise InvalidValueError("", f"At most {MAX_REF_LENGTH} characters.")
    return value


def _apply(current: CompanySettings, changes: dict[str, Any]) -> CompanySettings:
    mapping = current.field_mapping
    for name, field in MAPPING_FIELDS.items():
        key = f"mapping.{name}"
        if key in changes:
            mapping = mapping.with_source(field, changes.pop(key))
    return dataclasses.replace(current, field_mapping=mapping, **changes)


class ListMappableFields:
    def __init__(self, crm: CrmGateway) -> None:
        self._crm = crm

    async def execute(self, principal: Principal, company_id: str) -> list[CrmField]:
        principal.ensure_can_access(company_id)
        return await self._crm.list_fields(company_id)


class ListInvoiceOptions:
    def __init__(self, accounting: AccountingGateway) -> None:
        self._accounting = accounting

    async def execute(self, principal: Principal, company_id: str) -> InvoiceOptions:
        principal.ensure_can_access(company_id)
        return await self._accounting.invoice_options(company_id)
