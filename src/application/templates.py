"""Invoice template use cases: list them (anyone invoicing), create, replace and delete them
(admins). At most one template is the default: marking one clears the others."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from application.auth import Principal
from application.commands import (
    FieldSourceInput,
    SaveTemplateCommand,
    TemplateInput,
    TemplateRefCommand,
)
from application.errors import ConcurrencyConflictError, NotFoundError
from application.ports.clock import Clock
from application.ports.persistence import UnitOfWork, UnitOfWorkFactory
from application.reasons import MetadataKey, ResourceType
from domain.errors import FieldViolation, InvalidValueError
from domain.field_mapping import FieldSource, SourceEntity
from domain.invoice_template import TEMPLATES_MAX, InvoiceTemplate, TemplateCustomField
from domain.messages import MessageCode


def template_etag(template: InvoiceTemplate) -> str:
    return f'"v{template.version}"'


def _source(value: FieldSourceInput | None, path: str) -> FieldSource | None:
    if value is None or not (value.entity or value.field_key):
        return None
    entities = {e.value for e in SourceEntity}
    if value.entity not in entities:
        raise InvalidValueError.of(
            f"{path}.entity",
            MessageCode.UNKNOWN_ENTITY,
            value=value.entity[:80],
            choices=", ".join(sorted(entities)),
        )
    try:
        return FieldSource(SourceEntity(value.entity), value.field_key)
    except InvalidValueError as exc:
        raise exc.prefixed(path) from None


def build_template(
    company_id: str, template_id: str, data: TemplateInput, *, version: int = 0
) -> InvoiceTemplate:
    """The template ``data`` describes, every problem reported at once."""
    violations: list[FieldViolation] = []
    fields: list[TemplateCustomField] = []
    for index, entry in enumerate(data.custom_fields):
        try:
            source = _source(entry.source, f"custom_fields[{index}].source")
        except InvalidValueError as exc:
            violations.extend(exc.violations)
            source = None
        fields.append(TemplateCustomField(entry.definition_id.strip(), entry.value.strip(), source))
    try:
        template = InvoiceTemplate(
            company_id=company_id,
            id=template_id,
            name=data.display_name,
            is_default=data.is_default,
            terms_id=data.terms_id,
            customer_memo=data.customer_memo,
            private_note=data.private_note,
            tax_code_id=data.tax_code_id,
            item_id=data.item_id,
            custom_fields=tuple(fields),
            bill_email_cc=data.bill_email_cc,
            bill_email_bcc=data.bill_email_bcc,
            allow_online_card=data.allow_online_card,
            allow_online_ach=data.allow_online_ach,
            version=version,
            class_id=data.class_id,
            location_id=data.location_id,
        )
    except InvalidValueError as exc:
        violations.extend(exc.violations)
    if violations:
        raise InvalidValueError.many(violations)
    return template


def _not_found(template_id: str) -> NotFoundError:
    return NotFoundError(ResourceType.INVOICE_TEMPLATE, template_id)


async def _save_among_others(uow: UnitOfWork, template: InvoiceTemplate) -> InvoiceTemplate:
    """Store ``template``: its name must be free, and as the default it takes over."""
    others = [t for t in await uow.templates.list(template.company_id) if t.id != template.id]
    if any(t.name.casefold() == template.name.casefold() for t in others):
        raise InvalidValueError.of(
            "display_name", MessageCode.TEMPLATE_NAME_TAKEN, value=template.name[:80]
        )
    if template.version == 0 and len(others) >= TEMPLATES_MAX:
        raise InvalidValueError.of(
            "display_name", MessageCode.TOO_MANY_TEMPLATES, max=TEMPLATES_MAX
        )
    if template.is_default:
        for other in others:
            if other.is_default:
                await uow.templates.save(dataclasses.replace(other, is_default=False))
    return await uow.templates.save(template)


@dataclass(frozen=True, slots=True)
class ListInvoiceTemplates:
    uow_factory: UnitOfWorkFactory

    async def execute(self, principal: Principal, company_id: str) -> list[InvoiceTemplate]:
        principal.ensure_can_access(company_id)
        async with self.uow_factory() as uow:
            return await uow.templates.list(company_id)


@dataclass(frozen=True, slots=True)
class SaveInvoiceTemplate:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())

    async def execute(self, cmd: SaveTemplateCommand) -> InvoiceTemplate:
        cmd.principal.ensure_admin(cmd.company_id)
        async with self.uow_factory() as uow:
            version = 0
            template_id = cmd.template_id
            if template_id:
                current = await uow.templates.get(cmd.company_id, template_id)
                if current is None:
                    raise _not_found(template_id)
                if cmd.etag and cmd.etag != template_etag(current):
                    raise ConcurrencyConflictError(
                        "The template was changed by someone else since you opened it; "
                        "reload it and save again.",
                        metadata={
                            MetadataKey.COMPANY: cmd.company_id,
                            MetadataKey.CURRENT_ETAG: template_etag(current),
                        },
                    )
                version = current.version
            else:
                template_id = self.new_id()
            template = build_template(cmd.company_id, template_id, cmd.template, version=version)
            template = dataclasses.replace(template, updated_at=self.clock.now())
            saved = await _save_among_others(uow, template)
            await uow.commit()
        return saved


@dataclass(frozen=True, slots=True)
class DeleteInvoiceTemplate:
    uow_factory: UnitOfWorkFactory

    async def execute(self, cmd: TemplateRefCommand) -> None:
        cmd.principal.ensure_admin(cmd.company_id)
        async with self.uow_factory() as uow:
            if not await uow.templates.delete(cmd.company_id, cmd.template_id):
                raise _not_found(cmd.template_id)
            await uow.commit()
