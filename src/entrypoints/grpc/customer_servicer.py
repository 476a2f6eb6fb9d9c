"""CustomerService: proto -> use case -> proto."""

from __future__ import annotations

import grpc

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
from entrypoints.grpc.auth import current_principal
from entrypoints.grpc.invoice_mappers import accounting_customer_to_proto, link_to_proto
from entrypoints.grpc.names import parse_company_name, parse_link_name

Context = grpc.aio.ServicerContext


def _link_ref(name: str, field: str = "name") -> CustomerLinkRef:
    company, entity, entity_id = parse_link_name(name, field)
    return CustomerLinkRef(current_principal(), company, SourceEntity(entity), entity_id)


class CustomerServicer(customer_service_pb2_grpc.CustomerServiceServicer):
    def __init__(
        self,
        *,
        search: SearchCustomers,
        link: LinkCustomer,
        unlink: UnlinkCustomer,
        get_link: GetCustomerLink,
    ) -> None:
        self._search = search
        self._link = link
        self._unlink = unlink
        self._get_link = get_link

    async def SearchCustomers(
        self, request: pb.SearchCustomersRequest, context: Context
    ) -> pb.SearchCustomersResponse:
        company = parse_company_name(request.parent)
        found = await self._search.execute(
            current_principal(), company, request.query, request.page_size
        )
        return pb.SearchCustomersResponse(
            customers=[accounting_customer_to_proto(c) for c in found]
        )

    async def LinkCustomer(
        self, request: pb.LinkCustomerRequest, context: Context
    ) -> pb.LinkCustomerResponse:
        ref = _link_ref(request.link.name, "link.name")
        link = await self._link.execute(ref, request.link.quickbooks_customer_id)
        return pb.LinkCustomerResponse(link=link_to_proto(link, ref.name()))

    async def UnlinkCustomer(
        self, request: pb.UnlinkCustomerRequest, context: Context
    ) -> pb.UnlinkCustomerResponse:
        removed = await self._unlink.execute(_link_ref(request.name))
        return pb.UnlinkCustomerResponse(removed=removed)

    async def GetCustomerLink(
        self, request: pb.GetCustomerLinkRequest, context: Context
    ) -> pb.GetCustomerLinkResponse:
        ref = _link_ref(request.name)
        link = await self._get_link.execute(ref)
        return pb.GetCustomerLinkResponse(link=link_to_proto(link, ref.name()))
