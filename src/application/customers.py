"""QuickBooks customers: search them, and link Pipedrive organizations/persons to them."""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import Principal
from application.errors import NotFoundError
from application.ports.accounting import AccountingCustomer, AccountingGateway
from application.ports.clock import Clock
from application.ports.persistence import CustomerLink, UnitOfWorkFactory
from domain.errors import InvalidValueError
from domain.field_mapping import SourceEntity

MAX_QUERY = 100


@dataclass(frozen=True, slots=True)
class CustomerLinkRef:
    principal: Principal
    company_id: str
    entity: SourceEntity
    entity_id: str

    def name(self) -> str:
        plural = "organizations" if self.entity is SourceEntity.ORGANIZATION else "persons"
        return f"companies/{self.company_id}/{plural}/{self.entity_id}/customerLink"


class SearchCustomers:
    def __init__(self, accounting: AccountingGateway) -> None:
        self._accounting = accounting

    async def execute(
        self, principal: Principal, company_id: str, query: str, limit: int
    ) -> list[AccountingCustomer]:
        principal.ensure_can_access(company_id)
        text = query.strip()
        if not text:
            raise InvalidValueError("query", "Type at least one character to search for.")
        if len(text) > MAX_QUERY:
            raise InvalidValueError("query", f"At most {MAX_QUERY} characters.")
        if limit < 0 or limit > 50:
            raise InvalidValueError("page_size", "Must be between 0 (the default, 20) and 50.")
        return await self._accounting.search_customers(company_id, text, limit=limit or 20)


class LinkCustomer:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, accounting: AccountingGateway, clock: Clock
    ) -> None:
        self._uow_factory = uow_factory
        self._accounting = accounting
        self._clock = clock

    async def execute(self, ref: CustomerLinkRef, quickbooks_customer_id: str) -> CustomerLink:
        ref.principal.ensure_can_access(ref.company_id)
        if not quickbooks_customer_id.strip():
            raise InvalidValueError(
                "link.quickbooks_customer_id", "Choose the QuickBooks customer to link."
            )
        customer = await self._accounting.get_customer(ref.company_id, quickbooks_customer_id)
        link = CustomerLink(
            company_id=ref.company_id,
            entity=ref.entity,
            entity_id=ref.entity_id,
            quickbooks_customer_id=customer.id,
            display_name=customer.customer.display_name,
            linked_at=self._clock.now(),
            linked_by=ref.principal.subject,
        )
        async with self._uow_factory() as uow:
            await uow.customer_links.put(link)
            await uow.commit()
        return link


class UnlinkCustomer:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, ref: CustomerLinkRef) -> bool:
        ref.principal.ensure_can_access(ref.company_id)
        async with self._uow_factory() as uow:
            removed = await uow.customer_links.delete(ref.company_id, ref.entity, ref.entity_id)
            await uow.commit()
        return removed


class GetCustomerLink:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def execute(self, ref: CustomerLinkRef) -> CustomerLink:
        ref.principal.ensure_can_access(ref.company_id)
        async with self._uow_factory() as uow:
            link = await uow.customer_links.get(ref.company_id, ref.entity, ref.entity_id)
        if link is None:
            raise NotFoundError("customer_link", ref.name())
        return link
