"""Invoicing rules (issue 17): list them and the pipelines they name (anyone invoicing),
create, replace and delete them (admins). A rule names a template the company has, and no two
rules wait for the same event (they would invoice a deal twice)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from application.auth import Principal
from application.commands import InvoiceRuleRefCommand, SaveInvoiceRuleCommand
from application.errors import NotFoundError
from application.ports.clock import Clock
from application.ports.crm import CrmGateway, CrmPipeline
from application.ports.persistence import UnitOfWorkFactory
from application.reasons import ResourceType
from domain.errors import InvalidValueError
from domain.invoice_rule import InvoiceRule, check_rules
from domain.messages import MessageCode


def _not_found(rule_id: str) -> NotFoundError:
    return NotFoundError(ResourceType.INVOICE_RULE, rule_id)


@dataclass(frozen=True, slots=True)
class ListInvoiceRules:
    uow_factory: UnitOfWorkFactory

    async def execute(self, principal: Principal, company_id: str) -> list[InvoiceRule]:
        principal.ensure_can_access(company_id)
        async with self.uow_factory() as uow:
            return await uow.invoice_rules.list(company_id)


@dataclass(frozen=True, slots=True)
class ListPipelines:
    """The company's Pipedrive pipelines and their stages, which a rule is chosen from and
    described by (two Pipedrive reads, 10 tokens, each time the settings page opens)."""

    crm: CrmGateway

    async def execute(self, principal: Principal, company_id: str) -> list[CrmPipeline]:
        principal.ensure_can_access(company_id)
        return await self.crm.list_pipelines(company_id)


@dataclass(frozen=True, slots=True)
class SaveInvoiceRule:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    new_id: Callable[[], str] = lambda: str(uuid.uuid4())

    async def execute(self, cmd: SaveInvoiceRuleCommand) -> InvoiceRule:
        cmd.principal.ensure_admin(cmd.company_id)
        data = cmd.rule
        async with self.uow_factory() as uow:
            version = 0
            placed_at = self.clock.now()  # a replaced rule keeps its place in the list
            rule_id = cmd.rule_id
            if rule_id:
                current = await uow.invoice_rules.get(cmd.company_id, rule_id)
                if current is None:
                    raise _not_found(rule_id)
                version = current.version
                placed_at = current.updated_at or placed_at
            else:
                rule_id = self.new_id()
            rule = InvoiceRule(
                company_id=cmd.company_id,
                id=rule_id,
                trigger=data.trigger,  # type: ignore[arg-type] # checked by the rule itself
                stage_id=data.stage_id or None,
                pipeline_id=data.pipeline_id or None,
                template_id=data.template_id or None,
                enabled=data.enabled,
                version=version,
                updated_at=placed_at,
            )
            template = rule.template_id
            if template is not None and await uow.templates.get(cmd.company_id, template) is None:
                raise InvalidValueError.of(
                    "template_id", MessageCode.UNKNOWN_TEMPLATE, value=template[:80]
                )
            check_rules(await uow.invoice_rules.list(cmd.company_id), rule)
            saved = await uow.invoice_rules.save(rule)
            await uow.commit()
        return saved


@dataclass(frozen=True, slots=True)
class DeleteInvoiceRule:
    uow_factory: UnitOfWorkFactory

    async def execute(self, cmd: InvoiceRuleRefCommand) -> None:
        cmd.principal.ensure_admin(cmd.company_id)
        async with self.uow_factory() as uow:
            if not await uow.invoice_rules.delete(cmd.company_id, cmd.rule_id):
                raise _not_found(cmd.rule_id)
            await uow.commit()
