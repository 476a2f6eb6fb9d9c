"""What to do when something changes in Pipedrive (its webhooks)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from application.ports.persistence import UnitOfWorkFactory
from domain.field_mapping import SourceEntity

log = structlog.get_logger("dealbooks.crm_events")


@dataclass(frozen=True, slots=True)
class CrmChange:
    company_id: str
    entity: str  # "deal", "organization", "person", ...
    action: str  # "create", "change", "delete"
    entity_id: str


class HandleCrmChange:
    """A deleted deal keeps its invoices (they stay readable by their names and in QuickBooks);
    a deleted organization or person loses its link to a QuickBooks customer, so a new record
    reusing nothing of it cannot inherit it."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, change: CrmChange) -> str:
        if change.action != "delete":
            return "ignored"
        if change.entity in (SourceEntity.ORGANIZATION.value, SourceEntity.PERSON.value):
            async with self._uow_factory() as uow:
                removed = await uow.customer_links.delete(
                    change.company_id, SourceEntity(change.entity), change.entity_id
                )
                await uow.commit()
            log.info(
                "crm.contact_deleted",
                company_id=change.company_id,
                entity=change.entity,
                entity_id=change.entity_id,
                link_removed=removed,
            )
            return "unlinked" if removed else "nothing linked"
        if change.entity == "deal":
            log.info("crm.deal_deleted", company_id=change.company_id, deal_id=change.entity_id)
            return "invoices kept"
        return "ignored"
