"""ConnectionService: proto -> use case -> proto."""

from __future__ import annotations

from dataclasses import dataclass

from application.connections import (
    ConnectionStateView,
    ConnectionsView,
    DisconnectQuickBooks,
    GetConnections,
)
from dealbooks.v1 import connection_service_pb2 as pb
from dealbooks.v1 import connection_service_pb2_grpc
from entrypoints.grpc import Context
from entrypoints.grpc.mappers import timestamp
from entrypoints.grpc.names import parse_connection_name
from entrypoints.principal import current_principal

_STATE = {
    "connected": pb.CONNECTION_STATE_CONNECTED,
    "needs_reconnect": pb.CONNECTION_STATE_NEEDS_RECONNECT,
    "not_connected": pb.CONNECTION_STATE_NOT_CONNECTED,
}


def vendor_to_proto(view: ConnectionStateView) -> pb.VendorConnection:
    return pb.VendorConnection(
        state=_STATE.get(view.state, pb.CONNECTION_STATE_UNSPECIFIED),
        company_name=view.company_name,
        external_id=view.external_id,
        environment=view.environment,
        access_token_expire_time=timestamp(view.access_expires_at),
        refresh_token_expire_time=timestamp(view.refresh_expires_at),
        failure_reason=view.failure_reason,
        connect_time=timestamp(view.connected_at),
        last_sync_time=timestamp(view.last_synced_at),
        reads_rationed=view.reads_rationed,
        warnings=[
            pb.ConnectionWarning(code=w.code.value, message=w.message, params=dict(w.params))
            for w in view.warnings
        ],
    )


def connection_to_proto(view: ConnectionsView) -> pb.Connection:
    return pb.Connection(
        name=f"companies/{view.company_id}/connection",
        quickbooks=vendor_to_proto(view.quickbooks),
        pipedrive=vendor_to_proto(view.pipedrive),
    )


@dataclass(frozen=True, kw_only=True)
class ConnectionServicer(connection_service_pb2_grpc.ConnectionServiceServicer):
    get: GetConnections
    disconnect: DisconnectQuickBooks

    async def GetConnection(
        self, request: pb.GetConnectionRequest, context: Context
    ) -> pb.GetConnectionResponse:
        company = parse_connection_name(request.name)
        view = await self.get.execute(current_principal(), company)
        return pb.GetConnectionResponse(connection=connection_to_proto(view))

    async def DisconnectQuickBooks(
        self, request: pb.DisconnectQuickBooksRequest, context: Context
    ) -> pb.DisconnectQuickBooksResponse:
        company = parse_connection_name(request.name)
        principal = current_principal()
        await self.disconnect.execute(principal, company)
        view = await self.get.execute(principal, company)
        return pb.DisconnectQuickBooksResponse(connection=connection_to_proto(view))
