"""QuickBooks customers: search them, and link Pipedrive organizations/persons to them."""

from __future__ import annotations

from dataclasses import dataclass

from application.auth import Principal
from application.errors import NotFoundError
from application.ports.accounting import AccountingCustomer, AccountingGateway
from application.ports.clock import Clock
from application.ports.persistence import CustomerLink, UnitOfWorkFactory
from application.reasons import ResourceType
from domain.errors import InvalidValueError
from domain.field_mapping import SourceEntity
from domain.messages import MessageCode

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


@dataclass(frozen=True, slots=True)
class SearchCustomers:
    accounting: AccountingGateway

    async def execute(
        self, principal: Principal, company_id: str, query: str, limit: int
    ) -> list[AccountingCustomer]:
        principal.ensure_can_access(company_id)
        text = query.strip()
        if not text:
            raise InvalidValueError.of("query", MessageCode.QUERY_REQUIRED)
        if len(text) > MAX_QUERY:
            raise InvalidValueError.of("query", MessageCode.TOO_LONG, max=MAX_QUERY)
        if limit < 0 or limit > 50:
            raise InvalidValueError.of("page_size", MessageCode.PAGE_SIZE_OUT_OF_RANGE, max=50)
        return await self.accounting.search_customers(company_id, text, limit=limit or 20)


@dataclass(frozen=True, slots=True)
class LinkCustomer:
    uow_factory: UnitOfWorkFactory
    accounting: AccountingGateway
    clock: Clock

    async def execute(self, ref: CustomerLinkRef, quickbooks_customer_id: str) -> CustomerLink:
        ref.principal.ensure_can_access(ref.company_id)
        if not quickbooks_customer_id.strip():
            raise InvalidValueError.of(
                "link.quickbooks_customer_id", MessageCode.CHOOSE_QUICKBOOKS_CUSTOMER
            )
        customer = await self.accounting.get_customer(ref.company_id, quickbooks_customer_id)
        link = CustomerLink(
            company_id=ref.company_id,
            entity=ref.entity,
            entity_id=ref.entity_id,
            quickbooks_customer_id=customer.id,
            display_name=customer.customer.display_name,
            linked_at=self.clock.now(),
            linked_by=ref.principal.subject,
            currency=customer.currency or "",
        )
        async with self.uow_factory() as uow:
            await uow.customer_links.put(link)
            await uow.commit()
        return link


@dataclass(frozen=True, slots=True)
class UnlinkCustomer:
    uow_factory: UnitOfWorkFactory

    async def execute(self, ref: CustomerLinkRef) -> bool:
        ref.principal.ensure_can_access(ref.company_id)
        async with self.uow_factory() as uow:
            removed = await uow.customer_links.delete(ref.company_id, ref.entity, ref.entity_id)
            await uow.commit()
        return removed


@dataclass(frozen=True, slots=True)
class GetCustomerLink:
    uow_factory: UnitOfWorkFactory

    async def execute(self, ref: CustomerLinkRef) -> CustomerLink:
        ref.principal.ensure_can_access(ref.company_id)
        async with self.uow_factory() as uow:
            link = await uow.customer_links.get(ref.company_id, ref.entity, ref.entity_id)
        if link is None:
            raise NotFoundError(ResourceType.CUSTOMER_LINK, ref.name())
        return link
