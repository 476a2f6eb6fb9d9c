"""The deal's contacts a QuickBooks customer is remembered for: organization, else person."""

from __future__ import annotations

from application.ports.crm import Deal, DealParties
from application.ports.persistence import CustomerLink, UnitOfWork
from domain.field_mapping import SourceEntity


def link_targets(deal: Deal | DealParties) -> list[tuple[SourceEntity, str]]:
    targets = []
    if deal.organization_id:
        targets.append((SourceEntity.ORGANIZATION, deal.organization_id))
    if deal.person_id:
        targets.append((SourceEntity.PERSON, deal.person_id))
    return targets


async def find_link(
    uow: UnitOfWork, company_id: str, deal: Deal, currency: str | None = None
) -> CustomerLink | None:
    """The contact's customer in ``currency`` if it has one, else its other link."""
    for entity, entity_id in link_targets(deal):
        link = await uow.customer_links.get(company_id, entity, entity_id, currency)
        if link is not None:
            return link
    return None
