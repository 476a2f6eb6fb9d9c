"""build_server(): a grpc.aio server with interceptors, health checking and reflection."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dealbooks.v1 import settings_service_pb2, settings_service_pb2_grpc
from entrypoints.grpc.auth import TokenAuthenticator
from entrypoints.grpc.interceptors import RequestContextInterceptor
from entrypoints.grpc.settings_servicer import SettingsServicer
from entrypoints.metrics import Metrics

SERVICE_NAMES = (settings_service_pb2.DESCRIPTOR.services_by_name["SettingsService"].full_name,)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def build_server(
    *,
    settings_servicer: SettingsServicer,
    authenticator: TokenAuthenticator,
    metrics: Metrics,
    address: str,
) -> GrpcServer:
    server = grpc.aio.server(
        interceptors=[RequestContextInterceptor(authenticator, metrics)],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", 32 * 1024 * 1024),
            ("grpc.so_reuseport", 0),
        ],
    )
    settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(settings_servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind the gRPC server to {address}")
    await server.start()
    grpc_server = GrpcServer(server=server, health=health_servicer, port=port)
    await grpc_server.set_serving(True)
    return grpc_server
