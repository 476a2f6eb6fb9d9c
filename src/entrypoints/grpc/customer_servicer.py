"""CustomerService: proto -> use case -> proto."""

from __future__ import annotations

from dataclasses import dataclass

from application.customers import (
    CustomerLinkRef,
    GetCustomerLink,
    LinkCustomer,
    SearchCustomers,
    UnlinkCustomer,
)
from dealbooks.v1 import customer_service_pb2 as pb
from dealbooks.v1 import customer_service_pb2_grpc
from domain.field_mapping import SourceEntity
from entrypoints.grpc import Context
from entrypoints.grpc.invoice_mappers import accounting_customer_to_proto, link_to_proto
from entrypoints.grpc.names import parse_company_name, parse_link_name
from entrypoints.principal import current_principal


def _link_ref(name: str, field: str = "name") -> CustomerLinkRef:
    company, entity, entity_id = parse_link_name(name, field)
    return CustomerLinkRef(current_principal(), company, SourceEntity(entity), entity_id)


@dataclass(frozen=True, kw_only=True)
class CustomerServicer(customer_service_pb2_grpc.CustomerServiceServicer):
    search: SearchCustomers
    link: LinkCustomer
    unlink: UnlinkCustomer
    get_link: GetCustomerLink

    async def SearchCustomers(
        self, request: pb.SearchCustomersRequest, context: Context
    ) -> pb.SearchCustomersResponse:
        company = parse_company_name(request.parent)
        found = await self.search.execute(
            current_principal(), company, request.query, request.page_size
        )
        return pb.SearchCustomersResponse(
            customers=[accounting_customer_to_proto(c) for c in found]
        )

    async def LinkCustomer(
        self, request: pb.LinkCustomerRequest, context: Context
    ) -> pb.LinkCustomerResponse:
        ref = _link_ref(request.link.name, "link.name")
        link = await self.link.execute(ref, request.link.quickbooks_customer_id)
        return pb.LinkCustomerResponse(link=link_to_proto(link, ref.name()))

    async def UnlinkCustomer(
        self, request: pb.UnlinkCustomerRequest, context: Context
    ) -> pb.UnlinkCustomerResponse:
        removed = await self.unlink.execute(_link_ref(request.name))
        return pb.UnlinkCustomerResponse(removed=removed)

    async def GetCustomerLink(
        self, request: pb.GetCustomerLinkRequest, context: Context
    ) -> pb.GetCustomerLinkResponse:
        ref = _link_ref(request.name)
        link = await self.get_link.execute(ref)
        return pb.GetCustomerLinkResponse(link=link_to_proto(link, ref.name()))
