"""Company settings use cases: read them, change them (admins only)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from application.auth import Principal
from application.commands import (
    DealTimelineInput,
    DueDatePolicyInput,
    FieldSourceInput,
    GetSettingsCommand,
    SettingsInput,
    UpdateSettingsCommand,
)
from application.errors import ConcurrencyConflictError
from application.ports.accounting import AccountingGateway, InvoiceOptions
from application.ports.clock import Clock
from application.ports.crm import CrmField, CrmGateway, CrmPermissionSet
from application.ports.persistence import UnitOfWorkFactory
from application.reasons import MetadataKey
from application.views import SettingsView, settings_etag
from domain.due_date_policy import DueDatePolicy, DueDateRule
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import FieldSource, InvoiceField, SourceEntity
from domain.messages import MessageCode
from domain.money import is_known_currency
from domain.permissions import Action, Permissions
from domain.settings import ID_MAX, CompanySettings
from domain.timeline import TimelinePolicy

_REFERENCES = ("default_tax_code", "default_terms", "default_item")  # QuickBooks ids
MASK_PATHS: frozenset[str] = frozenset(
    {
        "field_mapping",
        *(f"field_mapping.{field.value}" for field in InvoiceField),
        "due_date_policy",
        "copy_customer_details",
        "default_currency",
        *_REFERENCES,
        "deal_timeline",
        "invoice_permissions",
    }
)


@dataclass(frozen=True, slots=True)
class GetSettings:
    uow_factory: UnitOfWorkFactory

    async def execute(self, cmd: GetSettingsCommand) -> SettingsView:
        cmd.principal.ensure_can_access(cmd.company_id)
        async with self.uow_factory() as uow:
            stored = await uow.settings.get(cmd.company_id)
        settings = stored or CompanySettings.default(cmd.company_id)
        return SettingsView(settings=settings, etag=settings_etag(settings), is_default=not stored)


@dataclass(frozen=True, slots=True)
class UpdateSettings:
    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def execute(self, cmd: UpdateSettingsCommand) -> SettingsView:
        cmd.principal.ensure_admin(cmd.company_id)
        paths = _expand_mask(cmd.update_mask)
        changes = _parse_changes(cmd.settings, paths)
        async with self.uow_factory() as uow:
            current = await uow.settings.get(cmd.company_id) or CompanySettings.default(
                cmd.company_id
            )
            if cmd.etag and cmd.etag != settings_etag(current):
                raise ConcurrencyConflictError(
                    "The settings were changed by someone else since you opened them; "
                    "reload them and save again.",
                    metadata={
                        MetadataKey.COMPANY: cmd.company_id,
                        MetadataKey.CURRENT_ETAG: settings_etag(current),
                    },
                )
            updated = _apply(current, changes).touched(self.clock.now())
            saved = await uow.settings.save(updated)
            await uow.commit()
        return SettingsView(settings=saved, etag=settings_etag(saved), is_default=False)


def _expand_mask(mask: tuple[str, ...]) -> frozenset[str]:
    if not mask or mask == ("*",):
        return MASK_PATHS
    unknown = [
        _unknown("update_mask", MessageCode.UNKNOWN_SETTINGS_FIELD, p, MASK_PATHS)
        for p in mask
        if p not in MASK_PATHS
    ]
    if unknown:
        raise InvalidValueError.many(unknown)
    return frozenset(mask)


def _grants(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """The permission set ids per action name (an action given twice: its ids together)."""
    grants: dict[str, list[str]] = {}
    for action, ids in pairs:
        grants.setdefault(action, []).extend(ids)
    return grants


def _unknown(field: str, code: MessageCode, value: str, choices: Iterable[str]) -> FieldViolation:
    return FieldViolation.of(field, code, value=value[:80], choices=", ".join(sorted(choices)))


def _parse_changes(data: SettingsInput, paths: frozenset[str]) -> dict[str, Any]:
    """Validate every masked field at once, so the caller sees every problem in one answer."""
    readers: dict[str, tuple[Callable[[Any], Any], Any]] = {
        **{f"field_mapping.{f.value}": (_source, getattr(data, f.value)) for f in InvoiceField},
        "due_date_policy": (_policy, data.due_date_policy),
        "copy_customer_details": (lambda given: given, data.copy_customer_details),
        "default_currency": (_currency, data.default_currency),
        **{name: (_reference, getattr(data, name)) for name in _REFERENCES},
        "deal_timeline": (_timeline, data.deal_timeline),
        "invoice_permissions": (
            lambda given: Permissions.of(*given),
            (data.invoice_permissions or (), _grants(data.invoice_permission_sets)),
        ),
    }
    violations: list[FieldViolation] = []
    changes: dict[str, Any] = {}
    for path, (read, value) in readers.items():
        if path in paths or ("field_mapping" in paths and path.startswith("field_mapping.")):
            try:
                changes[path] = read(value)
            except InvalidValueError as exc:
                violations.extend(exc.prefixed(path).violations)
    if violations:
        raise InvalidValueError.many(violations)
    return changes


def _source(value: FieldSourceInput | None) -> FieldSource | None:
    if value is None:
        return None
    entities = {e.value for e in SourceEntity}
    if value.entity not in entities:
        raise InvalidValueError(
            _unknown("entity", MessageCode.UNKNOWN_ENTITY, value.entity, entities)
        )
    return FieldSource(SourceEntity(value.entity), value.field_key)


def _policy(value: DueDatePolicyInput | None) -> DueDatePolicy:
    if value is None:
        raise InvalidValueError.of("rule", MessageCode.DUE_DATE_RULE_REQUIRED)
    rules = {r.value for r in DueDateRule}
    if value.rule not in rules:
        raise InvalidValueError(
            _unknown("rule", MessageCode.UNKNOWN_DUE_DATE_RULE, value.rule, rules)
        )
    # The policy reports every problem of its days and day of month at once.
    return DueDatePolicy(DueDateRule(value.rule), days=value.days, day_of_month=value.day_of_month)


def _timeline(value: DealTimelineInput | None) -> TimelinePolicy:
    if value is None:
        return TimelinePolicy()
    return TimelinePolicy.of(
        dict.fromkeys(value.milestones), value.language.strip().lower(), value.entry_kind
    )


def _currency(code: str) -> str | None:
    code = code.strip().upper()
    if not code:
        return None
    if not is_known_currency(code):
        raise InvalidValueError.of("", MessageCode.UNKNOWN_CURRENCY, value=code[:40])
    return code


def _reference(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > ID_MAX:
        raise InvalidValueError.of("", MessageCode.TOO_LONG, max=ID_MAX)
    return value


def _apply(current: CompanySettings, changes: dict[str, Any]) -> CompanySettings:
    mapping = current.field_mapping
    for field in InvoiceField:
        key = f"field_mapping.{field.value}"
        if key in changes:
            mapping = mapping.with_source(field, changes.pop(key))
    if "deal_timeline" in changes:
        changes["timeline"] = changes.pop("deal_timeline")
    if "invoice_permissions" in changes:
        changes["permissions"] = changes.pop("invoice_permissions")
    return dataclasses.replace(current, field_mapping=mapping, **changes)


@dataclass(frozen=True, slots=True)
class AllowedActions:
    """What the caller may do to the company's invoices, for the extension to show only that
    (the use cases enforce it whatever the page shows)."""

    uow_factory: UnitOfWorkFactory

    async def execute(self, principal: Principal, company_id: str) -> frozenset[Action]:
        principal.ensure_can_access(company_id)
        async with self.uow_factory() as uow:
            stored = await uow.settings.get(company_id)
        permissions = stored.permissions if stored else Permissions()
        return frozenset(a for a in Action if principal.may(permissions, a))


@dataclass(frozen=True, slots=True)
class ListMappableFields:
    crm: CrmGateway

    async def execute(self, principal: Principal, company_id: str) -> list[CrmField]:
        principal.ensure_can_access(company_id)
        return await self.crm.list_fields(company_id)


@dataclass(frozen=True, slots=True)
class ListPermissionSets:
    """The company's Pipedrive permission sets, for an admin choosing who may act (one
    Pipedrive read, 20 tokens, each time the settings page opens)."""

    crm: CrmGateway

    async def execute(self, principal: Principal, company_id: str) -> list[CrmPermissionSet]:
        principal.ensure_admin(company_id)
        return await self.crm.list_permission_sets(company_id)


@dataclass(frozen=True, slots=True)
class ListInvoiceOptions:
    accounting: AccountingGateway

    async def execute(self, principal: Principal, company_id: str) -> InvoiceOptions:
        principal.ensure_can_access(company_id)
        return await self.accounting.invoice_options(company_id)
