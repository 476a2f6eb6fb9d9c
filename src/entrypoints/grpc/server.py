"""build_server(): a grpc.aio server with interceptors, health checking and reflection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dealbooks.v1 import (
    batch_pb2,
    batch_pb2_grpc,
    connection_service_pb2,
    connection_service_pb2_grpc,
    customer_service_pb2,
    customer_service_pb2_grpc,
    installment_pb2,
    installment_pb2_grpc,
    invoice_service_pb2,
    invoice_service_pb2_grpc,
    settings_service_pb2,
    settings_service_pb2_grpc,
)
from entrypoints.grpc.auth import TokenAuthenticator
from entrypoints.grpc.bulk_servicer import BulkInvoiceServicer
from entrypoints.grpc.connection_servicer import ConnectionServicer
from entrypoints.grpc.customer_servicer import CustomerServicer
from entrypoints.grpc.installment_servicer import InstallmentServicer
from entrypoints.grpc.interceptors import RequestContextInterceptor
from entrypoints.grpc.invoice_servicer import InvoiceServicer
from entrypoints.grpc.settings_servicer import SettingsServicer
from entrypoints.metrics import Metrics

SETTINGS_SERVICE = settings_service_pb2.DESCRIPTOR.services_by_name["SettingsService"]
INVOICE_SERVICE = invoice_service_pb2.DESCRIPTOR.services_by_name["InvoiceService"]
CUSTOMER_SERVICE = customer_service_pb2.DESCRIPTOR.services_by_name["CustomerService"]
CONNECTION_SERVICE = connection_service_pb2.DESCRIPTOR.services_by_name["ConnectionService"]
INSTALLMENT_SERVICE = installment_pb2.DESCRIPTOR.services_by_name["InstallmentService"]
BULK_INVOICE_SERVICE = batch_pb2.DESCRIPTOR.services_by_name["BulkInvoiceService"]
SERVICE_NAMES = tuple(
    s.full_name
    for s in (
        BULK_INVOICE_SERVICE,
        SETTINGS_SERVICE,
        INVOICE_SERVICE,
        CUSTOMER_SERVICE,
        CONNECTION_SERVICE,
        INSTALLMENT_SERVICE,
    )
)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: At the end of a shutdown's grace, how long the calls still running get to unwind.
UNWIND_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Servicers:
    """One servicer per service, shared by the gRPC server and the UI's JSON API."""

    settings: SettingsServicer
    invoice: InvoiceServicer
    customer: CustomerServicer
    connection: ConnectionServicer
    installment: InstallmentServicer
    # gRPC only: a server stream, which the UI's JSON API (unary calls) does not serve.
    bulk: BulkInvoiceServicer

    def by_service(self) -> dict[ServiceDescriptor, object]:
        return {
            INVOICE_SERVICE: self.invoice,
            CUSTOMER_SERVICE: self.customer,
            SETTINGS_SERVICE: self.settings,
            CONNECTION_SERVICE: self.connection,
            INSTALLMENT_SERVICE: self.installment,
            BULK_INVOICE_SERVICE: self.bulk,
        }


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int
    interceptor: RequestContextInterceptor

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        """Refuse new calls; give those in flight the grace to finish, less a moment in which
        the ones still running are answered UNAVAILABLE and unwind (while the database and the
        job queue they may need are still open)."""
        await self.health.enter_graceful_shutdown()
        stopped = asyncio.ensure_future(self.server.stop(grace))
        await self.interceptor.drain(max(0.0, grace - UNWIND_SECONDS))
        await self.interceptor.shed(UNWIND_SECONDS)
        await stopped


async def build_server(
    servicers: Servicers, *, authenticator: TokenAuthenticator, metrics: Metrics, address: str
) -> GrpcServer:
    interceptor = RequestContextInterceptor(authenticator, metrics)
    server = grpc.aio.server(
        interceptors=[interceptor],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", 32 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(servicers.settings, server)
    invoice_service_pb2_grpc.add_InvoiceServiceServicer_to_server(servicers.invoice, server)
    customer_service_pb2_grpc.add_CustomerServiceServicer_to_server(servicers.customer, server)
    connection_service_pb2_grpc.add_ConnectionServiceServicer_to_server(
        servicers.connection, server
    )
    installment_pb2_grpc.add_InstallmentServiceServicer_to_server(servicers.installment, server)
    batch_pb2_grpc.add_BulkInvoiceServiceServicer_to_server(servicers.bulk, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind the gRPC server to {address}")
    await server.start()
    grpc_server = GrpcServer(
        server=server, health=health_servicer, port=port, interceptor=interceptor
    )
    await grpc_server.set_serving(True)
    return grpc_server
